// Customers: search by name, e-mail or phone (digits are enough), edit, merge duplicates
// into one record (supervisors and up), export everything held about one as a JSON file
// and erase their personal data for good (managers and up).
import { api, download } from "/console/lib/api.js";
import { h, section, table, button, confirmDialog, toast, form } from "/console/lib/dom.js";
import { t, when, customerName, ERASED_CUSTOMER } from "/console/lib/i18n.js";
import { atLeast } from "/console/lib/state.js";

const view = { search: "", selected: new Set() };

export default async function customers(main, ctx) {
  // A phone number typed with punctuation is looked up by its digits.
  const phoneLike = /^[\d\s+().-]+$/.test(view.search) && view.search.replace(/\D/g, "").length >= 4;
  const term = phoneLike ? view.search.replace(/\D/g, "") : view.search;
  const query = term ? `&search=${encodeURIComponent(term)}` : "";
  const list = await api("GET", `/api/v1/customers?page_size=50${query}`);
  const rerender = () => customers(main, ctx);
  const search = h("form", { class: "row", role: "search", onsubmit: (e) => { e.preventDefault(); view.search = e.target.q.value.trim(); view.selected.clear(); rerender(); } },
    h("div", { class: "field" }, h("label", { for: "customer-search" }, t("customers.search")), h("input", { id: "customer-search", name: "q", type: "search", value: view.search })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("common.search"))));
  const merge = atLeast("supervisor") ? h("div", { class: "buttons" }, button(t("customers.merge"), async () => {
    const ids = [...view.selected];
    if (ids.length < 2) return toast(t("customers.merge_pick"), "error");
    const primary = list.data.find((c) => c.id === ids[0]);
    if (!(await confirmDialog(t("customers.merge_confirm", { n: ids.length - 1, name: primary?.name || "" }), { confirmLabel: t("customers.merge") }))) return;
    await api("POST", "/api/v1/customers/merge", { primary_id: ids[0], secondary_ids: ids.slice(1) });
    view.selected.clear();
    toast(t("customers.merged"));
    rerender();
  }), h("span", { class: "muted" }, t("customers.merge_hint"))) : null;
  const detail = h("div");
  main.replaceChildren(section(t("nav.customers"), search, merge, table([
    ...(atLeast("supervisor") ? [["", (c) => h("input", { type: "checkbox", "aria-label": t("customers.select", { name: customerName(c.name) }), checked: view.selected.has(c.id),
      onchange: (e) => { if (e.target.checked) view.selected.add(c.id); else view.selected.delete(c.id); } })]] : []),
    [t("customers.name"), (c) => customerName(c.name)],
    [t("customers.email"), (c) => c.email || "—"],
    [t("customers.phone"), (c) => c.phone || "—"],
    [t("customers.calls"), (c) => c.call_count],
    [t("customers.last_call"), (c) => when(c.last_call_at)],
    ["", (c) => h("div", { class: "buttons" },
      button(t("common.edit"), () => edit(detail, c, rerender)),
      atLeast("manager") ? button(t("customers.export"), async () => {
        await download(`/api/v1/customers/${c.id}/export`, `customer-${c.id}.json`);
        toast(t("customers.exported", { name: customerName(c.name) }));
      }) : null,
      atLeast("manager") && c.name !== ERASED_CUSTOMER ? button(t("customers.erase"), async () => {
        if (!(await confirmDialog(t("customers.erase_confirm", { name: c.name }), { confirmLabel: t("customers.erase") }))) return;
        await api("POST", `/api/v1/customers/${c.id}/erase`, {});
        toast(t("customers.erased"));
        rerender();
      }, { kind: "danger" }) : null)],
  ], list.data, { caption: t("nav.customers"), emptyText: view.search ? t("customers.none_found") : t("common.empty") })), detail);
}

function edit(holder, c, done) {
  holder.replaceChildren(section(t("customers.edit", { name: customerName(c.name) }), form([
    { name: "name", label: t("customers.name"), required: true, value: c.name },
    { name: "email", label: t("customers.email"), type: "email", value: c.email },
    { name: "phone", label: t("customers.phone"), type: "tel", value: c.phone },
    { name: "document", label: t("customers.document"), value: c.document },
    { name: "notes", label: t("customers.notes"), type: "textarea", value: c.notes },
  ], async (v) => {
    const body = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x === "" && k !== "name" ? null : x]));
    await api("PUT", `/api/v1/customers/${c.id}`, { customer: body });
    toast(t("common.saved"));
    done();
  })));
  holder.querySelector("input").focus();
}
