// The console's small component set: element builder, tables with empty states and a
// pager, a loading indicator, a live region for toasts, a confirm dialog, buttons that
// show they are busy, and forms that put the server's 422 messages next to their fields.
import { t, message } from "/console/lib/i18n.js";

export const $ = (selector, root = document) => root.querySelector(selector);

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key.startsWith("on") && typeof value === "function") element.addEventListener(key.slice(2), value);
    else if (key === "value" && "value" in element) element.value = value ?? "";
    else if (key === "checked") element.checked = !!value;
    else if (value === true) element.setAttribute(key, "");
    else if (value !== false && value != null) element.setAttribute(key, value);
  }
  element.append(...children.flat(Infinity).filter((c) => c != null && c !== false).map((c) => (c instanceof Node ? c : String(c))));
  return element;
}

let ids = 0;
export const uid = (prefix = "f") => `${prefix}-${(ids += 1)}`;

export const empty = (text = t("common.empty")) => h("p", { class: "empty" }, text);
export const loading = () => h("p", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), t("common.loading"));

/// A table with a caption (for screen readers) and an empty state.
export function table(columns, rows, { caption, emptyText } = {}) {
  if (!rows.length) return empty(emptyText);
  // A wide table scrolls inside its box, which must then be reachable by keyboard.
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption || null }, h("table", {},
    caption ? h("caption", { class: "sr-only" }, caption) : null,
    h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", { scope: "col" }, title)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row))))))));
}

export const section = (title, ...children) => h("section", {}, h("h2", {}, title), ...children);
export const badge = (text, kind = "") => h("span", { class: `badge ${kind}` }, text);

/// Announces `text` in the polite live region and shows it briefly.
export function toast(text, kind = "info") {
  const region = document.getElementById(kind === "error" ? "alerts" : "live");
  const note = h("div", { class: `toast ${kind}` }, text);
  region.append(note);
  setTimeout(() => note.remove(), 7000);
}

export function failure(error) {
  toast(error?.fields ? Object.entries(error.fields).map(([f, m]) => `${f}: ${[].concat(m).map(message).join(", ")}`).join("; ")
    : error?.message || String(error), "error");
}

/// A button that runs `run`, disabled and marked busy meanwhile; errors become a toast.
export function button(label, run, { kind = "secondary", title, pressed } = {}) {
  const element = h("button", { type: "button", class: kind, title, "aria-pressed": pressed == null ? null : String(pressed) }, label);
  element.addEventListener("click", async () => {
    element.disabled = true;
    element.setAttribute("aria-busy", "true");
    try {
      await run(element);
    } catch (error) {
      failure(error);
    } finally {
      element.disabled = false;
      element.removeAttribute("aria-busy");
    }
  });
  return element;
}

/// Asks before a destructive action; with `reason`, also asks for a text. Resolves to
/// false (cancelled) or `{reason}`.
export function confirmDialog(text, { confirmLabel = t("common.confirm"), reason = false } = {}) {
  return new Promise((resolve) => {
    const reasonId = uid("reason");
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": `${reasonId}-title` },
      h("form", { method: "dialog" },
        h("h2", { id: `${reasonId}-title` }, text),
        reason ? h("label", { for: reasonId }, t("common.reason"), h("textarea", { id: reasonId, name: "reason", rows: 2, maxlength: 500 })) : null,
        h("div", { class: "buttons" },
          h("button", { value: "no", class: "secondary", type: "submit" }, t("common.cancel")),
          h("button", { value: "yes", class: "danger", type: "submit" }, confirmLabel))));
    document.body.append(dialog);
    dialog.addEventListener("close", () => {
      const ok = dialog.returnValue === "yes";
      const value = ok ? { reason: dialog.querySelector("textarea")?.value.trim() || "" } : false;
      dialog.remove();
      resolve(value);
    });
    dialog.showModal();
    dialog.querySelector("button[value=no]").focus();
  });
}

/// One labelled field. `type`: text (default), email, password, number, date,
/// datetime-local, textarea, select (`options: [[value, label]]`), checkbox, color.
export function field({ name, label, type = "text", value, required, options = [], hint, ...rest }) {
  const id = uid(name);
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const common = { id, name, required, "aria-describedby": [hintId, errorId].filter(Boolean).join(" "), ...rest };
  let input;
  if (type === "textarea") input = h("textarea", { ...common, rows: 3 }, value ?? "");
  else if (type === "select") input = h("select", common, options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value ?? "") }, text)));
  else if (type === "checkbox") input = h("input", { ...common, type, checked: !!value });
  else input = h("input", { ...common, type, value: value ?? "" });
  const hintLine = hint ? h("span", { class: "hint", id: hintId }, hint) : null;
  const error = h("span", { class: "field-error", id: errorId });
  if (type === "checkbox") return h("div", { class: "field check", "data-field": name }, input, h("label", { for: id }, label), hintLine, error);
  return h("div", { class: "field", "data-field": name }, h("label", { for: id }, label, required ? h("span", { "aria-hidden": "true" }, " *") : null), input, hintLine, error);
}

/// The values of a form's named fields (checkboxes as booleans, empty strings kept).
export function values(form) {
  const out = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    if (element.type === "checkbox") out[element.name] = element.checked;
    else if (element.multiple) out[element.name] = [...element.selectedOptions].map((o) => o.value);
    else out[element.name] = element.value;
  }
  return out;
}

/// Shows a failed submit in the form: each 422 message next to its field (aria-invalid,
/// described by the message), anything else in the form's alert line.
export function showErrors(form, error) {
  clearErrors(form);
  const general = form.querySelector(".form-error");
  const lost = [];
  for (const [name, messages] of Object.entries(error.fields || {})) {
    const key = name.split(".").pop();
    const holder = form.querySelector(`[data-field="${name}"]`) || form.querySelector(`[data-field="${key}"]`);
    const text = [].concat(messages).map(message).join(" ");
    if (!holder) {
      lost.push(`${name}: ${text}`);
      continue;
    }
    holder.querySelector(".field-error").textContent = text;
    holder.querySelector("input, select, textarea")?.setAttribute("aria-invalid", "true");
  }
  if (error.detail || lost.length || !error.fields) general.textContent = [error.detail || (!error.fields ? error.message : null), ...lost].filter(Boolean).join(" ");
  (form.querySelector("[aria-invalid=true]") || general).focus?.();
}

export function clearErrors(form) {
  for (const element of form.querySelectorAll(".field-error")) element.textContent = "";
  for (const element of form.querySelectorAll("[aria-invalid]")) element.removeAttribute("aria-invalid");
  form.querySelector(".form-error").textContent = "";
}

/// A form of `fields` whose submit runs `submit(values)`; the submit button shows it is
/// busy, and errors land next to their fields.
export function form(fields, submit, { submitLabel = t("common.save"), inline = false, extra = [] } = {}) {
  const element = h("form", { class: inline ? "row" : "stack", novalidate: true },
    fields.map((f) => (f instanceof Node ? f : field(f))),
    extra,
    h("div", { class: "actions" }, h("button", { type: "submit" }, submitLabel)),
    h("p", { class: "form-error", role: "alert", tabindex: "-1" }));
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submitButton = element.querySelector("button[type=submit]");
    clearErrors(element);
    const missing = [...element.elements].filter((e) => e.required && !String(e.value).trim());
    if (missing.length) {
      for (const input of missing) {
        input.closest(".field").querySelector(".field-error").textContent = message("can't be blank");
        input.setAttribute("aria-invalid", "true");
      }
      missing[0].focus();
      return;
    }
    submitButton.disabled = true;
    submitButton.setAttribute("aria-busy", "true");
    try {
      await submit(values(element), element);
    } catch (error) {
      showErrors(element, error);
    } finally {
      submitButton.disabled = false;
      submitButton.removeAttribute("aria-busy");
    }
  });
  return element;
}

/// Copies `text` to the clipboard (falls back to selecting it).
export async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = h("textarea", { class: "sr-only" }, text);
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  toast(t("common.copied"));
}

/// Only the non-empty values of `object` (optional fields left blank are not sent).
export const compact = (object) => Object.fromEntries(Object.entries(object).filter(([, v]) => v !== "" && v != null));

/// Previous / next for a paginated list (`meta` of the envelope); `show(page)` draws a page.
/// Nothing (an empty fragment) for a single page.
export function pager(meta, show) {
  if (!meta || meta.total_pages <= 1) return document.createDocumentFragment();
  const page = meta.current_page;
  return h("nav", { class: "buttons pager", "aria-label": t("common.pages") },
    page > 1 ? button(t("common.previous_page"), () => show(page - 1)) : null,
    h("span", { class: "muted" }, t("common.page_of", { page, pages: meta.total_pages, count: meta.total_count })),
    page < meta.total_pages ? button(t("common.next_page"), () => show(page + 1)) : null);
}
