// Appointments as a day or week calendar per agent, in the company time zone: book for
// an agent of a department from their free times (or a free hour of the grid), confirm,
// create the join link and send it by e-mail, reschedule, complete, mark no-show, cancel
// with a reason.
import { api, all } from "/console/lib/api.js";
import { h, section, form, field, button, badge, confirmDialog, toast, compact, failure, copy } from "/console/lib/dom.js";
import { t, when, timeOnly, localDay, addDays, monday, dayLabel, shortDay, zonedToUtc, utcToZoned, currentZone, customerName } from "/console/lib/i18n.js";
import { state, atLeast } from "/console/lib/state.js";

const OPEN = ["scheduled", "confirmed"];
const view = { mode: "week", day: null, agent: null };
/// Only the latest of overlapping draws (quick clicks on the toolbar) reaches the page.
let drawing = 0;

/// The agents one may book for, with their departments: every member of an active
/// department for supervisors and up, oneself for attendants.
async function agents() {
  if (!atLeast("supervisor")) return [{ id: state.me.id, name: state.me.name, departments: state.me.department_ids }];
  const departments = await all("/api/v1/departments?active=true");
  state.departments = departments;
  const byId = new Map();
  await Promise.all(departments.map(async (d) => {
    for (const user of (await api("GET", `/api/v1/departments/${d.id}/users?page_size=100`)).data) {
      if (!user.active) continue;
      const entry = byId.get(user.id) || { id: user.id, name: user.name, departments: [] };
      entry.departments.push(d.id);
      byId.set(user.id, entry);
    }
  }));
  return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name));
}

async function departmentNames() {
  // Supervisors and up list the departments; everyone gets their own with `/users/me`.
  return new Map((state.departments || state.me.departments || []).map((d) => [d.id, d.name]));
}

export default async function appointments(main, ctx) {
  const mine = (drawing += 1);
  view.day ||= localDay();
  const people = await agents();
  const names = await departmentNames();
  if (!view.agent || !people.some((p) => p.id === view.agent)) view.agent = people.find((p) => p.id === state.me.id)?.id || people[0]?.id;
  const agent = people.find((p) => p.id === view.agent);
  const days = view.mode === "day" ? [view.day] : [...Array(7)].map((_, i) => addDays(monday(view.day), i));
  const list = agent
    ? (await api("GET", `/api/v1/appointments?user_id=${agent.id}&date_from=${days[0]}&date_to=${days[days.length - 1]}&page_size=100&sort_by=scheduled_at&sort_order=asc`)).data
    : [];
  if (mine !== drawing) return;
  const rerender = () => appointments(main, ctx).catch(failure);

  // Toolbar: agent, day/week, previous/today/next.
  const agentSelect = h("select", { id: "agent-pick", onchange: (e) => { view.agent = e.target.value; rerender(); } },
    people.map((p) => h("option", { value: p.id, selected: p.id === view.agent }, p.name)));
  const mode = (name) => h("button", { type: "button", class: "secondary", "aria-pressed": String(view.mode === name), onclick: () => { view.mode = name; rerender(); } }, t(`appointments.${name}`));
  const step = view.mode === "day" ? 1 : 7;
  const toolbar = h("div", { class: "toolbar" },
    h("span", { class: "inline" }, h("label", { for: "agent-pick" }, t("appointments.agent")), agentSelect),
    h("div", { class: "group", role: "group", "aria-label": t("appointments.view") }, mode("day"), mode("week")),
    h("div", { class: "group" },
      h("button", { type: "button", class: "secondary", onclick: () => { view.day = addDays(view.day, -step); rerender(); } }, t("appointments.previous")),
      h("button", { type: "button", class: "secondary", onclick: () => { view.day = localDay(); rerender(); } }, t("appointments.today")),
      h("button", { type: "button", class: "secondary", onclick: () => { view.day = addDays(view.day, step); rerender(); } }, t("appointments.next"))),
    h("span", { class: "muted" }, t("app.zone", { zone: currentZone() })));

  // The grid: one column per day, one row per hour.
  const starts = list.map((a) => Number(utcToZoned(a.scheduled_at).slice(11, 13)));
  const first = Math.min(7, ...starts), last = Math.max(19, ...starts);
  const detail = h("div", { class: "detail", "aria-live": "polite" });
  const booking = bookingForm(people, agent, names, rerender);
  const cell = (day, hour) => {
    const here = list.filter((a) => utcToZoned(a.scheduled_at).slice(0, 10) === day && Number(utcToZoned(a.scheduled_at).slice(11, 13)) === hour);
    const slot = `${day}T${String(hour).padStart(2, "0")}:00`;
    const free = zonedToUtc(slot) > new Date().toISOString() && !here.some((a) => OPEN.includes(a.status));
    return h("td", { class: "slot" },
      here.map((a) => h("button", { type: "button", class: `appt ${a.status}${a.overdue ? " overdue" : ""}`, onclick: () => showDetail(detail, a, rerender) },
        h("span", { class: "time" }, timeOnly(a.scheduled_at)), " ", customerName(a.customer_name) || a.title, " ", h("span", { class: "sr-only" }, t(`appointment.status_${a.status}`)))),
      free && agent ? h("button", { type: "button", class: "free", "aria-label": t("appointments.book_at", { time: `${shortDay(day)} ${String(hour).padStart(2, "0")}:00` }),
        onclick: () => booking.pick?.(agent, slot) }, "+") : null);
  };
  const hours = [...Array(last - first + 1)].map((_, i) => first + i);
  const grid = h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": t("nav.appointments") }, h("table", { class: `calendar ${view.mode}` },
    h("caption", {}, view.mode === "day" ? dayLabel(days[0]) : t("appointments.week_of", { day: dayLabel(days[0]) })),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("appointments.hour")), days.map((d) => h("th", { scope: "col", class: d === localDay() ? "today" : null }, shortDay(d))))),
    h("tbody", {}, hours.map((hour) => h("tr", {}, h("th", { scope: "row" }, `${String(hour).padStart(2, "0")}:00`), days.map((d) => cell(d, hour)))))));

  main.replaceChildren(
    section(t("nav.appointments"), toolbar, agent ? grid : h("p", { class: "empty" }, t("appointments.no_agents")), detail),
    section(t("appointments.new"), booking));
}

/// The booking form: a department, one of its members, a day whose free times (from the
/// availability API) fill the start when picked, and the patient.
function bookingForm(people, calendarAgent, names, done) {
  const departmentIds = [...new Set(people.flatMap((p) => p.departments))];
  if (!departmentIds.length) return h("p", { class: "empty" }, t("appointments.no_agents"));
  const departments = departmentIds.map((id) => [id, names.get(id) || id.slice(0, 8)]).sort((a, b) => a[1].localeCompare(b[1]));
  const firstDay = view.day >= localDay() ? view.day : localDay();
  const members = (departmentId) => people.filter((p) => p.departments.includes(departmentId));
  const slots = h("fieldset", { class: "field slots" },
    h("legend", {}, t("appointments.free_times")),
    h("div", { class: "slot-list buttons" }),
    h("p", { class: "muted", role: "status" }));
  let asked = 0;
  const element = form([
    { name: "department_id", label: t("calls.department"), type: "select", options: departments, required: true,
      value: calendarAgent?.departments[0], onchange: () => { fillAgents(); showSlots(); } },
    { name: "user_id", label: t("appointments.agent_field"), type: "select", required: true, onchange: () => showSlots() },
    { name: "day", label: t("appointments.slot_day"), type: "date", value: firstDay, min: localDay(), onchange: () => showSlots() },
    { name: "duration_minutes", label: t("appointments.duration"), type: "number", min: 1, max: 1440, value: 30, onchange: () => showSlots() },
    slots,
    { name: "when", label: t("appointments.when"), type: "datetime-local", required: true, hint: t("app.zone", { zone: currentZone() }) },
    { name: "title", label: t("appointments.title"), required: true, maxlength: 200 },
    { name: "customer_name", label: t("customers.name"), required: true },
    { name: "customer_email", label: t("customers.email"), type: "email" },
    { name: "customer_phone", label: t("customers.phone"), type: "tel" },
    { name: "description", label: t("appointments.description"), type: "textarea" },
  ], async (v) => {
    const body = compact({ ...v, when: undefined, day: undefined, scheduled_at: zonedToUtc(v.when), duration_minutes: Number(v.duration_minutes || 30) });
    try {
      await api("POST", "/api/v1/appointments", { appointment: body });
    } catch (error) {
      if (error.fields?.scheduled_at) error.fields.when = error.fields.scheduled_at;
      if (error.status === 409) error.detail = conflictText(error);
      throw error;
    }
    view.agent = v.user_id;
    view.day = v.when.slice(0, 10);
    await done();
    toast(t("appointments.booked"));
  }, { submitLabel: t("appointments.book") });
  const input = (name) => element.querySelector(`[name=${name}]`);

  function fillAgents(preferred = input("user_id").value) {
    const options = members(input("department_id").value);
    input("user_id").replaceChildren(...options.map((p) => h("option", { value: p.id, selected: p.id === preferred }, p.name)));
  }

  /// The free starts of the chosen agent on the chosen day, as buttons.
  async function showSlots() {
    const [list, note] = [slots.querySelector(".slot-list"), slots.querySelector("p")];
    const [departmentId, userId, day] = [input("department_id").value, input("user_id").value, input("day").value];
    const minutes = Number(input("duration_minutes").value);
    list.replaceChildren();
    if (!departmentId || !userId || !day) {
      note.textContent = t("appointments.pick_day");
      return;
    }
    const mine = (asked += 1);
    note.textContent = t("common.loading");
    const query = new URLSearchParams({ department_id: departmentId, date_from: day, date_to: day, user_id: userId });
    if (minutes >= 1 && minutes <= 1440) query.set("duration_minutes", String(minutes));
    try {
      const found = (await api("GET", `/api/v1/availability?${query}`)).data;
      if (mine !== asked) return;
      const starts = found.find((a) => a.user_id === userId)?.slots || [];
      list.replaceChildren(...starts.map((start) => h("button", {
        type: "button", class: "secondary slot-time", "aria-pressed": "false",
        onclick: (event) => {
          input("when").value = utcToZoned(start);
          for (const other of list.querySelectorAll("button")) other.setAttribute("aria-pressed", String(other === event.currentTarget));
        },
      }, timeOnly(start))));
      note.textContent = starts.length ? t("appointments.free_count", { n: starts.length, day: dayLabel(day) }) : t("appointments.no_free_times", { day: dayLabel(day) });
    } catch (error) {
      if (mine === asked) note.textContent = error.fields ? Object.values(error.fields).flat().join(" ") : error.message;
    }
  }

  /// A free hour of the calendar: book it for the calendar's agent.
  element.pick = (agent, local) => {
    if (agent && agent.departments.length && !agent.departments.includes(input("department_id").value)) {
      input("department_id").value = agent.departments[0];
    }
    fillAgents(agent?.id);
    input("when").value = local;
    input("day").value = local.slice(0, 10);
    showSlots();
    input("title").focus();
  };
  fillAgents(calendarAgent?.id);
  showSlots();
  return element;
}

const conflictText = (error) => `${t("appointments.conflict")} ${(error.body?.conflicts || []).map((c) => `${when(c.scheduled_at)} ${c.title}`).join("; ")}`;

function showDetail(holder, a, done) {
  const act = (verb, label, kind = "secondary") => button(label, async () => {
    await api("POST", `/api/v1/appointments/${a.id}/${verb}`, {});
    await done();
    toast(t("common.done"));
  }, { kind });
  const open = OPEN.includes(a.status);
  const past = new Date(a.scheduled_at) <= new Date();
  const reschedule = form([
    field({ name: "when", label: t("appointments.new_time"), type: "datetime-local", required: true, value: utcToZoned(a.scheduled_at) }),
    field({ name: "duration_minutes", label: t("appointments.duration"), type: "number", min: 1, max: 1440, value: a.duration_minutes }),
  ], async (v) => {
    try {
      await api("PUT", `/api/v1/appointments/${a.id}`, { appointment: { scheduled_at: zonedToUtc(v.when), duration_minutes: Number(v.duration_minutes) } });
    } catch (error) {
      if (error.fields?.scheduled_at) error.fields.when = error.fields.scheduled_at;
      if (error.status === 409) error.detail = conflictText(error);
      throw error;
    }
    await done();
    toast(t("appointments.rescheduled"));
  }, { submitLabel: t("appointments.reschedule"), inline: true });
  const sending = h("div", { class: "send-link" });
  holder.replaceChildren(h("div", { class: "card" },
    h("h3", {}, `${a.title} · ${when(a.scheduled_at)}`),
    h("p", {}, badge(t(`appointment.status_${a.status}`)), a.overdue ? badge(t("appointments.overdue"), "error") : null, " ",
      t("appointments.minutes", { n: a.duration_minutes }), " · ", customerName(a.customer_name) || "—", a.department_name ? ` · ${a.department_name}` : ""),
    h("p", {}, `${t("appointments.agent")}: ${a.user_name || "—"}`),
    a.cancel_reason ? h("p", { class: "muted" }, `${t("common.reason")}: ${a.cancel_reason}`) : null,
    a.access_link_url ? h("p", {}, h("code", { class: "url" }, a.access_link_url), " ", button(t("common.copy"), () => copy(a.access_link_url))) : null,
    open ? h("div", { class: "buttons" },
      a.status === "scheduled" ? act("confirm", t("appointments.confirm")) : null,
      a.access_link_url ? null : button(t("appointments.issue_link"), async () => {
        await api("POST", `/api/v1/appointments/${a.id}/access-link`, {});
        await done();
        toast(t("links.created"));
      }),
      button(t("appointments.send_link"), () => sendLink(sending, a)),
      past ? act("complete", t("appointments.complete")) : null,
      past ? act("no-show", t("appointments.no_show")) : null,
      button(t("appointments.cancel"), async () => {
        const answer = await confirmDialog(t("appointments.cancel_confirm", { title: a.title }), { reason: true, confirmLabel: t("appointments.cancel") });
        if (!answer) return;
        await api("POST", `/api/v1/appointments/${a.id}/cancel`, answer.reason ? { reason: answer.reason } : {});
        await done();
        toast(t("appointments.cancelled"));
      }, { kind: "danger" })) : null,
    open ? sending : null,
    open ? reschedule : null));
  holder.querySelector("h3").setAttribute("tabindex", "-1");
  holder.querySelector("h3").focus();
}

/// The form that e-mails the appointment's join link: to the patient's address, or the
/// one typed.
function sendLink(holder, a) {
  const outcome = h("p", { role: "status" });
  const send = form([
    { name: "email", label: t("links.send_to"), type: "email", value: a.customer_email || "", autocomplete: "off", hint: t("links.send_hint") },
  ], async (v) => {
    outcome.textContent = "";
    const id = await joinLinkId(a);
    const email = (await api("POST", `/api/v1/access-links/${id}/send`, v.email.trim() ? { email: v.email.trim() } : {})).data;
    outcome.textContent = t("links.sent", { to: email.to, status: t(`emails.status_${email.status}`) });
  }, { submitLabel: t("links.send"), inline: true });
  holder.replaceChildren(h("h4", {}, t("appointments.send_link_title")), send, outcome);
  holder.querySelector("input").focus();
}

/// The id of the appointment's join link, issued now when it has none.
async function joinLinkId(a) {
  if (a.access_link_id) return a.access_link_id;
  const issued = (await api("POST", `/api/v1/appointments/${a.id}/access-link`, {})).data;
  a.access_link_url = issued.url;
  a.access_link_id = issued.id;
  return issued.id;
}
