// The staff console: login, the menu of the views the user's role may use, the language
// picker, and the live topics (presence, queues, notifications, dashboard figures). Each
// view is its own module under views/; every action is a call to the REST API.
import { Socket } from "/console/socket.js";
import { api, post, getSession, saveSession, logout, whenLoggedOut } from "/console/lib/api.js";
import { $, h, toast } from "/console/lib/dom.js";
import { t, translate, setLanguage, pick, LANGUAGES, currentLanguage, setZone, currentZone, duration, number } from "/console/lib/i18n.js";
import { state, atLeast } from "/console/lib/state.js";

/// The views in menu order, with the least role that may open each.
const VIEWS = [
  ["queue", "attendant"], ["appointments", "attendant"], ["customers", "attendant"], ["calls", "attendant"],
  ["links", "supervisor"], ["departments", "supervisor"], ["hours", "supervisor"], ["users", "manager"], ["providers", "supervisor"],
  ["reports", "manager"], ["webhooks", "manager"], ["emails", "manager"], ["apikeys", "manager"], ["audit", "manager"], ["company", "manager"], ["account", "attendant"],
];
const listeners = new Set(); // run on every change of a queue this user sees
let cleanup = [];

export const onQueueChange = (listener) => { listeners.add(listener); cleanup.push(() => listeners.delete(listener)); };
export const onLeave = (run) => cleanup.push(run);

// ---- language ---------------------------------------------------------------------------

function languagePickers() {
  for (const select of document.querySelectorAll("select.language")) {
    select.replaceChildren(...LANGUAGES.map(([code, name]) => h("option", { value: code, lang: code, selected: code === currentLanguage() }, name)));
  }
}

function applyLanguage(wanted) {
  setLanguage(wanted);
  translate();
  languagePickers();
  document.title = t("app.title");
}

$("#login-language").addEventListener("change", (event) => {
  localStorage.setItem("voki.language", event.target.value);
  applyLanguage(event.target.value);
});

$("#language").addEventListener("change", async (event) => {
  const locale = event.target.value;
  try {
    state.me = (await api("PUT", "/api/v1/users/me", { locale })).data;
  } catch {
    // The choice still applies to this page.
  }
  localStorage.setItem("voki.language", locale);
  applyLanguage(locale);
  chrome();
  render();
});

// ---- login ------------------------------------------------------------------------------

let mfaToken = null;
$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const error = $("#login-error");
  error.textContent = "";
  const tenant = form.tenant.value.trim();
  try {
    const data = mfaToken
      ? await post("/api/auth/mfa/verify", { mfa_token: mfaToken, code: form.code.value.trim() })
      : await post("/api/auth/login", { tenant, email: form.email.value.trim(), password: form.password.value });
    if (data.mfa_required) {
      mfaToken = data.mfa_token;
      $("#mfa-field").hidden = false;
      form.code.focus();
      return;
    }
    saveSession({ tenant, access_token: data.access_token, refresh_token: data.refresh_token, mfa_setup_required: !!data.mfa_setup_required });
    mfaToken = null;
    boot();
  } catch (failure) {
    error.textContent = failure.status === 401 ? t("login.failed") : failure.status === 429 ? t("login.too_many") : failure.message;
  }
});

whenLoggedOut(() => {
  saveSession(null);
  location.hash = "";
  location.reload();
});

$("#logout").addEventListener("click", async () => {
  await logout();
  state.socket?.close();
  location.hash = "";
  location.reload();
});

// ---- views ------------------------------------------------------------------------------

function chrome() {
  const nav = $("#nav");
  const current = currentView();
  nav.replaceChildren(...VIEWS.filter(([, min]) => atLeast(min)).map(([name]) =>
    h("a", { href: `#${name}`, "aria-current": name === current ? "page" : null }, t(`nav.${name}`))));
  $("#who").textContent = `${state.me.name} · ${t(`role.${state.me.role}`)} · ${getSession().tenant}`;
  $("#zone").textContent = t("app.zone", { zone: currentZone() });
  showKpis();
}

function currentView() {
  if (getSession()?.mfa_setup_required && !state.me?.mfa_enabled) return "account";
  const name = (location.hash || "#queue").slice(1).split("/")[0];
  const view = VIEWS.find(([id, min]) => id === name && atLeast(min));
  return view ? name : "queue";
}

let rendering = 0;
async function render() {
  for (const run of cleanup.splice(0)) run();
  const name = currentView();
  const main = $("#view");
  const mine = (rendering += 1);
  chrome();
  main.replaceChildren(h("p", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), t("common.loading")));
  // Each draw fills its own box, shown only if no later draw began meanwhile: a slow view
  // the user has already left must not replace the one they went to.
  const box = h("div", { class: "view-box" });
  try {
    const module = await import(`/console/views/${name}.js`);
    if (mine !== rendering) return;
    await module.default(box, { render, onQueueChange, onLeave });
    if (mine !== rendering) return;
    main.replaceChildren(box);
    document.title = `${t(`nav.${name}`)} · ${t("app.title")}`;
  } catch (error) {
    if (mine === rendering) main.replaceChildren(h("p", { class: "form-error", role: "alert" }, error.message));
  }
}
window.addEventListener("hashchange", () => { render(); $("#view").focus({ preventScroll: true }); });

// ---- start ------------------------------------------------------------------------------

async function boot() {
  applyLanguage(localStorage.getItem("voki.language") || pick(navigator.language) || "en");
  if (!getSession()) {
    $("#login").hidden = false;
    $("#app").hidden = true;
    return;
  }
  try {
    state.me = (await api("GET", "/api/v1/users/me")).data;
  } catch {
    return;
  }
  if (atLeast("manager") && !getSession().mfa_setup_required) {
    state.company = (await api("GET", "/api/v1/company").catch(() => null))?.data || null;
  }
  // Every role gets the company's zone and language with itself (the settings are managers').
  setZone(state.company?.timezone || state.me.company_timezone);
  applyLanguage(pick(state.me.locale) || pick(state.company?.locale || state.me.company_locale) || localStorage.getItem("voki.language") || "en");
  $("#login").hidden = true;
  $("#app").hidden = false;
  goLive();
  render();
}

// ---- live: presence, queues, notifications, the dashboard's figures ---------------------

function goLive() {
  const me = state.me;
  const socket = (state.socket ||= new Socket(() => getSession().access_token));
  socket.join(`notification:${me.id}`).catch(() => {});
  socket.on(`notification:${me.id}`, "new_notification", (n) => toast(`${n.title} — ${n.body}`));
  socket.on(`notification:${me.id}`, "appointment_reminder", (n) => toast(t("live.reminder", { title: n.title, minutes: n.minutes_before })));
  for (const department of me.department_ids) {
    // Being on the presence topic is what makes this agent count as online.
    socket.join(`presence:${department}`).catch(() => {});
    const topic = `queue:${department}`;
    socket.join(topic).catch(() => {});
    for (const event of ["customer_joined", "customer_left", "call_assigned"]) {
      socket.on(topic, event, (payload) => {
        if (event === "customer_joined") toast(t("live.joined", { name: payload.customer_name }));
        for (const listener of listeners) listener();
      });
    }
  }
  $("#status-field").hidden = me.department_ids.length === 0;
  if (atLeast("supervisor")) {
    socket.join("dashboard").catch(() => {});
    socket.on("dashboard", "kpis", (k) => {
      kpis = k;
      showKpis();
    });
  }
}

/// The dashboard's latest figures, kept to be written again in a newly chosen language.
let kpis = null;
function showKpis() {
  if (!kpis) return;
  $("#kpis").textContent = t("live.kpis", {
    waiting: kpis.queue_size, active: kpis.active_calls, online: kpis.online_attendants,
    wait: duration(kpis.avg_wait_time), abandoned: number(kpis.abandonment_rate, 1),
  });
  $("#kpis").hidden = false;
}

$("#status").addEventListener("change", (event) => {
  for (const department of state.me.department_ids) {
    state.socket?.push(`presence:${department}`, "status", { status: event.target.value }).catch(() => {});
  }
});

boot();
