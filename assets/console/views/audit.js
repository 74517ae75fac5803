// The audit log (managers and up, SPEC §7.5): who did what to which record, newest first,
// filtered by object, actor, action and dates, with each change as old → new.
import { api, all } from "/console/lib/api.js";
import { h, section, form, table, pager, compact } from "/console/lib/dom.js";
import { t, when } from "/console/lib/i18n.js";

const OBJECT_TYPES = ["appointment", "access_link", "api_key", "call", "company", "customer", "department", "sector", "service_provider", "tag", "user", "webhook"];
const filters = {};

const ACTOR_TYPES = ["user", "api_key", "customer", "system"];
const typeLabel = (o) => (OBJECT_TYPES.includes(o) ? t(`audit.type_${o}`) : o);
const actorLabel = (a) => (ACTOR_TYPES.includes(a) ? t(`audit.actor_${a}`) : a);
const shown = (value) => (value == null ? "—" : typeof value === "string" ? value : JSON.stringify(value));

function changes(entry) {
  const fields = Object.entries(entry.changes || {});
  if (!fields.length) return "—";
  return h("ul", { class: "changes" }, fields.map(([field, pair]) => {
    const [before, after] = Array.isArray(pair) ? pair : [null, pair];
    return h("li", {}, h("b", {}, field), ": ", shown(before), " → ", shown(after));
  }));
}

export default async function audit(main) {
  const users = await all("/api/v1/users?sort_by=name").catch(() => []);
  const list = h("div", { "aria-live": "polite" });
  const show = async (page = 1) => {
    const query = new URLSearchParams({ ...compact(filters), page: String(page) });
    const { data, meta } = await api("GET", `/api/v1/audit-log?${query}`);
    list.replaceChildren(table([
      [t("audit.at"), (e) => when(e.at)],
      [t("audit.actor"), (e) => [e.actor_name || "—", h("div", { class: "muted" }, actorLabel(e.actor_type))]],
      [t("audit.action"), (e) => h("code", {}, e.action)],
      [t("audit.object"), (e) => [typeLabel(e.object_type), e.object_id ? h("div", { class: "muted" }, h("code", {}, e.object_id)) : null]],
      [t("audit.changes"), changes],
      [t("audit.ip"), (e) => e.ip || "—"],
    ], data, { caption: t("nav.audit"), emptyText: t("audit.none") }), pager(meta, show));
  };
  const filter = form([
    { name: "object_type", label: t("audit.object_type"), type: "select", value: filters.object_type, options: [["", t("emails.any")], ...OBJECT_TYPES.map((o) => [o, typeLabel(o)])] },
    { name: "object_id", label: t("audit.object_id"), value: filters.object_id, autocomplete: "off" },
    { name: "actor_id", label: t("audit.actor"), type: "select", value: filters.actor_id, options: [["", t("emails.any")], ...users.map((u) => [u.id, u.name])] },
    { name: "action", label: t("audit.action"), value: filters.action, autocomplete: "off", hint: t("audit.action_hint") },
    { name: "date_from", label: t("audit.date_from"), type: "date", value: filters.date_from },
    { name: "date_to", label: t("audit.date_to"), type: "date", value: filters.date_to },
  ], async (v) => {
    for (const key of Object.keys(filters)) delete filters[key];
    Object.assign(filters, Object.fromEntries(Object.entries(v).map(([k, value]) => [k, value.trim()])));
    await show(1);
  }, { submitLabel: t("emails.show"), inline: true });
  await show(1);
  main.replaceChildren(section(t("nav.audit"), filter, list));
}
