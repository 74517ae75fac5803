// Company settings (managers and up): name, contact, time zone, language of e-mails and
// patient pages, whether patients get appointment e-mails, welcome message for patients,
// branding, and whether staff must use MFA.
import { api } from "/console/lib/api.js";
import { h, section, form, toast } from "/console/lib/dom.js";
import { t, LANGUAGES } from "/console/lib/i18n.js";
import { state } from "/console/lib/state.js";

const zones = () => (Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : ["America/Sao_Paulo", "Europe/Paris", "UTC"]);

export default async function company(main) {
  const c = (await api("GET", "/api/v1/company")).data;
  const timezones = zones();
  if (c.timezone && !timezones.includes(c.timezone)) timezones.unshift(c.timezone);
  const fields = [
    { name: "name", label: t("company.name"), required: true, value: c.name },
    { name: "email", label: t("customers.email"), type: "email", value: c.email },
    { name: "phone", label: t("customers.phone"), type: "tel", value: c.phone },
    { name: "timezone", label: t("company.timezone"), type: "select", options: timezones.map((z) => [z, z]), value: c.timezone },
    { name: "locale", label: t("company.locale"), type: "select", options: LANGUAGES, value: c.locale },
    { name: "notify_customers", label: t("company.notify_customers"), type: "checkbox", value: c.notify_customers, hint: t("company.notify_customers_hint") },
    { name: "welcome_message", label: t("company.welcome"), type: "textarea", value: c.welcome_message, hint: t("company.welcome_hint") },
    { name: "logo_url", label: t("company.logo"), type: "url", value: c.logo_url, hint: t("company.logo_hint") },
    { name: "primary_color", label: t("company.color"), type: "color", value: c.primary_color || "#4f46e5" },
    { name: "mfa_required", label: t("company.mfa_required"), type: "checkbox", value: c.mfa_required, hint: t("company.mfa_hint") },
  ];
  main.replaceChildren(section(t("nav.company"), h("p", { class: "muted" }, `${t("company.slug")}: ${c.slug || ""}`), form(fields, async (v) => {
    const body = { ...v };
    for (const key of ["email", "phone", "welcome_message", "logo_url"]) if (body[key] === "") body[key] = null;
    state.company = (await api("PUT", "/api/v1/company", { company: body })).data;
    toast(t("common.saved"));
    location.reload();
  })));
}
