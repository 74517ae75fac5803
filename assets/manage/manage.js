// The page of a patient's manage link: see the appointment, move it to another free time
// of the same professional, or cancel it, until the clinic's minimum notice.
import { $, SlotPicker, api, chooseLanguage, clock, t, token, translate } from "/book-assets/common.js";

const base = `/api/v1/manage/${encodeURIComponent(token)}`;
let format;
let picker = null;
let chosen = null;
let timezone = "UTC";

function render(view) {
  $("title").textContent = view.title;
  $("when").textContent = format.long(view.scheduled_at);
  $("with").textContent = view.user_name;
  $("department").textContent = view.department_name;
  $("status").textContent = t(`status_${view.status}`);
  const open = view.status === "scheduled" || view.status === "confirmed";
  $("reschedule").hidden = !view.can_change;
  $("cancel").hidden = !view.can_change;
  $("too-late").hidden = view.can_change || !open;
  if (view.call_url && open) Object.assign($("call-link"), { href: view.call_url, hidden: false });
  else $("call-link").hidden = true;
  $("view").hidden = false;
}

function fail(error) {
  $("error").textContent = error.message === "too late to change" ? t("too_late") : t("error");
  $("error").hidden = false;
}

async function openPicker() {
  $("error").hidden = true;
  $("move").hidden = false;
  $("cancel-confirm").hidden = true;
  chosen = null;
  $("move-confirm").disabled = true;
  $("chosen").textContent = "";
  picker ??= new SlotPicker({
    root: $("picker"),
    timezone,
    load: (from, to) => api("GET", from ? `${base}/slots?date_from=${from}&date_to=${to}` : `${base}/slots`),
    onPick: (slot) => {
      chosen = slot;
      $("chosen").textContent = format.long(slot.start);
      $("move-confirm").disabled = false;
      $("taken").hidden = true;
    },
  });
  await picker.refresh();
}

async function move() {
  if (!chosen) return;
  try {
    const view = await api("POST", `${base}/reschedule`, { start: chosen.start });
    $("move").hidden = true;
    $("moved").hidden = false;
    render(view);
  } catch (error) {
    if (error.status === 409) {
      $("taken").hidden = false;
      chosen = null;
      $("move-confirm").disabled = true;
      await picker.refresh();
    } else {
      fail(error);
    }
  }
}

async function cancel(event) {
  event.preventDefault();
  const reason = new FormData(event.target).get("reason");
  try {
    const view = await api("POST", `${base}/cancel`, reason ? { reason } : {});
    $("cancel-confirm").hidden = true;
    $("title").textContent = t("cancelled_title");
    render(view);
    $("title").textContent = `${t("cancelled_title")} — ${view.title}`;
  } catch (error) {
    fail(error);
  }
}

async function start() {
  let view;
  try {
    view = await api("GET", base);
  } catch {
    translate(chooseLanguage(null));
    $("invalid").hidden = false;
    return;
  }
  translate(chooseLanguage(view.locale));
  timezone = view.timezone;
  format = clock(timezone);
  render(view);
  $("reschedule").addEventListener("click", openPicker);
  $("move-confirm").addEventListener("click", move);
  $("cancel").addEventListener("click", () => {
    $("move").hidden = true;
    $("cancel-confirm").hidden = false;
  });
  $("keep").addEventListener("click", () => ($("cancel-confirm").hidden = true));
  $("cancel-form").addEventListener("submit", cancel);
}

start();
