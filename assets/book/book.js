// The patient's booking page: pick a day, a time (and optionally the professional), give
// name and e-mail, book. A time taken meanwhile (409) offers the next free ones.
import { $, SlotPicker, api, chooseLanguage, clock, t, token, translate } from "/book-assets/common.js";

const base = `/api/v1/book/${encodeURIComponent(token)}`;
const show = (...ids) => {
  for (const id of ["invalid", "pick", "details", "done"]) $(id).hidden = !ids.includes(id);
};

let info;
let picker;
let chosen = null;
let format;

function choose(slot, agent) {
  chosen = { start: slot.start, user_id: agent };
  $("chosen").textContent = format.long(slot.start);
  $("taken").hidden = true;
  show("pick", "details");
}

async function offerNext(after) {
  await picker.refresh();
  const next = picker.after(after);
  $("next-slots").replaceChildren(
    ...next.map((slot) => {
      const button = document.createElement("button");
      Object.assign(button, { type: "button", className: "chip", textContent: format.long(slot.start) });
      button.dataset.start = slot.start;
      button.addEventListener("click", () => choose(slot, chosen?.user_id ?? null));
      return button;
    }),
  );
  $("taken").hidden = false;
  $("details").hidden = true;
  $("taken").scrollIntoView?.({ block: "nearest" });
}

async function book(event) {
  event.preventDefault();
  if (!chosen) return;
  const form = new FormData(event.target);
  const body = { start: chosen.start, name: form.get("name"), email: form.get("email") };
  for (const field of ["phone", "notes"]) if (form.get(field)) body[field] = form.get(field);
  if (chosen.user_id) body.user_id = chosen.user_id;
  const button = event.target.querySelector("button[type=submit]");
  button.disabled = true;
  button.textContent = t("booking");
  $("book-error").hidden = true;
  try {
    const booked = await api("POST", base, body);
    $("done-when").textContent = format.long(booked.scheduled_at);
    $("manage-link").href = booked.manage_url;
    $("call-link").href = booked.call_url;
    show("done");
  } catch (error) {
    if (error.status === 409) {
      await offerNext(chosen.start);
    } else {
      const fields = error.json?.errors && typeof error.json.errors === "object" ? Object.values(error.json.errors).flat() : [];
      $("book-error").textContent = error.status === 422 && fields.length ? fields.join(" · ") : t("error");
      $("book-error").hidden = false;
    }
  } finally {
    button.disabled = false;
    button.textContent = t("book");
  }
}

async function start() {
  try {
    info = await api("GET", base);
  } catch {
    translate(chooseLanguage(null));
    show("invalid");
    return;
  }
  translate(chooseLanguage(info.locale));
  format = clock(info.timezone);
  document.title = `${info.department_name} · ${info.company_name}`;
  $("company").textContent = info.company_name;
  $("department").textContent = info.department_name;
  if (info.welcome_message) Object.assign($("welcome"), { textContent: info.welcome_message, hidden: false });
  picker = new SlotPicker({
    root: $("picker"),
    timezone: info.timezone,
    agentFilter: true,
    load: (from, to) => api("GET", from ? `${base}/slots?date_from=${from}&date_to=${to}` : `${base}/slots`),
    onPick: choose,
  });
  await picker.refresh();
  $("book-form").addEventListener("submit", book);
  show("pick");
}

start();
