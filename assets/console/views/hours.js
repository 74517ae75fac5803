// Working hours (SPEC §7.3), in the company time zone: weekly intervals per weekday and
// dated exceptions that replace that day's hours (an exception without hours is a day
// off). Everyone edits their own (also under My account); supervisors and up anyone's.
import { api, all } from "/console/lib/api.js";
import { h, section, form, toast, uid } from "/console/lib/dom.js";
import { t, currentLanguage, currentZone, localDay } from "/console/lib/i18n.js";
import { state, atLeast } from "/console/lib/state.js";

const weekdayName = (weekday) => new Intl.DateTimeFormat(currentLanguage(), { weekday: "long", timeZone: "UTC" }).format(new Date(Date.UTC(2024, 0, weekday)));

/// A labelled time input; `data-field` is set at save time to the path the server names.
function timeField(label, value, role) {
  const id = uid(role);
  return h("div", { class: "field", "data-role": role },
    h("label", { for: id }, label),
    h("input", { id, type: "time", class: role, value: value || "", "aria-describedby": `${id}-error` }),
    h("span", { class: "field-error", id: `${id}-error` }));
}

/// One interval: from, to, remove; its own error line is for "overlaps another interval".
function intervalRow(interval = {}) {
  const row = h("div", { class: "interval" },
    h("span", { class: "field-error" }),
    h("div", { class: "row" },
      timeField(t("hours.from"), interval.start, "start"),
      timeField(t("hours.to"), interval.end, "end"),
      h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: () => row.remove() }, t("hours.remove")))));
  return row;
}

function intervalList(intervals) {
  const list = h("div", { class: "intervals" }, intervals.map(intervalRow));
  const add = h("button", { type: "button", class: "secondary", onclick: () => { list.append(intervalRow()); list.lastElementChild.querySelector("input").focus(); } }, t("hours.add_interval"));
  return [list, h("div", { class: "buttons" }, add)];
}

function exceptionBlock(exception = { date: "", intervals: [] }) {
  const id = uid("exception-date");
  const block = h("fieldset", { class: "hours exception" },
    h("legend", {}, t("hours.exception")),
    h("div", { class: "field", "data-role": "date" },
      h("label", { for: id }, t("hours.date")),
      h("input", { id, type: "date", class: "date", value: exception.date, "aria-describedby": `${id}-error ${id}-hint` }),
      h("span", { class: "hint", id: `${id}-hint` }, t("hours.exception_hint")),
      h("span", { class: "field-error", id: `${id}-error` })),
    intervalList(exception.intervals),
    h("div", { class: "buttons" }, h("button", { type: "button", class: "danger", onclick: () => block.remove() }, t("hours.remove_exception"))));
  return block;
}

/// `{start, end}` of an interval row, the row and its fields named by `path` (the path of
/// the server's 422 messages: `weekly.3.end`, `exceptions.0.intervals.1`).
function readRow(row, path) {
  row.dataset.field = path;
  row.querySelector("[data-role=start]").dataset.field = `${path}.start`;
  row.querySelector("[data-role=end]").dataset.field = `${path}.end`;
  return { start: row.querySelector("input.start").value, end: row.querySelector("input.end").value };
}

/// The editor of `user`'s hours (`{id, name}`).
export async function hoursEditor(user) {
  const hours = (await api("GET", `/api/v1/users/${user.id}/availability`)).data;
  const days = [1, 2, 3, 4, 5, 6, 7].map((weekday) => h("fieldset", { class: "hours weekday", "data-weekday": weekday },
    h("legend", {}, weekdayName(weekday)),
    intervalList(hours.weekly.filter((w) => w.weekday === weekday))));
  const exceptions = h("div", { class: "exceptions" }, [...hours.exceptions].sort((a, b) => a.date.localeCompare(b.date)).map(exceptionBlock));
  const addException = h("button", { type: "button", class: "secondary", onclick: () => {
    exceptions.append(exceptionBlock({ date: localDay(), intervals: [] }));
    exceptions.lastElementChild.querySelector("input").focus();
  } }, t("hours.add_exception"));
  return form([
    h("p", { class: "muted" }, t("app.zone", { zone: currentZone() })),
    h("h3", {}, t("hours.weekly")),
    ...days,
    h("h3", {}, t("hours.exceptions")),
    h("p", { class: "muted" }, t("hours.exceptions_hint")),
    exceptions,
    h("div", { class: "buttons" }, addException),
  ], async (_, element) => {
    const weekly = [...element.querySelectorAll("fieldset.weekday .interval")].map((row, i) =>
      ({ weekday: Number(row.closest("fieldset").dataset.weekday), ...readRow(row, `weekly.${i}`) }));
    const dated = [...element.querySelectorAll("fieldset.exception")].map((block, n) => {
      block.querySelector("[data-role=date]").dataset.field = `exceptions.${n}.date`;
      return { date: block.querySelector("input.date").value, intervals: [...block.querySelectorAll(".interval")].map((row, i) => readRow(row, `exceptions.${n}.intervals.${i}`)) };
    });
    await api("PUT", `/api/v1/users/${user.id}/availability`, { availability: { weekly, exceptions: dated } });
    toast(t("hours.saved", { name: user.name }));
  }, { submitLabel: t("hours.save") });
}

/// The people whose hours one may edit: oneself, and for supervisors and up everyone
/// active (managers list the users; supervisors the members of the departments).
async function people() {
  const me = { id: state.me.id, name: state.me.name };
  if (atLeast("manager")) return (await all("/api/v1/users?active=true&sort_by=name")).map((u) => ({ id: u.id, name: u.name }));
  if (!atLeast("supervisor")) return [me];
  const byId = new Map([[me.id, me]]);
  for (const d of await all("/api/v1/departments?active=true")) {
    for (const u of (await api("GET", `/api/v1/departments/${d.id}/users?page_size=100`)).data) if (u.active) byId.set(u.id, { id: u.id, name: u.name });
  }
  return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name));
}

let chosen = null;

export default async function hours(main) {
  const list = await people();
  if (!list.some((p) => p.id === chosen)) chosen = state.me.id;
  const user = list.find((p) => p.id === chosen) || { id: state.me.id, name: state.me.name };
  const editor = h("div", {}, await hoursEditor(user));
  const pick = h("select", { id: "hours-user", onchange: async (event) => {
    chosen = event.target.value;
    const next = list.find((p) => p.id === chosen);
    main.querySelector("h2").textContent = t("hours.of", { name: next.name });
    editor.replaceChildren(await hoursEditor(next));
  } }, list.map((p) => h("option", { value: p.id, selected: p.id === user.id }, p.name)));
  main.replaceChildren(section(t("hours.of", { name: user.name }),
    h("div", { class: "toolbar" }, h("span", { class: "inline" }, h("label", { for: "hours-user" }, t("hours.user")), pick)),
    editor));
}
