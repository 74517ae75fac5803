// The staff console: login, the live queue with the video call, appointments, access
// links, call history and reports. Plain modules, no build step; every action is a call
// to the same REST API integrators use.
import { Socket } from "/console/socket.js";
import { VideoCall } from "/console/rtc.js";

const ROLES = ["attendant", "supervisor", "manager", "owner"];
const $ = (selector, root = document) => root.querySelector(selector);
let session = JSON.parse(sessionStorage.getItem("voki.session") || "null");
let me = null;
let socket = null;
let current = null; // the running VideoCall
let timer = null;

// ---- API ---------------------------------------------------------------------------

async function api(method, path, body, retry = true) {
  const headers = { Authorization: `Bearer ${session.access_token}`, "X-Tenant": session.tenant };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const reply = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (reply.status === 401 && retry && (await refresh())) return api(method, path, body, false);
  if (reply.status === 401) return logout();
  if (reply.status === 204) return null;
  const json = await reply.json().catch(() => ({}));
  if (!reply.ok) {
    const errors = json.errors || {};
    const message = errors.detail || Object.entries(errors).map(([f, m]) => `${f}: ${[].concat(m).join(", ")}`).join("; ");
    throw new Error(message || reply.statusText);
  }
  return json;
}

async function refresh() {
  const reply = await fetch("/api/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: session.refresh_token }),
  });
  if (!reply.ok) return false;
  const { data } = await reply.json();
  saveSession({ ...session, access_token: data.access_token, refresh_token: data.refresh_token });
  return true;
}

function saveSession(value) {
  session = value;
  sessionStorage.setItem("voki.session", JSON.stringify(value));
}

function atLeast(role) {
  return ROLES.indexOf(me?.role) >= ROLES.indexOf(role);
}

// ---- small DOM helpers ---------------------------------------------------------------

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (value === true) element.setAttribute(key, "");
    else if (value !== false && value != null) element.setAttribute(key, value);
  }
  element.append(...children.flat().filter((c) => c != null).map((c) => (c instanceof Node ? c : String(c))));
  return element;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
const seconds = (s) => (s == null ? "—" : s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`);

function table(columns, rows) {
  return h("table", {}, h("tr", {}, columns.map(([title]) => h("th", {}, title))),
    rows.length ? rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row)))))
      : h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, "Nothing here.")));
}

function failure(error) {
  alert(error.message || String(error));
}

function action(label, run, css = "secondary") {
  return h("button", { class: css, onclick: async (event) => {
    event.target.disabled = true;
    try { await run(); } catch (error) { failure(error); }
    event.target.disabled = false;
  } }, label);
}

// ---- login -----------------------------------------------------------------------------

let mfaToken = null;
$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  $("#login-error").hidden = true;
  const request = mfaToken
    ? ["/api/auth/mfa/verify", { mfa_token: mfaToken, code: form.code.value.trim() }]
    : ["/api/auth/login", { tenant: form.tenant.value.trim(), email: form.email.value.trim(), password: form.password.value }];
  const reply = await fetch(request[0], { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request[1]) });
  const json = await reply.json().catch(() => ({}));
  if (!reply.ok) {
    $("#login-error").textContent = json.errors?.detail || "Login failed";
    $("#login-error").hidden = false;
    return;
  }
  if (json.data.mfa_required) {
    mfaToken = json.data.mfa_token;
    $("#mfa-field").hidden = false;
    return;
  }
  saveSession({ tenant: form.tenant.value.trim(), access_token: json.data.access_token, refresh_token: json.data.refresh_token });
  boot();
});

async function logout() {
  if (session) {
    await fetch("/api/auth/logout", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: session.refresh_token }) }).catch(() => {});
  }
  sessionStorage.removeItem("voki.session");
  session = null;
  socket?.close();
  location.hash = "";
  location.reload();
}
$("#logout").addEventListener("click", logout);

// ---- views -------------------------------------------------------------------------------

const views = { queue, appointments, links, calls, reports };

async function render() {
  clearInterval(timer);
  queueListeners.clear();
  const name = (location.hash || "#queue").slice(1);
  const view = views[name] ? name : "queue";
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.getAttribute("href") === `#${view}`);
    link.hidden = link.dataset.min ? !atLeast(link.dataset.min) : false;
  }
  const main = $("#view");
  main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try {
    await views[view](main);
  } catch (error) {
    main.replaceChildren(h("p", { class: "error" }, error.message));
  }
}
window.addEventListener("hashchange", render);

async function departments() {
  if (atLeast("supervisor")) {
    const { data } = await api("GET", "/api/v1/departments?page_size=100&active=true");
    return data.map((d) => [d.id, d.name]);
  }
  return me.department_ids.map((id) => [id, `Department ${id.slice(0, 8)}`]);
}

async function queue(main) {
  const draw = async () => {
    const [queued, mine] = await Promise.all([
      api("GET", "/api/v1/calls?status=queued&sort_by=inserted_at&sort_order=asc&page_size=100"),
      api("GET", `/api/v1/calls?status=active&user_id=${me.id}`),
    ]);
    const rows = table([
      ["Protocol", (c) => c.protocol],
      ["Patient", (c) => [h("b", {}, c.customer_name), c.customer_verified === false ? h("span", { class: "muted", title: "Matched by the e-mail or phone typed; not verified" }, " (unverified)") : "", h("div", { class: "muted" }, c.reason || "")]],
      ["Department", (c) => c.department_name],
      ["Waiting since", (c) => when(c.inserted_at)],
      ["Agent", (c) => c.user_name || "—"],
      ["", (c) => c.user_id === me.id
        ? action("Start", async () => { await api("POST", `/api/v1/calls/${c.id}/start`); openCall(c.id); }, "")
        : c.user_id ? null : action("Take", async () => { await api("POST", `/api/v1/calls/${c.id}/assign`, {}); redraw(); })],
      ["", (c) => action("Cancel", async () => { await api("POST", `/api/v1/calls/${c.id}/cancel`, {}); redraw(); }, "danger")],
    ], queued.data);
    const active = mine.data.map((c) => h("div", { class: "card" },
      h("b", {}, `In call with ${c.customer_name} (${c.protocol})`), " ",
      action("Open video", () => openCall(c.id), ""), " ",
      action("Complete", async () => { await api("POST", `/api/v1/calls/${c.id}/complete`); closeCall(); redraw(); }, "danger")));
    main.replaceChildren(...active, h("section", {}, h("h2", {}, `Waiting (${queued.meta.total_count})`), rows), callPanel);
  };
  const redraw = () => draw().catch(failure);
  await draw();
  // The queue topics say when something changed; a slow poll covers what they do not
  // (departments this user is not a member of, for supervisors).
  queueListeners.clear();
  queueListeners.add(redraw);
  timer = setInterval(redraw, 15000);
}

const callPanel = h("section", { hidden: true },
  h("h2", {}, "Video call"),
  h("div", { class: "videos" }, h("video", { class: "remote", autoplay: true, playsinline: true }), h("video", { class: "local", autoplay: true, playsinline: true, muted: true })),
  h("p", { class: "muted state" }));

function openCall(callId) {
  if (current?.callId === callId) return;
  closeCall();
  socket ||= new Socket(() => session.access_token);
  callPanel.hidden = false;
  current = new VideoCall({
    socket, callId, role: "agent",
    localVideo: $(".local", callPanel), remoteVideo: $(".remote", callPanel),
    onState: (state) => { $(".state", callPanel).textContent = state; },
  });
  current.callId = callId;
  current.start().catch(failure);
}

function closeCall() {
  current?.stop();
  current = null;
  callPanel.hidden = true;
}

async function appointments(main) {
  const today = new Date().toISOString().slice(0, 10);
  const list = await api("GET", `/api/v1/appointments?date_from=${today}&page_size=100`);
  const choices = await departments();
  const form = h("form", { class: "row" },
    h("label", {}, "Title", h("input", { name: "title", required: true })),
    h("label", {}, "When", h("input", { name: "when", type: "datetime-local", required: true })),
    h("label", {}, "Minutes", h("input", { name: "duration", type: "number", min: 1, max: 1440, value: 30 })),
    h("label", {}, "Department", h("select", { name: "department" }, choices.map(([id, name]) => h("option", { value: id }, name)))),
    h("label", {}, "Patient", h("input", { name: "customer_name", required: true })),
    h("label", {}, "E-mail", h("input", { name: "customer_email", type: "email" })),
    h("label", {}, "Phone", h("input", { name: "customer_phone" })),
    h("button", { type: "submit" }, "Book"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = event.target;
    const body = {
      title: f.title.value, scheduled_at: new Date(f.when.value).toISOString(), duration_minutes: Number(f.duration.value),
      department_id: f.department.value, customer_name: f.customer_name.value,
    };
    if (f.customer_email.value) body.customer_email = f.customer_email.value;
    if (f.customer_phone.value) body.customer_phone = f.customer_phone.value;
    try { await api("POST", "/api/v1/appointments", { appointment: body }); render(); } catch (error) { failure(error); }
  });
  const act = (a, verb) => action(verb, async () => { await api("POST", `/api/v1/appointments/${a.id}/${verb}`, {}); render(); });
  main.replaceChildren(
    h("section", {}, h("h2", {}, "Book an appointment"), form),
    h("section", {}, h("h2", {}, "Upcoming"), table([
      ["When", (a) => [when(a.scheduled_at), a.overdue ? h("span", { class: "badge error" }, "overdue") : null]],
      ["Title", (a) => a.title],
      ["Patient", (a) => a.customer_name || "—"],
      ["Agent", (a) => a.user_name],
      ["Status", (a) => h("span", { class: "badge" }, a.status)],
      ["Link", (a) => a.access_link_url ? h("code", { class: "url" }, a.access_link_url)
        : ["scheduled", "confirmed"].includes(a.status) ? action("Send link", async () => { await api("POST", `/api/v1/appointments/${a.id}/access-link`, {}); render(); }) : "—"],
      ["", (a) => ["scheduled", "confirmed"].includes(a.status)
        ? [a.status === "scheduled" ? act(a, "confirm") : null, act(a, "cancel"), act(a, "complete"), act(a, "no-show")] : null],
    ], list.data)));
}

async function links(main) {
  const list = await api("GET", "/api/v1/access-links?page_size=50");
  const choices = await departments();
  const form = h("form", { class: "row" },
    h("label", {}, "Department", h("select", { name: "department" }, choices.map(([id, name]) => h("option", { value: id }, name)))),
    h("label", {}, "Patient", h("input", { name: "customer_name" })),
    h("label", {}, "E-mail", h("input", { name: "customer_email", type: "email" })),
    h("label", {}, h("input", { name: "reusable", type: "checkbox" }), " reusable"),
    h("button", { type: "submit" }, "Create link"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = event.target;
    const link = { department_id: f.department.value, reusable: f.reusable.checked };
    if (f.customer_name.value) link.customer_name = f.customer_name.value;
    if (f.customer_email.value) link.customer_email = f.customer_email.value;
    try { await api("POST", "/api/v1/access-links", { link }); render(); } catch (error) { failure(error); }
  });
  main.replaceChildren(
    h("section", {}, h("h2", {}, "New access link"), form),
    h("section", {}, h("h2", {}, "Links"), table([
      ["URL", (l) => h("code", { class: "url" }, l.url)],
      ["Department", (l) => l.department_name],
      ["Patient", (l) => l.customer_name || "—"],
      ["Status", (l) => h("span", { class: "badge" }, l.status + (l.reusable ? " · reusable" : ""))],
      ["Expires", (l) => when(l.expires_at)],
      ["", (l) => l.status === "active" ? action("Cancel", async () => { await api("POST", `/api/v1/access-links/${l.id}/cancel`, {}); render(); }) : null],
    ], list.data)));
}

async function calls(main) {
  const list = await api("GET", "/api/v1/calls?page_size=50");
  main.replaceChildren(h("section", {}, h("h2", {}, "Recent calls"), table([
    ["Protocol", (c) => c.protocol],
    ["Patient", (c) => c.customer_name],
    ["Department", (c) => c.department_name],
    ["Agent", (c) => c.user_name || "—"],
    ["Provider", (c) => c.provider_name || "—"],
    ["Status", (c) => h("span", { class: "badge" }, c.status)],
    ["Wait", (c) => seconds(c.wait_time)],
    ["Duration", (c) => seconds(c.duration)],
    ["Rating", (c) => (c.rating ? "★".repeat(c.rating) : "—")],
  ], list.data)));
}

/// The last 30 days up to today, as local dates.
function defaultPeriod() {
  const day = (date) => new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  const today = new Date();
  return { from: day(new Date(today.getTime() - 30 * 86400000)), to: day(today), granularity: "day" };
}

async function reports(main, period = defaultPeriod()) {
  const query = `date_from=${period.from}&date_to=${period.to}`;
  let overview;
  try {
    overview = (await api("GET", `/api/v1/analytics/overview?${query}`)).data;
  } catch (error) {
    main.replaceChildren(h("p", { class: "muted" }, `Reports unavailable: ${error.message}`));
    return;
  }
  const none = { data: [] };
  const [providers, agents, trends] = await Promise.all([
    api("GET", `/api/v1/analytics/providers?${query}`).catch(() => none),
    api("GET", `/api/v1/analytics/agents?${query}`).catch(() => none),
    api("GET", `/api/v1/analytics/trends?${query}&granularity=${period.granularity}`).catch(() => none),
  ]);
  const kpis = Object.entries(overview).filter(([, v]) => typeof v === "number");
  const duration = (s) => seconds(Math.round(s));
  const columns = (key) => [
    [key === "provider" ? "Provider" : "Agent", (r) => (key === "provider" ? r.provider_name : [r.user_name, r.provider_name ? h("div", { class: "muted" }, r.provider_name) : null])],
    ["Calls", (r) => r.total_calls], ["Completed", (r) => r.completed_calls], ["Missed", (r) => r.missed_calls],
    ["Avg wait", (r) => duration(r.avg_wait_time)], ["Avg duration", (r) => duration(r.avg_duration)],
    ["Rating", (r) => r.avg_rating], ["Completion", (r) => `${r.completion_rate}%`],
  ];
  const form = h("form", { class: "row" },
    h("label", {}, "From", h("input", { name: "from", type: "date", value: period.from, required: true })),
    h("label", {}, "To", h("input", { name: "to", type: "date", value: period.to, required: true })),
    h("label", {}, "Trend by", h("select", { name: "granularity" },
      ["day", "week", "month"].map((g) => h("option", { value: g, selected: g === period.granularity }, g)))),
    h("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const f = event.target;
    reports(main, { from: f.from.value, to: f.to.value, granularity: f.granularity.value }).catch(failure);
  });
  main.replaceChildren(
    h("section", {}, h("h2", {}, "Period"), form),
    h("section", {}, h("h2", {}, `Overview ${period.from} – ${period.to}`), h("div", { class: "grid" },
      kpis.map(([k, v]) => h("div", { class: "card" }, h("div", { class: "muted" }, k.replaceAll("_", " ")), h("div", { class: "kpi" }, v))))),
    h("section", {}, h("h2", {}, "Per service provider"), table(columns("provider"), providers.data || [])),
    h("section", {}, h("h2", {}, "Per agent"), table(columns("agent"), agents.data || [])),
    h("section", {}, h("h2", {}, `Trend by ${period.granularity}`), table([
      ["From", (t) => t.period_start], ["Calls", (t) => t.total], ["Completed", (t) => t.completed], ["Missed", (t) => t.missed],
      ["Avg wait", (t) => duration(t.avg_wait_time)], ["Avg duration", (t) => duration(t.avg_duration)], ["Rating", (t) => t.avg_rating],
    ], trends.data || [])),
    h("section", {}, h("h2", {}, "Exports"), h("p", {}, "CSV: ",
      action("calls.csv (this period)", () => download("calls", query)),
      ["customers", "links"].map((kind) => action(`${kind}.csv`, () => download(kind))))));
}

async function download(kind, query = "") {
  const path = `/api/v1/export/${kind}.csv${query ? `?${query}` : ""}`;
  const reply = await fetch(path, { headers: { Authorization: `Bearer ${session.access_token}`, "X-Tenant": session.tenant } });
  if (!reply.ok) throw new Error(`Export failed (${reply.status})`);
  const url = URL.createObjectURL(await reply.blob());
  const a = h("a", { href: url, download: `${kind}.csv` });
  document.body.append(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}

// ---- start -------------------------------------------------------------------------------

async function boot() {
  if (!session) {
    $("#login").hidden = false;
    $("#app").hidden = true;
    return;
  }
  try {
    me = (await api("GET", "/api/v1/users/me")).data;
  } catch {
    return;
  }
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#who").textContent = `${me.name} · ${me.role} · ${session.tenant}`;
  goLive();
  render();
}

// ---- live: the socket's presence, queue and notification topics -------------------------

const queueListeners = new Set(); // called on every change of a queue this user sees

function goLive() {
  socket ||= new Socket(() => session.access_token);
  socket.join(`notification:${me.id}`).catch(() => {});
  socket.on(`notification:${me.id}`, "new_notification", (n) => toast(`${n.title} — ${n.body}`));
  for (const department of me.department_ids) {
    // Being on the presence topic is what makes this agent count as online.
    socket.join(`presence:${department}`).catch(() => {});
    const topic = `queue:${department}`;
    socket.join(topic).catch(() => {});
    for (const event of ["customer_joined", "customer_left", "call_assigned"]) {
      socket.on(topic, event, (payload) => {
        if (event === "customer_joined") toast(`${payload.customer_name} joined the queue`);
        for (const listener of queueListeners) listener();
      });
    }
  }
  $("#status").hidden = me.department_ids.length === 0;
  if (atLeast("supervisor")) {
    socket.join("dashboard").catch(() => {});
    socket.on("dashboard", "kpis", (k) => {
      $("#kpis").textContent = `${k.queue_size} waiting · ${k.active_calls} in a call · ${k.online_attendants} online · `
        + `average wait today ${seconds(Math.round(k.avg_wait_time))} · ${k.abandonment_rate}% abandoned today`;
      $("#kpis").hidden = false;
    });
  }
}

$("#status").addEventListener("change", (event) => {
  for (const department of me.department_ids) {
    socket?.push(`presence:${department}`, "status", { status: event.target.value }).catch(() => {});
  }
});

function toast(text) {
  const note = h("div", { class: "toast", role: "status" }, text);
  document.body.append(note);
  setTimeout(() => note.remove(), 6000);
}

boot();
