// The front desk and the patient's data rights, in headless Chromium against the real
// server. A receptionist (a supervisor who is not a member of the doctor's department)
// books for the doctor from the doctor's free times, finds the appointment on the week
// view, moves it an hour later, e-mails the join link to the patient and cancels with a
// reason; a supervisor is offered neither export nor erase. A manager then downloads
// everything held about the patient as a JSON file and erases the patient's personal data
// behind a confirmation that says it is irreversible; the calendar then names the patient
// as erased in the console's language. The customers and appointments
// screens pass axe-core in three languages, with a screenshot of each (1280×800).
// Prints the new start of the appointment (RFC 3339, UTC), then "OK", and exits 0 when
// every step worked.
//
// usage: node reception.mjs <base url> <tenant> <receptionist e-mail> <manager e-mail> <password>
//        <patient e-mail> <screenshot dir>
import { mkdirSync, readFileSync } from "node:fs";
import { start, login, language, go, within, fillForm, audit, strings, STEP_MS } from "./console-kit.mjs";

const [base, tenant, receptionistEmail, managerEmail, password, patientEmail, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const { page, step, finish } = await start(300);
const inDays = (n) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
const PATIENT = "Paciente Recepção";
const REASON = "A paciente viaja nessa semana";

const desk = await page("receptionist");
await step("the receptionist logs in", () => login(desk, base, tenant, receptionistEmail, password));

// ---- booking from the doctor's free times -------------------------------------------------------
await step("the receptionist books for the doctor from a free time", async () => {
  await go(desk, "appointments");
  const book = within(desk, "Book an appointment");
  await book.getByLabel("Department *").selectOption({ label: "Cardiologia" });
  await book.getByLabel("Agent of the appointment *").selectOption({ label: "Dr. Rui Prado" });
  await book.getByLabel("Day (free times)").fill(inDays(2));
  await book.locator(".slot-list button").nth(1).waitFor({ timeout: STEP_MS });
  await book.locator(".slot-list button").nth(1).click();
  if (!(await book.getByLabel("Date and time *").inputValue()).startsWith(inDays(2))) throw new Error("the free time did not fill the start");
  await fillForm(book, { "Title *": "Consulta de rotina", "Patient's name *": PATIENT, "E-mail": patientEmail });
  await book.getByRole("button", { name: "Book", exact: true }).click();
  await desk.getByText("Appointment booked.").waitFor({ timeout: STEP_MS });
});
await step("the week view shows it on the doctor's calendar", async () => {
  if ((await desk.locator("#agent-pick option:checked").textContent()) !== "Dr. Rui Prado") throw new Error("the calendar is not the doctor's");
  if ((await desk.locator(".toolbar [aria-pressed=true]").textContent()) !== "Week") throw new Error("not the week view");
  await desk.locator("table.calendar button.appt", { hasText: PATIENT }).waitFor({ timeout: STEP_MS });
  // The live figures received before the switch to English are written again in English.
  await desk.locator("#kpis", { hasText: /^\d+ waiting · / }).waitFor({ timeout: STEP_MS });
  await desk.evaluate(() => window.scrollTo(0, 0));
  await desk.screenshot({ path: `${shots}/appointments-reception-en.png` });
});

let moved;
await step("the receptionist moves it an hour later", async () => {
  await desk.locator("table.calendar button.appt", { hasText: PATIENT }).click();
  await desk.locator(".detail", { hasText: "Agent: Dr. Rui Prado" }).waitFor({ timeout: STEP_MS });
  const input = desk.getByLabel("New date and time *");
  const value = await input.inputValue();
  const later = `${value.slice(0, 11)}${String(Number(value.slice(11, 13)) + 1).padStart(2, "0")}${value.slice(13)}`;
  await input.fill(later);
  await desk.getByRole("button", { name: "Reschedule" }).click();
  await desk.getByText("Appointment rescheduled.").waitFor({ timeout: STEP_MS });
  // The console's own conversion from the company's wall clock, for the API check.
  moved = await desk.evaluate(async (local) => (await import("/console/lib/i18n.js")).zonedToUtc(local), later);
  const shown = await desk.locator("table.calendar button.appt", { hasText: PATIENT }).locator(".time").textContent();
  const time = await desk.evaluate(async (iso) => (await import("/console/lib/i18n.js")).timeOnly(iso), moved);
  if (shown !== time) throw new Error(`the calendar shows ${shown}, not ${time}`);
});

await step("the receptionist e-mails the join link to the patient", async () => {
  await desk.locator("table.calendar button.appt", { hasText: PATIENT }).click();
  await desk.locator(".detail").getByRole("button", { name: "Send the join link by e-mail" }).click();
  const send = desk.locator(".detail .send-link");
  if ((await send.getByLabel("E-mail address").inputValue()) !== patientEmail) throw new Error("the address is not the patient's");
  await send.getByRole("button", { name: "Send", exact: true }).click();
  await send.getByText(`E-mail to ${patientEmail} written to the outbox`).waitFor({ timeout: STEP_MS });
  await audit(desk, "appointment with the send form");
});

await step("the receptionist cancels it with a reason", async () => {
  await desk.locator("table.calendar button.appt", { hasText: PATIENT }).click();
  await desk.locator(".detail").getByRole("button", { name: "Cancel the appointment" }).click();
  await desk.locator("dialog textarea").fill(REASON);
  await desk.locator("dialog").getByRole("button", { name: "Cancel the appointment" }).click();
  await desk.getByText("Appointment cancelled.").waitFor({ timeout: STEP_MS });
  await desk.locator("table.calendar button.appt.cancelled", { hasText: PATIENT }).click();
  await desk.locator(".detail", { hasText: REASON }).waitFor({ timeout: STEP_MS });
});

await step("a supervisor may neither export nor erase a patient", async () => {
  await go(desk, "customers");
  const row = within(desk, "Patients").getByRole("row", { name: new RegExp(PATIENT) });
  await row.getByRole("button", { name: "Edit" }).waitFor({ timeout: STEP_MS });
  if (await row.getByRole("button", { name: /^(Export|Erase)$/ }).count()) throw new Error("a supervisor is offered export or erase");
});

// ---- the patient's data rights --------------------------------------------------------------
const manager = await page("manager");
await step("the manager downloads everything held about the patient", async () => {
  await login(manager, base, tenant, managerEmail, password);
  await go(manager, "customers");
  const row = within(manager, "Patients").getByRole("row", { name: new RegExp(PATIENT) });
  const [file] = await Promise.all([manager.waitForEvent("download", { timeout: STEP_MS }), row.getByRole("button", { name: "Export" }).click()]);
  if (!/^customer-[0-9a-f-]{36}\.json$/.test(file.suggestedFilename())) throw new Error(`the file is named ${file.suggestedFilename()}`);
  const { data } = JSON.parse(readFileSync(await file.path(), "utf8"));
  if (data.customer.name !== PATIENT || data.customer.email !== patientEmail) throw new Error(`the export is of ${data.customer.name}`);
  if (file.suggestedFilename() !== `customer-${data.customer.id}.json`) throw new Error("the file is not named by the customer's id");
  if (data.appointments.length !== 1 || data.appointments[0].cancel_reason !== REASON) throw new Error("the export lacks the appointment");
  await manager.getByText(`The data of ${PATIENT} was downloaded as a JSON file.`).waitFor({ timeout: STEP_MS });
});
await step("erasing asks first and says it cannot be undone", async () => {
  const row = within(manager, "Patients").getByRole("row", { name: new RegExp(PATIENT) });
  await row.getByRole("button", { name: "Erase" }).click();
  const dialog = manager.locator("dialog");
  await dialog.getByText(/This is irreversible\.$/).waitFor({ timeout: STEP_MS });
  await audit(manager, "the erase confirmation");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  if ((await within(manager, "Patients").getByRole("row", { name: new RegExp(PATIENT) }).count()) !== 1) throw new Error("cancelling erased the patient");
});
await step("the manager erases the patient's personal data", async () => {
  const row = within(manager, "Patients").getByRole("row", { name: new RegExp(PATIENT) });
  await row.getByRole("button", { name: "Erase" }).click();
  await manager.locator("dialog").getByRole("button", { name: "Erase" }).click();
  await manager.getByText("Personal data erased.").waitFor({ timeout: STEP_MS });
  const erased = within(manager, "Patients").getByRole("row", { name: /Erased customer/ });
  await erased.waitFor({ timeout: STEP_MS });
  if ((await within(manager, "Patients").getByRole("row", { name: new RegExp(PATIENT) }).count()) !== 0) throw new Error("the name is still shown");
  if ((await erased.getByRole("cell", { name: patientEmail }).count()) !== 0) throw new Error("the e-mail is still shown");
  if (await erased.getByRole("button", { name: "Erase" }).count()) throw new Error("an erased record offers erase again");
});
await step("the erased patient is named in the console's language on the calendar too", async () => {
  await language(desk, "pt-BR", "Português (Brasil)");
  await go(desk, "appointments");
  await desk.locator("table.calendar button.appt.cancelled", { hasText: "Paciente apagado" }).waitFor({ timeout: STEP_MS });
  if (await desk.locator("table.calendar button.appt", { hasText: /Erased customer|Paciente Recepção/ }).count()) throw new Error("the calendar shows the English marker or the erased name");
  await language(desk, "en", "English");
});

// ---- both screens in three languages ---------------------------------------------------------
const PREFIXES = "app|nav|role|common|appointments|appointment|customers|links|link|emails|calls|err";
for (const [code, label] of [["pt-BR", "Português (Brasil)"], ["fr", "Français"], ["en", "English"]]) {
  await step(`the console switches to ${code}`, () => language(manager, code, label));
  for (const view of ["customers", "appointments"]) {
    await step(`${view} in ${code}`, async () => {
      await go(manager, view);
      await manager.waitForTimeout(300);
      await strings(manager, `${view} (${code})`, PREFIXES);
      await audit(manager, `${view} (${code})`);
      await manager.screenshot({ path: `${shots}/${view}-manager-${code}.png` });
    });
  }
}

console.log(moved);
await finish();
