// The e-mail outbox (managers and up): every message the clinic sent or will send, newest
// first, filtered by status and kind, with its attempts and last SMTP reply; and a test
// message sent at once through the configured SMTP server, with its outcome.
import { api } from "/console/lib/api.js";
import { h, section, form, table, badge, pager } from "/console/lib/dom.js";
import { t, when } from "/console/lib/i18n.js";

const STATUSES = ["queued", "sent", "failed", "skipped"];
const KINDS = ["appointment_confirmation", "appointment_rescheduled", "appointment_cancelled", "appointment_reminder", "access_link", "password_reset"];
const filters = { status: "", kind: "" };
const STATUS_LOOK = { sent: "ok", failed: "error" };

export default async function emails(main) {
  const list = h("div", { "aria-live": "polite" });
  const show = async (page = 1) => {
    const query = new URLSearchParams({ page: String(page) });
    if (filters.status) query.set("status", filters.status);
    if (filters.kind) query.set("kind", filters.kind);
    const { data, meta } = await api("GET", `/api/v1/emails?${query}`);
    list.replaceChildren(table([
      [t("emails.kind"), (e) => t(`emails.kind_${e.kind}`)],
      [t("emails.to"), (e) => e.to],
      [t("emails.subject"), (e) => e.subject],
      [t("common.status"), (e) => badge(t(`emails.status_${e.status}`), STATUS_LOOK[e.status] || "")],
      [t("emails.attempts"), (e) => e.attempts],
      [t("emails.last_error"), (e) => e.last_error || "—"],
      [t("emails.inserted_at"), (e) => when(e.inserted_at)],
      [t("emails.sent_at"), (e) => when(e.sent_at)],
    ], data, { caption: t("emails.outbox"), emptyText: t("emails.none") }), pager(meta, show));
  };
  const filter = form([
    { name: "status", label: t("common.status"), type: "select", value: filters.status, options: [["", t("emails.any")], ...STATUSES.map((s) => [s, t(`emails.status_${s}`)])] },
    { name: "kind", label: t("emails.kind"), type: "select", value: filters.kind, options: [["", t("emails.any")], ...KINDS.map((k) => [k, t(`emails.kind_${k}`)])] },
  ], async (v) => {
    Object.assign(filters, v);
    await show(1);
  }, { submitLabel: t("emails.show"), inline: true });

  const outcome = h("p", { class: "outcome", role: "status" });
  const test = form([
    { name: "to", label: t("emails.test_to"), type: "email", required: true, autocomplete: "email" },
  ], async (v) => {
    outcome.textContent = "";
    try {
      await api("POST", "/api/v1/emails/test", { to: v.to.trim() });
    } catch (error) {
      if (error.status === 422 && error.detail === "SMTP is not configured") error.detail = t("emails.smtp_off");
      else if (error.status === 502) error.detail = t("emails.smtp_failed", { reply: (error.detail || "").replace(/^SMTP error:\s*/, "") });
      throw error;
    }
    outcome.textContent = t("emails.test_sent", { to: v.to.trim() });
  }, { submitLabel: t("emails.send_test"), inline: true });

  await show(1);
  main.replaceChildren(section(t("nav.emails"), filter, list), section(t("emails.test"), h("p", { class: "muted" }, t("emails.test_hint")), test, outcome));
}
