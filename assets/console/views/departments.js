// Departments with their members and queue limits, and the sectors that group them.
import { api, all } from "/console/lib/api.js";
import { h, section, form, table, button, badge, confirmDialog, toast } from "/console/lib/dom.js";
import { t } from "/console/lib/i18n.js";
import { atLeast } from "/console/lib/state.js";

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
      form(fields(d), async (v) => {
        await api("PUT", `/api/v1/departments/${d.id}`, { department: body(v) });
        toast(t("common.saved"));
        render();
      }),
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
          render();
        }),
        button(t("common.delete"), async () => {
          if (!(await confirmDialog(t("departments.delete_confirm", { name: d.name }), { confirmLabel: t("common.delete") }))) return;
          await api("DELETE", `/api/v1/departments/${d.id}`);
          toast(t("common.deleted"));
          render();
        }, { kind: "danger" }))));
    detail.querySelector("input").focus();
  };

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
      ["", (d) => button(t("common.edit"), () => edit(d))],
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
}
