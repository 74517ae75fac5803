// The live queue and the call screen: take and start a call, the video with visible and
// announced microphone/camera states, the chat, and what the patient is doing in words.
import { VideoCall } from "/console/rtc.js";
import { api } from "/console/lib/api.js";
import { h, table, button, toast, failure, confirmDialog } from "/console/lib/dom.js";
import { t, when, timeOnly, customerName } from "/console/lib/i18n.js";
import { state } from "/console/lib/state.js";

let current = null; // {call, video, panel}

export default async function queue(main, { onQueueChange, onLeave }) {
  const draw = async () => {
    const [queued, mine] = await Promise.all([
      api("GET", "/api/v1/calls?status=queued&sort_by=inserted_at&sort_order=asc&page_size=100"),
      api("GET", `/api/v1/calls?status=active&user_id=${state.me.id}`),
    ]);
    const rows = table([
      [t("calls.protocol"), (c) => c.protocol],
      [t("calls.patient"), (c) => [h("b", {}, customerName(c.customer_name)),
        c.customer_verified === false ? h("span", { class: "muted", title: t("queue.unverified_hint") }, ` (${t("queue.unverified")})`) : null,
        c.reason ? h("div", { class: "muted" }, c.reason) : null]],
      [t("calls.department"), (c) => c.department_name],
      [t("queue.since"), (c) => when(c.inserted_at)],
      [t("calls.agent"), (c) => c.user_name || "—"],
      ["", (c) => (c.user_id === state.me.id
        ? button(t("queue.start"), async () => { await api("POST", `/api/v1/calls/${c.id}/start`); await openCall(c.id, main, redraw); redraw(); }, { kind: "" })
        : c.user_id ? null : button(t("queue.take"), async () => { await api("POST", `/api/v1/calls/${c.id}/assign`, {}); redraw(); }))],
      ["", (c) => button(t("queue.cancel"), async () => {
        if (!(await confirmDialog(t("queue.cancel_confirm", { name: customerName(c.customer_name) }), { confirmLabel: t("queue.cancel") }))) return;
        await api("POST", `/api/v1/calls/${c.id}/cancel`, {});
        redraw();
      }, { kind: "danger" })],
    ], queued.data, { caption: t("queue.waiting", { n: queued.meta.total_count }), emptyText: t("queue.empty") });
    const active = mine.data.map((c) => h("div", { class: "card active-call" },
      h("b", {}, t("queue.in_call", { name: customerName(c.customer_name), protocol: c.protocol })),
      c.provider_name ? h("span", { class: "muted" }, ` · ${t("calls.provider")}: ${c.provider_name}`) : null, " ",
      current?.call.id === c.id ? null : button(t("queue.open"), () => openCall(c.id, main, redraw), { kind: "" })));
    const list = h("section", { "aria-labelledby": "queue-title" }, h("h2", { id: "queue-title" }, t("queue.waiting", { n: queued.meta.total_count })), rows);
    main.replaceChildren(...active, current ? current.panel : h("span"), list);
  };
  const redraw = () => draw().catch(failure);
  await draw();
  // The queue topics say when something changed; a slow poll covers what they do not
  // (departments this user is not a member of, for supervisors).
  onQueueChange(redraw);
  const timer = setInterval(redraw, 15000);
  onLeave(() => clearInterval(timer));
}

async function openCall(callId, main, redraw) {
  if (current?.call.id === callId) return;
  closeCall();
  const call = (await api("GET", `/api/v1/calls/${callId}`)).data;
  const stateLine = h("p", { class: "call-state", role: "status", "aria-live": "polite" }, t("call.connecting"));
  const remoteState = h("p", { class: "muted remote-state", "aria-live": "polite" });
  const log = h("ol", { class: "chat-log", role: "log", "aria-label": t("chat.title") });
  const input = h("input", { name: "body", id: "chat-input", maxlength: 2000, autocomplete: "off" });
  const chat = h("form", { class: "chat-form" }, h("label", { for: "chat-input", class: "sr-only" }, t("chat.message")), input, h("button", { type: "submit" }, t("chat.send")));
  const remote = h("video", { class: "remote", autoplay: true, playsinline: true, "aria-label": t("call.remote_video") });
  const local = h("video", { class: "local", autoplay: true, playsinline: true, muted: true, "aria-label": t("call.local_video") });
  const muted = { audio: false, video: false };
  const toggle = (kind) => button(t(kind === "audio" ? "call.mic" : "call.camera"), (el) => {
    muted[kind] = !muted[kind];
    current?.video.mute(kind, muted[kind]);
    el.setAttribute("aria-pressed", String(muted[kind]));
    el.textContent = t(kind === "audio" ? (muted[kind] ? "call.mic_off" : "call.mic") : (muted[kind] ? "call.camera_off" : "call.camera"));
    toast(t(kind === "audio" ? (muted[kind] ? "call.you_muted" : "call.you_unmuted") : (muted[kind] ? "call.you_camera_off" : "call.you_camera_on")));
  }, { pressed: false });
  const panel = h("section", { class: "call", "aria-labelledby": "call-title" },
    h("h2", { id: "call-title" }, t("call.title", { name: customerName(call.customer_name), protocol: call.protocol })),
    h("p", { class: "muted" }, [call.department_name, call.provider_name ? `${t("calls.provider")}: ${call.provider_name}` : null].filter(Boolean).join(" · ")),
    h("div", { class: "call-grid" },
      h("div", {}, h("div", { class: "videos" }, remote, local), stateLine, remoteState,
        h("div", { class: "buttons" }, toggle("audio"), toggle("video"),
          button(t("queue.complete"), async () => {
            await api("POST", `/api/v1/calls/${call.id}/complete`);
            closeCall();
            toast(t("call.completed"));
            redraw();
          }, { kind: "danger" }))),
      h("div", { class: "chat" }, h("h3", {}, t("chat.title")), log, chat)));
  const addMessage = (m) => {
    if (log.querySelector(`[data-id="${m.id}"]`)) return;
    log.append(h("li", { class: `msg ${m.sender_role === "customer" ? "theirs" : "ours"}`, "data-id": m.id },
      h("span", { class: "who" }, `${m.sender_name || t(`chat.role_${m.sender_role}`)} · ${timeOnly(m.inserted_at)}`), h("span", {}, m.body)));
    log.scrollTop = log.scrollHeight;
  };
  chat.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = input.value.trim();
    if (!body) return;
    try {
      const sent = await state.socket.push(`call:${call.id}`, "chat_message", { body });
      if (sent?.message) addMessage(sent.message);
      input.value = "";
    } catch (error) {
      failure(error?.reason ? new Error(error.reason) : error);
    }
  });
  const video = new VideoCall({
    socket: state.socket, callId: call.id, role: "agent", localVideo: local, remoteVideo: remote,
    onState: (what, detail) => {
      if (what === "remote-mute") {
        remoteState.textContent = t(detail.type === "audio" ? (detail.muted ? "call.patient_muted" : "call.patient_unmuted") : (detail.muted ? "call.patient_camera_off" : "call.patient_camera_on"));
      } else {
        stateLine.textContent = t(`call.state_${what}`, { seconds: 60 });
      }
    },
  });
  state.socket.on(`call:${call.id}`, "chat_message", addMessage);
  current = { call, video, panel };
  main.querySelector(".active-call")?.after(panel);
  if (!panel.isConnected) main.prepend(panel);
  const joined = await video.start().catch((error) => { failure(error); return null; });
  for (const m of joined?.messages || []) addMessage(m);
  if (!joined?.participants?.some((p) => p.role === "customer")) stateLine.textContent = t("call.state_waiting_patient");
}

function closeCall() {
  current?.video.stop();
  current = null;
}
