// Access links: create one for a department (optionally for a patient, reusable), copy
// its address, send it by e-mail (to the patient's address or another), cancel it.
import { api, all } from "/console/lib/api.js";
import { h, section, form, table, button, badge, confirmDialog, toast, compact, copy } from "/console/lib/dom.js";
import { t, when, zonedToUtc, customerName } from "/console/lib/i18n.js";

export default async function links(main, { render }) {
  const [list, departments] = await Promise.all([
    api("GET", "/api/v1/access-links?page_size=50"),
    all("/api/v1/departments?active=true"),
  ]);
  const create = form([
    { name: "department_id", label: t("calls.department"), type: "select", required: true, options: departments.map((d) => [d.id, d.name]) },
    { name: "customer_name", label: t("customers.name") },
    { name: "customer_email", label: t("customers.email"), type: "email" },
    { name: "customer_phone", label: t("customers.phone"), type: "tel" },
    { name: "expires_at", label: t("links.expires"), type: "datetime-local", hint: t("links.expires_hint") },
    { name: "reusable", label: t("links.reusable"), type: "checkbox" },
  ], async (v) => {
    const link = compact({ ...v, expires_at: v.expires_at ? zonedToUtc(v.expires_at) : "" });
    const created = (await api("POST", "/api/v1/access-links", { link })).data;
    await copy(created.url).catch(() => {});
    toast(t("links.created"));
    render();
  }, { submitLabel: t("links.create") });
  const detail = h("div");
  const sendForm = (l) => {
    const outcome = h("p", { role: "status" });
    const send = form([
      { name: "email", label: t("links.send_to"), type: "email", value: l.customer_email || "", autocomplete: "off", hint: t("links.send_hint") },
    ], async (v) => {
      outcome.textContent = "";
      const email = (await api("POST", `/api/v1/access-links/${l.id}/send`, v.email.trim() ? { email: v.email.trim() } : {})).data;
      outcome.textContent = t("links.sent", { to: email.to, status: t(`emails.status_${email.status}`) });
    }, { submitLabel: t("links.send"), inline: true });
    detail.replaceChildren(section(t("links.send_title", { name: customerName(l.customer_name) || l.department_name }), send, outcome));
    detail.querySelector("input").focus();
  };
  main.replaceChildren(
    section(t("links.new"), create),
    section(t("nav.links"), table([
      [t("links.url"), (l) => h("code", { class: "url" }, l.url)],
      [t("calls.department"), (l) => l.department_name],
      [t("calls.patient"), (l) => customerName(l.customer_name) || "—"],
      [t("common.status"), (l) => [badge(t(`link.status_${l.status}`)), l.reusable ? badge(t("links.reusable")) : null]],
      [t("links.expires"), (l) => when(l.expires_at)],
      ["", (l) => (l.status === "active" ? h("div", { class: "buttons" },
        button(t("common.copy"), () => copy(l.url)),
        button(t("links.send_by_email"), () => sendForm(l)),
        button(t("links.cancel"), async () => {
          if (!(await confirmDialog(t("links.cancel_confirm"), { confirmLabel: t("links.cancel") }))) return;
          await api("POST", `/api/v1/access-links/${l.id}/cancel`, {});
          toast(t("links.cancelled"));
          render();
        }, { kind: "danger" })) : null)],
    ], list.data, { caption: t("nav.links") })),
    detail);
}
