// Service providers (the seed guide): create one with its CPF/CNPJ, associate users with
// it (a user belongs to at most one), deactivate or delete it.
import { api, all } from "/console/lib/api.js";
import { h, section, form, table, button, badge, confirmDialog, toast } from "/console/lib/dom.js";
import { t } from "/console/lib/i18n.js";
import { atLeast } from "/console/lib/state.js";

export default async function providers(main, { render }) {
  const manager = atLeast("manager");
  const [list, people] = await Promise.all([all("/api/v1/providers"), manager ? all("/api/v1/users?active=true") : Promise.resolve([])]);
  const detail = h("div");
  const fields = (p = {}) => [
    { name: "name", label: t("providers.name"), required: true, value: p.name, maxlength: 200 },
    { name: "document", label: t("providers.document"), required: true, value: p.document, hint: t("providers.document_hint") },
    { name: "email", label: t("customers.email"), type: "email", value: p.email },
    { name: "phone", label: t("customers.phone"), type: "tel", value: p.phone },
  ];
  const body = (v) => ({ ...v, email: v.email || null, phone: v.phone || null });

  const open = async (p) => {
    const members = (await api("GET", `/api/v1/providers/${p.id}/users?page_size=100`)).data;
    const ids = new Set(members.map((m) => m.id));
    const free = people.filter((u) => !ids.has(u.id) && !u.provider_id);
    detail.replaceChildren(section(t("providers.edit", { name: p.name }),
      manager ? form(fields(p), async (v) => {
        await api("PUT", `/api/v1/providers/${p.id}`, { service_provider: body(v) });
        toast(t("common.saved"));
        render();
      }) : null,
      h("h3", {}, t("providers.users")),
      table([
        [t("users.name"), (u) => u.name],
        [t("customers.email"), (u) => u.email],
        [t("users.role"), (u) => t(`role.${u.role}`)],
        ["", (u) => (manager ? button(t("providers.dissociate"), async () => {
          if (!(await confirmDialog(t("providers.dissociate_confirm", { name: u.name }), { confirmLabel: t("providers.dissociate") }))) return;
          await api("DELETE", `/api/v1/providers/${p.id}/users/${u.id}`);
          open(p);
        }, { kind: "danger" }) : null)],
      ], members, { caption: t("providers.users"), emptyText: t("providers.no_users") }),
      manager && free.length ? form([
        { name: "user_id", label: t("providers.associate_user"), type: "select", options: free.map((u) => [u.id, `${u.name} (${u.email})`]) },
      ], async (v) => {
        await api("POST", `/api/v1/providers/${p.id}/users`, { user_id: v.user_id });
        toast(t("providers.associated"));
        open(p);
      }, { submitLabel: t("providers.associate"), inline: true }) : null,
      manager ? h("div", { class: "buttons" },
        button(p.active ? t("departments.deactivate") : t("departments.reactivate"), async () => {
          await api("PUT", `/api/v1/providers/${p.id}`, { service_provider: { active: !p.active } });
          render();
        }),
        button(t("common.delete"), async () => {
          if (!(await confirmDialog(t("providers.delete_confirm", { name: p.name }), { confirmLabel: t("common.delete") }))) return;
          await api("DELETE", `/api/v1/providers/${p.id}`);
          toast(t("common.deleted"));
          render();
        }, { kind: "danger" })) : null));
    detail.querySelector("h2").setAttribute("tabindex", "-1");
    detail.querySelector("h2").focus();
  };

  main.replaceChildren(
    section(t("nav.providers"), table([
      [t("providers.name"), (p) => h("b", {}, p.name)],
      [t("providers.document"), (p) => p.document],
      [t("providers.users"), (p) => p.user_count],
      [t("common.status"), (p) => badge(p.active ? t("users.active") : t("users.inactive"), p.active ? "ok" : "")],
      ["", (p) => button(t("common.open"), () => open(p), {})],
    ], list, { caption: t("nav.providers") })),
    detail,
    manager ? section(t("providers.new"), form(fields(), async (v) => {
      await api("POST", "/api/v1/providers", { service_provider: body(v) });
      toast(t("providers.created", { name: v.name }));
      render();
    }, { submitLabel: t("providers.create") })) : h("span"));
}
