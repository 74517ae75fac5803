// Outgoing webhooks (managers and up): subscribe a URL to events (the secret is shown
// once), send a ping, see each delivery with its attempts and send one again, pause or
// delete a subscription.
import { api, all } from "/console/lib/api.js";
import { h, section, form, table, button, badge, confirmDialog, toast, uid, copy } from "/console/lib/dom.js";
import { t, when } from "/console/lib/i18n.js";

const EVENTS = ["call.created", "call.assigned", "call.started", "call.completed", "call.missed", "customer.created",
  "appointment.created", "appointment.confirmed", "appointment.cancelled", "appointment.completed", "appointment.no_show", "appointment.overdue"];

export default async function webhooks(main, { render }) {
  const list = await all("/api/v1/webhooks");
  const detail = h("div", { "aria-live": "polite" });
  const groupId = uid("events");
  const events = h("fieldset", { class: "field events", "data-field": "events", "aria-describedby": `${groupId}-error` },
    h("legend", {}, t("webhooks.events")),
    EVENTS.map((e) => { const id = uid("ev"); return h("span", { class: "check" }, h("input", { type: "checkbox", id, value: e, class: "event", checked: true }), h("label", { for: id }, e)); }),
    h("span", { class: "field-error", id: `${groupId}-error` }));
  const create = form([
    { name: "url", label: t("webhooks.url"), type: "url", required: true, placeholder: "https://" },
    { name: "secret", label: t("webhooks.secret"), type: "password", autocomplete: "off", hint: t("webhooks.secret_hint") },
  ], async (v, element) => {
    const chosen = [...element.querySelectorAll("input.event:checked")].map((i) => i.value);
    const body = { url: v.url, events: chosen };
    if (v.secret) body.secret = v.secret;
    const created = (await api("POST", "/api/v1/webhooks", { webhook: body })).data;
    render();
    if (created.secret) {
      toast(t("webhooks.created"));
      await confirmDialog(t("webhooks.secret_once", { secret: created.secret }), { confirmLabel: t("common.copy") }).then((ok) => ok && copy(created.secret));
    }
  }, { submitLabel: t("webhooks.create"), extra: [events] });

  const deliveries = async (w) => {
    const rows = (await api("GET", `/api/v1/webhooks/${w.id}/deliveries?page_size=50`)).data;
    detail.replaceChildren(section(t("webhooks.deliveries_of", { url: w.url }), table([
      [t("webhooks.event"), (d) => d.event],
      [t("common.status"), (d) => badge(d.status, d.status === "delivered" ? "ok" : d.status === "failed" ? "error" : "")],
      [t("webhooks.attempts"), (d) => d.attempts],
      [t("webhooks.last_answer"), (d) => { const last = (d.attempt_log || []).at(-1); return last ? `${last.status_code ?? last.error ?? "—"} · ${when(last.inserted_at)}` : "—"; }],
      [t("webhooks.next_attempt"), (d) => when(d.next_attempt_at)],
      [t("webhooks.created_at"), (d) => when(d.inserted_at)],
      ["", (d) => button(t("webhooks.redeliver"), async () => {
        await api("POST", `/api/v1/webhooks/${w.id}/deliveries/${d.id}/redeliver`, {});
        toast(t("webhooks.redelivered", { event: d.event }));
        await deliveries(w);
      })],
    ], rows, { caption: t("webhooks.deliveries"), emptyText: t("webhooks.no_deliveries") })));
    detail.querySelector("h2").setAttribute("tabindex", "-1");
    detail.querySelector("h2").focus();
  };

  main.replaceChildren(
    section(t("nav.webhooks"), table([
      [t("webhooks.url"), (w) => h("code", { class: "url" }, w.url)],
      [t("webhooks.events"), (w) => h("span", { class: "muted" }, w.events.join(", "))],
      [t("common.status"), (w) => badge(w.active ? t("users.active") : t("webhooks.paused"), w.active ? "ok" : "")],
      ["", (w) => h("div", { class: "buttons" },
        button(t("webhooks.deliveries"), () => deliveries(w)),
        button(t("webhooks.ping"), async () => {
          const ping = (await api("POST", `/api/v1/webhooks/${w.id}/ping`, {})).data;
          toast(t("webhooks.pinged", { status: t(`webhooks.delivery_${ping.status}`) }));
          await deliveries(w);
        }),
        button(w.active ? t("webhooks.pause") : t("webhooks.resume"), async () => { await api("PUT", `/api/v1/webhooks/${w.id}`, { webhook: { active: !w.active } }); render(); }),
        button(t("common.delete"), async () => {
          if (!(await confirmDialog(t("webhooks.delete_confirm", { url: w.url }), { confirmLabel: t("common.delete") }))) return;
          await api("DELETE", `/api/v1/webhooks/${w.id}`);
          render();
        }, { kind: "danger" }))],
    ], list, { caption: t("nav.webhooks") })),
    detail,
    section(t("webhooks.new"), create));
}
