// Departments with their members, queue limits and booking settings (the patients' booking
// page, its link copied or rotated), and the sectors that group them.
import { api, all } from "/console/lib/api.js";
import { h, section, form, field, table, button, badge, confirmDialog, toast, copy } from "/console/lib/dom.js";
import { t } from "/console/lib/i18n.js";
import { atLeast } from "/console/lib/state.js";

/// The department whose detail stays open when the view is drawn again after a change.
let openId = null;

export default async function departments(main, { render }) {
  const [list, sectors, people] = await Promise.all([
    all("/api/v1/departments"),
    all("/api/v1/sectors"),
    atLeast("manager") ? all("/api/v1/users?active=true") : Promise.resolve([]),
  ]);
  const sectorOptions = [["", t("departments.no_sector")], ...sectors.map((s) => [s.id, s.name])];
  const detail = h("div");
  const fields = (d = {}) => [
    { name: "name", label: t("departments.name"), required: true, value: d.name, maxlength: 200 },
    { name: "description", label: t("departments.description"), type: "textarea", value: d.description },
    { name: "sector_id", label: t("departments.sector"), type: "select", options: sectorOptions, value: d.sector_id || "" },
    { name: "max_queue_size", label: t("departments.max_queue"), type: "number", min: 0, value: d.max_queue_size ?? 0, hint: t("departments.zero_unlimited") },
    { name: "max_wait_time", label: t("departments.max_wait"), type: "number", min: 0, value: d.max_wait_time ?? 0, hint: t("departments.zero_unlimited") },
  ];
  const body = (v) => ({ ...v, sector_id: v.sector_id || null, description: v.description || null, max_queue_size: Number(v.max_queue_size || 0), max_wait_time: Number(v.max_wait_time || 0) });
  const number = (value) => (value === "" || value == null ? undefined : Number(value));
  const bookingBody = (v) => ({ ...body(v), slot_minutes: number(v.slot_minutes), buffer_minutes: number(v.buffer_minutes), min_notice_minutes: number(v.min_notice_minutes), max_advance_days: number(v.max_advance_days) });
  const bookingFields = (d) => h("fieldset", { class: "hours booking" },
    h("legend", {}, t("departments.booking")),
    field({ name: "public_booking", label: t("departments.public_booking"), type: "checkbox", value: d.public_booking, hint: t("departments.public_booking_hint") }),
    field({ name: "slot_minutes", label: t("departments.slot_minutes"), type: "number", min: 5, max: 480, value: d.slot_minutes, hint: t("departments.slot_minutes_hint") }),
    field({ name: "buffer_minutes", label: t("departments.buffer_minutes"), type: "number", min: 0, max: 240, value: d.buffer_minutes, hint: t("departments.buffer_minutes_hint") }),
    field({ name: "min_notice_minutes", label: t("departments.min_notice_minutes"), type: "number", min: 0, max: 10080, value: d.min_notice_minutes, hint: t("departments.min_notice_minutes_hint") }),
    field({ name: "max_advance_days", label: t("departments.max_advance_days"), type: "number", min: 1, max: 365, value: d.max_advance_days }));
  const bookingLink = (d) => h("div", { class: "booking-link" },
    h("h3", { tabindex: "-1" }, t("departments.booking_url")),
    d.booking_url
      ? h("p", {}, h("code", { class: "url" }, d.booking_url))
      : h("p", { class: "muted" }, t("departments.booking_off")),
    h("div", { class: "buttons" },
      d.booking_url ? button(t("departments.copy_booking_url"), () => copy(d.booking_url)) : null,
      atLeast("manager") ? button(t("departments.rotate"), async () => {
        if (!(await confirmDialog(t("departments.rotate_confirm"), { confirmLabel: t("departments.rotate") }))) return;
        const rotated = (await api("POST", `/api/v1/departments/${d.id}/booking-token`, {})).data;
        await edit(rotated);
        detail.querySelector(".booking-link h3").focus();
        toast(t("departments.rotated"));
      }) : null));
  const create = form(fields(), async (v) => {
    await api("POST", "/api/v1/departments", { department: body(v) });
    toast(t("departments.created", { name: v.name }));
    render();
  }, { submitLabel: t("departments.create") });

  const edit = async (d) => {
    const members = (await api("GET", `/api/v1/departments/${d.id}/users?page_size=100`)).data;
    const memberIds = new Set(members.map((m) => m.id));
    const candidates = people.filter((p) => !memberIds.has(p.id));
    const add = candidates.length ? form([
      { name: "user_id", label: t("departments.add_member"), type: "select", options: candidates.map((p) => [p.id, `${p.name} (${t(`role.${p.role}`)})`]) },
    ], async (v) => {
      await api("POST", `/api/v1/departments/${d.id}/users`, { user_id: v.user_id });
      toast(t("departments.member_added"));
      edit(d);
    }, { submitLabel: t("departments.add"), inline: true }) : null;
    detail.replaceChildren(section(t("departments.edit", { name: d.name }),
      form([...fields(d), bookingFields(d)], async (v) => {
        const saved = (await api("PUT", `/api/v1/departments/${d.id}`, { department: bookingBody(v) })).data;
        toast(t("common.saved"));
        openId = saved.id;
        render();
      }),
      bookingLink(d),
      h("h3", {}, t("departments.members")),
      table([
        [t("users.name"), (m) => m.name],
        [t("users.role"), (m) => t(`role.${m.role}`)],
        [t("calls.provider"), (m) => m.provider_name || "—"],
        ["", (m) => button(t("departments.remove"), async () => {
          if (!(await confirmDialog(t("departments.remove_confirm", { name: m.name }), { confirmLabel: t("departments.remove") }))) return;
          await api("DELETE", `/api/v1/departments/${d.id}/users/${m.id}`);
          edit(d);
        }, { kind: "danger" })],
      ], members, { caption: t("departments.members"), emptyText: t("departments.no_members") }),
      add,
      h("div", { class: "buttons" },
        button(d.active ? t("departments.deactivate") : t("departments.reactivate"), async () => {
          await api("PUT", `/api/v1/departments/${d.id}`, { department: { active: !d.active } });
          openId = d.id;
          render();
        }),
        button(t("common.delete"), async () => {
          if (!(await confirmDialog(t("departments.delete_confirm", { name: d.name }), { confirmLabel: t("common.delete") }))) return;
          await api("DELETE", `/api/v1/departments/${d.id}`);
          toast(t("common.deleted"));
          openId = null;
          render();
        }, { kind: "danger" }))));
    detail.querySelector("input").focus();
  };
  const reopen = list.find((d) => d.id === openId);

  const sectorForm = form([{ name: "name", label: t("departments.sector_name"), required: true }], async (v) => {
    await api("POST", "/api/v1/sectors", { sector: v });
    toast(t("common.saved"));
    render();
  }, { submitLabel: t("departments.add_sector"), inline: true });

  main.replaceChildren(
    section(t("nav.departments"), table([
      [t("departments.name"), (d) => [h("b", {}, d.name), h("div", { class: "muted" }, d.identifier)]],
      [t("departments.sector"), (d) => d.sector_name || "—"],
      [t("departments.members"), (d) => d.user_count],
      [t("common.status"), (d) => badge(d.active ? t("users.active") : t("users.inactive"), d.active ? "ok" : "")],
      ["", (d) => button(t("common.edit"), () => { openId = d.id; return edit(d); })],
    ], list, { caption: t("nav.departments") })),
    detail,
    section(t("departments.new"), create),
    section(t("departments.sectors"), table([
      [t("departments.sector_name"), (s) => s.name],
      ["", (s) => button(t("common.delete"), async () => {
        if (!(await confirmDialog(t("departments.sector_delete_confirm", { name: s.name }), { confirmLabel: t("common.delete") }))) return;
        await api("DELETE", `/api/v1/sectors/${s.id}`);
        render();
      }, { kind: "danger" })],
    ], sectors, { caption: t("departments.sectors") }), sectorForm));
  if (reopen) await edit(reopen);
}
