// Staff users (managers and up): create, change the role (never above one's own),
// deactivate or reactivate, set a new password.
import { api, all } from "/console/lib/api.js";
import { h, section, form, table, button, badge, confirmDialog, toast, field } from "/console/lib/dom.js";
import { t, when, LANGUAGES } from "/console/lib/i18n.js";
import { state, grantable } from "/console/lib/state.js";

export default async function users(main, { render }) {
  const list = await all("/api/v1/users?sort_by=name");
  const roles = grantable().map((r) => [r, t(`role.${r}`)]);
  const detail = h("div");
  const create = form([
    { name: "name", label: t("users.name"), required: true, maxlength: 200 },
    { name: "email", label: t("customers.email"), type: "email", required: true, autocomplete: "off" },
    { name: "password", label: t("users.password"), type: "password", required: true, autocomplete: "new-password", hint: t("users.password_hint") },
    { name: "role", label: t("users.role"), type: "select", options: roles, value: "attendant" },
    { name: "locale", label: t("app.language"), type: "select", options: [["", t("users.locale_company")], ...LANGUAGES] },
  ], async (v) => {
    const user = { ...v };
    if (!user.locale) delete user.locale;
    await api("POST", "/api/v1/users", { user });
    toast(t("users.created", { name: v.name }));
    render();
  }, { submitLabel: t("users.create") });
  main.replaceChildren(
    section(t("users.new"), create),
    section(t("nav.users"), table([
      [t("users.name"), (u) => [h("b", {}, u.name), h("div", { class: "muted" }, u.email)]],
      [t("users.role"), (u) => t(`role.${u.role}`)],
      [t("calls.provider"), (u) => u.provider_name || "—"],
      [t("common.status"), (u) => [badge(u.active ? t("users.active") : t("users.inactive"), u.active ? "ok" : ""), u.mfa_enabled ? badge(t("users.mfa")) : null]],
      [t("users.last_login"), (u) => when(u.last_login_at)],
      ["", (u) => (u.id === state.me.id || !grantable().includes(u.role) ? null : button(t("common.edit"), () => edit(detail, u, render)))],
    ], list, { caption: t("nav.users") })),
    detail);
}

function edit(holder, u, done) {
  const roles = grantable().map((r) => [r, t(`role.${r}`)]);
  const details = form([
    { name: "name", label: t("users.name"), required: true, value: u.name },
    { name: "email", label: t("customers.email"), type: "email", required: true, value: u.email },
    { name: "role", label: t("users.role"), type: "select", options: roles, value: u.role },
  ], async (v) => {
    await api("PUT", `/api/v1/users/${u.id}`, { user: v });
    toast(t("common.saved"));
    done();
  });
  const password = form([field({ name: "password", label: t("users.new_password"), type: "password", required: true, autocomplete: "new-password", hint: t("users.password_hint") })],
    async (v, element) => {
      await api("PUT", `/api/v1/users/${u.id}`, { user: { password: v.password } });
      element.reset();
      toast(t("users.password_set"));
    }, { submitLabel: t("users.set_password") });
  const activation = button(u.active ? t("users.deactivate") : t("users.reactivate"), async () => {
    if (u.active && !(await confirmDialog(t("users.deactivate_confirm", { name: u.name }), { confirmLabel: t("users.deactivate") }))) return;
    await api("PUT", `/api/v1/users/${u.id}`, { user: { active: !u.active } });
    toast(t("common.saved"));
    done();
  }, { kind: u.active ? "danger" : "secondary" });
  holder.replaceChildren(section(t("users.edit", { name: u.name }), details, h("h3", {}, t("users.set_password")), password, h("div", { class: "buttons" }, activation)));
  holder.querySelector("input").focus();
}
