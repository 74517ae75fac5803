// API keys for integrators (managers and up, SPEC §7.4): create one with a role up to
// one's own (never owner) and an optional expiry, see its secret once, list the live
// keys with their prefix and last use, revoke one.
import { api, all } from "/console/lib/api.js";
import { h, section, form, table, button, confirmDialog, toast, copy } from "/console/lib/dom.js";
import { t, when, zonedToUtc } from "/console/lib/i18n.js";
import { grantable } from "/console/lib/state.js";

export default async function apiKeys(main) {
  const roles = grantable().filter((r) => r !== "owner").map((r) => [r, t(`role.${r}`)]);
  const secret = h("div", { "aria-live": "polite" });
  const list = h("div");
  const drawList = async () => {
    const keys = await all("/api/v1/api-keys");
    list.replaceChildren(table([
      [t("apikeys.name"), (k) => k.name],
      [t("users.role"), (k) => t(`role.${k.role}`)],
      [t("apikeys.prefix"), (k) => h("code", {}, `${k.prefix}…`)],
      [t("apikeys.last_used"), (k) => when(k.last_used_at)],
      [t("apikeys.expires"), (k) => (k.expires_at ? when(k.expires_at) : t("apikeys.never"))],
      [t("apikeys.created"), (k) => when(k.inserted_at)],
      ["", (k) => button(t("apikeys.revoke"), async () => {
        if (!(await confirmDialog(t("apikeys.revoke_confirm", { name: k.name }), { confirmLabel: t("apikeys.revoke") }))) return;
        await api("DELETE", `/api/v1/api-keys/${k.id}`);
        secret.replaceChildren();
        await drawList();
        toast(t("apikeys.revoked", { name: k.name }));
      }, { kind: "danger" })],
    ], keys, { caption: t("apikeys.live"), emptyText: t("apikeys.none") }));
  };
  const create = form([
    { name: "name", label: t("apikeys.name"), required: true, maxlength: 200, hint: t("apikeys.name_hint") },
    { name: "role", label: t("users.role"), type: "select", options: roles, value: "attendant" },
    { name: "expires_at", label: t("apikeys.expires"), type: "datetime-local", hint: t("apikeys.expires_hint") },
  ], async (v, element) => {
    const body = { name: v.name.trim(), role: v.role };
    if (v.expires_at) body.expires_at = zonedToUtc(v.expires_at);
    const created = (await api("POST", "/api/v1/api-keys", { api_key: body })).data;
    element.reset();
    await drawList();
    secret.replaceChildren(h("div", { class: "notice" },
      h("h3", { tabindex: "-1" }, t("apikeys.created_title", { name: created.name })),
      h("p", {}, t("apikeys.once")),
      h("p", {}, h("code", { class: "secret" }, created.key)),
      h("div", { class: "buttons" }, button(t("apikeys.copy"), () => copy(created.key)))));
    secret.querySelector("h3").focus();
  }, { submitLabel: t("apikeys.create") });
  await drawList();
  main.replaceChildren(section(t("apikeys.new"), create, secret), section(t("nav.apikeys"), list));
}
