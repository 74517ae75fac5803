// One's own account: name and language, password, working hours, and MFA enrolment with
// the QR code drawn in the page (the secret never leaves it).
import { api } from "/console/lib/api.js";
import { h, section, form, field, toast } from "/console/lib/dom.js";
import { t, LANGUAGES } from "/console/lib/i18n.js";
import { state } from "/console/lib/state.js";
import { getSession, saveSession } from "/console/lib/api.js";
import { hoursEditor } from "/console/views/hours.js";
import qrcode from "/vendor/qrcode.mjs";

/// The QR code of `text` as an SVG drawing (black modules on white, with a quiet zone).
export function qrSvg(text, label) {
  const code = qrcode(0, "M");
  code.addData(text);
  code.make();
  const count = code.getModuleCount();
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `-4 -4 ${count + 8} ${count + 8}`);
  svg.setAttribute("class", "qr");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const background = document.createElementNS(NS, "rect");
  Object.entries({ x: -4, y: -4, width: count + 8, height: count + 8, fill: "#fff" }).forEach(([k, v]) => background.setAttribute(k, v));
  svg.append(background);
  let d = "";
  for (let y = 0; y < count; y += 1) for (let x = 0; x < count; x += 1) if (code.isDark(y, x)) d += `M${x} ${y}h1v1h-1z`;
  const path = document.createElementNS(NS, "path");
  path.setAttribute("d", d);
  path.setAttribute("fill", "#000");
  svg.append(path);
  return svg;
}

export default async function account(main, { render }) {
  const me = (await api("GET", "/api/v1/users/me")).data;
  state.me = me;
  const profile = form([
    { name: "name", label: t("users.name"), required: true, value: me.name },
    { name: "locale", label: t("app.language"), type: "select", options: [["", t("users.locale_company")], ...LANGUAGES], value: me.locale || "" },
  ], async (v) => {
    state.me = (await api("PUT", "/api/v1/users/me", { user: { name: v.name, locale: v.locale || null } })).data;
    toast(t("common.saved"));
    if (v.locale) localStorage.setItem("voki.language", v.locale);
    location.reload();
  });
  const password = form([
    field({ name: "current_password", label: t("account.current_password"), type: "password", required: true, autocomplete: "current-password" }),
    field({ name: "new_password", label: t("users.new_password"), type: "password", required: true, autocomplete: "new-password", hint: t("users.password_hint") }),
  ], async (v, element) => {
    await api("PUT", "/api/v1/users/me/password", v);
    element.reset();
    toast(t("users.password_set"));
  }, { submitLabel: t("account.change_password") });

  const mfa = h("div", { "aria-live": "polite" });
  const drawMfa = () => {
    if (state.me.mfa_enabled) {
      mfa.replaceChildren(h("p", {}, t("account.mfa_on")), form([field({ name: "code", label: t("account.code"), required: true, inputmode: "numeric", autocomplete: "one-time-code" })], async (v) => {
        await api("POST", "/api/v1/users/me/mfa/disable", { code: v.code.trim() });
        state.me = { ...state.me, mfa_enabled: false };
        toast(t("account.mfa_disabled"));
        drawMfa();
      }, { submitLabel: t("account.mfa_disable") }));
      return;
    }
    mfa.replaceChildren(h("p", {}, t("account.mfa_off")), h("button", { type: "button", onclick: async () => {
      const setup = (await api("POST", "/api/v1/users/me/mfa/setup", {})).data;
      mfa.replaceChildren(
        h("ol", {}, h("li", {}, t("account.mfa_step_scan")), h("li", {}, t("account.mfa_step_code"))),
        h("div", { class: "qr-box" }, qrSvg(setup.otpauth_url, t("account.qr_label")),
          h("p", {}, t("account.mfa_secret"), " ", h("code", { class: "secret" }, setup.secret))),
        form([field({ name: "code", label: t("account.code"), required: true, inputmode: "numeric", autocomplete: "one-time-code" })], async (v) => {
          await api("POST", "/api/v1/users/me/mfa/enable", { code: v.code.trim() });
          state.me = { ...state.me, mfa_enabled: true };
          if (getSession().mfa_setup_required) {
            saveSession({ ...getSession(), mfa_setup_required: false });
            toast(t("account.mfa_enabled_relogin"));
          } else toast(t("account.mfa_enabled"));
          drawMfa();
          render();
        }, { submitLabel: t("account.mfa_enable") }));
      mfa.querySelector("input").focus();
    } }, t("account.mfa_start")));
  };
  drawMfa();
  const hours = await hoursEditor({ id: me.id, name: me.name });
  main.replaceChildren(
    getSession().mfa_setup_required && !me.mfa_enabled ? h("p", { class: "notice", role: "alert" }, t("account.mfa_required")) : h("span"),
    section(t("account.profile"), h("p", { class: "muted" }, `${me.email} · ${t(`role.${me.role}`)}${me.provider_name ? ` · ${me.provider_name}` : ""}`), profile),
    section(t("account.password"), password),
    section(t("hours.title"), hours),
    section(t("account.mfa"), mfa));
}
