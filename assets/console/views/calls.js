// Call history with each call's detail: tags, files, manager notes, the rating, the chat.
import { api } from "/console/lib/api.js";
import { h, section, table, badge, button } from "/console/lib/dom.js";
import { t, when, duration, customerName } from "/console/lib/i18n.js";

export default async function calls(main) {
  const list = await api("GET", "/api/v1/calls?page_size=50");
  const detail = h("div", { "aria-live": "polite" });
  main.replaceChildren(section(t("calls.recent"), table([
    [t("calls.protocol"), (c) => c.protocol],
    [t("calls.patient"), (c) => customerName(c.customer_name)],
    [t("calls.department"), (c) => c.department_name],
    [t("calls.agent"), (c) => c.user_name || "—"],
    [t("calls.provider"), (c) => c.provider_name || "—"],
    [t("common.status"), (c) => badge(t(`call.status_${c.status}`))],
    [t("calls.wait"), (c) => duration(c.wait_time)],
    [t("calls.duration"), (c) => duration(c.duration)],
    [t("calls.rating"), (c) => (c.rating ? h("span", { "aria-label": t("calls.stars", { n: c.rating }) }, "★".repeat(c.rating)) : "—")],
    ["", (c) => button(t("common.details"), () => showCall(detail, c.id))],
  ], list.data, { caption: t("calls.recent") })), detail);
}

async function showCall(holder, id) {
  const [call, messages] = await Promise.all([
    api("GET", `/api/v1/calls/${id}`).then((r) => r.data),
    api("GET", `/api/v1/calls/${id}/messages?page_size=100`).then((r) => r.data).catch(() => []),
  ]);
  // The rating's comment: evaluations are filtered by date, and come after the call ended.
  const since = call.completed_at ? `&date_from=${encodeURIComponent(call.completed_at)}&sort_order=asc` : "";
  const evaluations = call.rating
    ? await api("GET", `/api/v1/evaluations?page_size=100${since}`).then((r) => r.data).catch(() => [])
    : [];
  const evaluation = evaluations.find((e) => e.call_id === id);
  holder.replaceChildren(section(`${t("calls.call")} ${call.protocol}`,
    h("dl", { class: "facts" },
      [[t("calls.patient"), customerName(call.customer_name)], [t("customers.email"), call.customer_email], [t("customers.phone"), call.customer_phone],
        [t("calls.reason"), call.reason], [t("calls.agent"), call.user_name], [t("calls.provider"), call.provider_name],
        [t("calls.joined"), when(call.inserted_at)], [t("calls.started"), when(call.started_at)], [t("calls.ended"), when(call.completed_at)],
        [t("calls.wait"), duration(call.wait_time)], [t("calls.duration"), duration(call.duration)],
        [t("calls.rating"), call.rating ? `${call.rating}/5` : "—"], [t("calls.comment"), evaluation?.comment]]
        .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v || "—")])),
    (call.manager_notes || []).length ? h("div", {}, h("h3", {}, t("calls.notes")), h("ul", {}, call.manager_notes.map((n) => h("li", {}, `${n.author_name}: ${n.note}`)))) : null,
    messages.length ? h("div", {}, h("h3", {}, t("chat.title")), h("ol", { class: "chat-log" }, messages.map((m) => h("li", { class: `msg ${m.sender_role === "customer" ? "theirs" : "ours"}` }, h("span", { class: "who" }, `${m.sender_name || ""} · ${when(m.inserted_at)}`), h("span", {}, m.body))))) : null));
  holder.querySelector("h2").setAttribute("tabindex", "-1");
  holder.querySelector("h2").focus();
}
