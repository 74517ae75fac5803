// The console alone, in headless Chromium, against the real server: the seed guide's flow
// (the owner creates the department, the service provider and the doctor's user,
// associates them, adds the doctor to the department and issues a link; the doctor logs in
// and holds the call, which shows the provider, with chat, mute and hang-up on both
// sides; the per-provider report shows it), booking for the doctor on the week view,
// rescheduling and cancelling with a reason, inline 422 messages, the test e-mail without
// SMTP; then every view in the three languages without a missing string and with no
// serious or critical axe-core violation, and a screenshot of each (1280×800, the patient
// page at 390×844); the patient page without the clinic's language speaks the browser's.
// Prints "OK" and exits 0 when every step worked.
//
// usage: node console.mjs <base url> <tenant> <owner e-mail> <owner password> <screenshot dir>
import { mkdirSync } from "node:fs";
import { start, login as logIn, language, go, within, fillForm, audit, strings, STEP_MS } from "./console-kit.mjs";

const [base, tenant, ownerEmail, ownerPassword, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
// Real (fake-device) video between the two pages.
const { page, step, finish } = await start(420, [
  "--disable-quic", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required",
  "--disable-features=WebRtcHideLocalIpsWithMdns", "--allow-loopback-in-peer-connection",
]);
const login = (p, email, password) => logIn(p, base, tenant, email, password);

// ---- the owner sets the clinic up --------------------------------------------------------
const owner = await page("owner");
await step("the owner logs in", () => login(owner, ownerEmail, ownerPassword));

await step("the owner creates the department", async () => {
  await go(owner, "departments");
  const create = within(owner, "New department");
  await fillForm(create, { "Name *": "Clínica Geral" });
  await create.getByRole("button", { name: "Create the department" }).click();
  await within(owner, "Departments").getByText("Clínica Geral").waitFor({ timeout: STEP_MS });
});

await step("a bad CNPJ is shown next to its field", async () => {
  await go(owner, "providers");
  const create = within(owner, "New service provider");
  await fillForm(create, { "Name *": "ABC Hospital", "CNPJ or CPF *": "123" });
  await create.getByRole("button", { name: "Create the provider" }).click();
  await create.locator("[data-field=document] .field-error").filter({ hasText: /\S/ }).waitFor({ timeout: STEP_MS });
  if ((await create.getByLabel("CNPJ or CPF *").getAttribute("aria-invalid")) !== "true") throw new Error("the field is not marked invalid");
});

await step("the owner creates the service provider", async () => {
  const create = within(owner, "New service provider");
  await fillForm(create, { "CNPJ or CPF *": "12.345.678/0001-90", "E-mail": "contato@abc.test" });
  await create.getByRole("button", { name: "Create the provider" }).click();
  await within(owner, "Service providers").getByText("ABC Hospital").waitFor({ timeout: STEP_MS });
});

await step("the owner creates the doctor's user", async () => {
  await go(owner, "users");
  const create = within(owner, "New user");
  await fillForm(create, { "Name *": "Dr. João Lima", "E-mail *": "joao@clinic.test", "Password *": "doctor-password-1" });
  await create.getByLabel("Role").selectOption("attendant");
  await create.getByRole("button", { name: "Create the user" }).click();
  await within(owner, "Users").getByText("Dr. João Lima").waitFor({ timeout: STEP_MS });
});

await step("a taken e-mail is shown next to its field", async () => {
  const create = within(owner, "New user");
  await fillForm(create, { "Name *": "Someone", "E-mail *": "joao@clinic.test", "Password *": "doctor-password-1" });
  await create.getByRole("button", { name: "Create the user" }).click();
  await create.locator("[data-field=email] .field-error", { hasText: "Already in use." }).waitFor({ timeout: STEP_MS });
  await fillForm(create, { "Name *": "", "E-mail *": "", "Password *": "" });
});

await step("the owner associates the doctor with the provider", async () => {
  await go(owner, "providers");
  await within(owner, "Service providers").getByRole("button", { name: "Open" }).click();
  const detail = within(owner, "ABC Hospital");
  await detail.getByLabel("User to associate").selectOption({ label: "Dr. João Lima (joao@clinic.test)" });
  await detail.getByRole("button", { name: "Associate", exact: true }).click();
  await within(owner, "ABC Hospital").getByRole("cell", { name: "joao@clinic.test" }).waitFor({ timeout: STEP_MS });
});

await step("the owner adds the doctor to the department", async () => {
  await go(owner, "departments");
  await within(owner, "Departments").getByRole("button", { name: "Edit" }).click();
  const detail = within(owner, "Department Clínica Geral");
  await detail.getByLabel("Add a member").selectOption({ label: "Dr. João Lima (Attendant)" });
  await detail.getByRole("button", { name: "Add", exact: true }).click();
  await within(owner, "Department Clínica Geral").getByRole("cell", { name: "ABC Hospital" }).waitFor({ timeout: STEP_MS });
});

let linkUrl;
await step("the owner issues an access link", async () => {
  await go(owner, "links");
  const create = within(owner, "New access link");
  await fillForm(create, { "Patient's name": "Maria Paciente" });
  await create.getByRole("button", { name: "Create the link" }).click();
  await owner.locator("code.url").first().waitFor({ timeout: STEP_MS });
  // The link names the configured public address; this server listens elsewhere.
  linkUrl = `${base}${new URL(await owner.locator("code.url").first().textContent()).pathname}`;
});

// ---- the doctor takes the call --------------------------------------------------------------
const patient = await page("patient", { width: 390, height: 844 });
await step("the patient joins the queue", async () => {
  await patient.goto(linkUrl);
  await patient.waitForSelector("#join-form", { state: "visible", timeout: STEP_MS });
  await patient.screenshot({ path: `${shots}/patient-join.png` });
  await patient.click("#join-form button[type=submit]");
  await patient.waitForSelector("#waiting", { state: "visible", timeout: STEP_MS });
});

const doctor = await page("doctor");
await step("the doctor logs in and sees only an attendant's menu", async () => {
  await login(doctor, "joao@clinic.test", "doctor-password-1");
  const menu = await doctor.locator("#nav a").allTextContents();
  if (menu.includes("Users") || menu.includes("Reports") || menu.includes("Company")) throw new Error(`menu ${menu}`);
});
await step("the doctor takes and starts the call, which shows the provider", async () => {
  await doctor.getByText("Maria Paciente").first().waitFor({ timeout: STEP_MS });
  await doctor.getByRole("button", { name: "Take" }).click();
  await doctor.getByRole("button", { name: "Start" }).click({ timeout: STEP_MS });
  await doctor.locator("section.call", { hasText: "Service provider: ABC Hospital" }).waitFor({ timeout: STEP_MS });
});
const playing = (selector) => {
  const video = document.querySelector(selector);
  return !!video && video.videoWidth > 0 && video.readyState >= 2;
};
await step("both see each other", async () => {
  await doctor.waitForFunction(playing, ".remote", { timeout: STEP_MS });
  await patient.waitForFunction(playing, "#remote", { timeout: STEP_MS });
});
await step("they chat both ways", async () => {
  await doctor.fill("#chat-input", "Bom dia, Maria!");
  await doctor.press("#chat-input", "Enter");
  await patient.locator("#chat-log", { hasText: "Bom dia, Maria!" }).waitFor({ timeout: STEP_MS });
  await patient.fill("#chat-input", "Bom dia, doutor.");
  await patient.click("#chat-form button[type=submit]");
  await doctor.locator(".chat-log", { hasText: "Bom dia, doutor." }).waitFor({ timeout: STEP_MS });
});
await step("the patient's mute is visible and announced on both sides", async () => {
  await patient.click("#mute-audio");
  if ((await patient.getAttribute("#mute-audio", "aria-pressed")) !== "true") throw new Error("aria-pressed");
  await patient.locator("#live", { hasText: "Your microphone is off." }).waitFor({ timeout: STEP_MS });
  await doctor.getByText("The patient turned their microphone off.").waitFor({ timeout: STEP_MS });
  await doctor.screenshot({ path: `${shots}/call-agent.png` });
  await patient.screenshot({ path: `${shots}/patient-call.png` });
});
await step("the patient hangs up; the doctor is told in words", async () => {
  await patient.click("#hang-up");
  await patient.waitForSelector("#hung-up", { state: "visible", timeout: STEP_MS });
  await doctor.getByText("The patient left — waiting 60 s for them to come back.").waitFor({ timeout: STEP_MS });
});
await step("the doctor completes; the patient rates", async () => {
  await doctor.getByRole("button", { name: "Complete" }).click();
  await patient.waitForSelector("#rate", { state: "visible", timeout: STEP_MS });
  await patient.click("#stars button[aria-label='4']");
  await patient.fill("#rate-form [name=comment]", "Muito bom");
  await patient.screenshot({ path: `${shots}/patient-rate.png` });
  await patient.click("#rate-form button[type=submit]");
  await patient.waitForSelector("#done", { state: "visible", timeout: STEP_MS });
});

// ---- the per-provider report ------------------------------------------------------------------
await step("the per-provider report shows the call", async () => {
  await go(owner, "reports");
  const providers = within(owner, "Per service provider");
  await providers.getByRole("cell", { name: "ABC Hospital" }).waitFor({ timeout: STEP_MS });
  await owner.getByLabel("Service provider", { exact: true }).selectOption({ label: "ABC Hospital" });
  await owner.getByRole("button", { name: "Show", exact: true }).click();
  await within(owner, "Per agent").getByText("Dr. João Lima").waitFor({ timeout: STEP_MS });
  const total = owner.locator(".card", { hasText: "Total calls" }).locator(".kpi");
  if ((await total.textContent()) !== "1") throw new Error("total calls is not 1");
  await owner.locator("svg.chart").first().waitFor({ timeout: STEP_MS });
});
await step("reversed dates are refused next to the field", async () => {
  await owner.getByLabel("From *").fill("2026-03-10");
  await owner.getByLabel("To *").fill("2026-03-01");
  await owner.getByRole("button", { name: "Show", exact: true }).click();
  await owner.getByText("The end is before the start.").waitFor({ timeout: STEP_MS });
});

await step("the call's detail shows the rating comment and the chat", async () => {
  await go(owner, "calls");
  await owner.getByRole("button", { name: "Details" }).first().click();
  await owner.locator("dl.facts", { hasText: "Muito bom" }).waitFor({ timeout: STEP_MS });
  await owner.getByText("Bom dia, doutor.").waitFor({ timeout: STEP_MS });
});

// ---- booking for the doctor on the week view -------------------------------------------------
await step("the owner books for the doctor from a free hour of next week", async () => {
  await go(owner, "appointments");
  await owner.getByLabel("Agent", { exact: true }).selectOption({ label: "Dr. João Lima" });
  const thisWeek = await owner.locator("table.calendar caption").textContent();
  await owner.getByRole("button", { name: "Next" }).click();
  // The old week stays on the page until the next one is drawn.
  await owner.waitForFunction((old) => document.querySelector("table.calendar caption")?.textContent !== old, thisWeek, { timeout: STEP_MS });
  await owner.locator("table.calendar button.free").first().waitFor({ timeout: STEP_MS });
  await owner.locator("table.calendar button.free").nth(3).click();
  const book = within(owner, "Book an appointment");
  if ((await book.getByLabel("Agent of the appointment *").inputValue()) === "") throw new Error("no agent chosen");
  await fillForm(book, { "Title *": "Retorno", "Patient's name *": "Maria Paciente" });
  await book.getByRole("button", { name: "Book", exact: true }).click();
  await owner.locator("table.calendar button.appt", { hasText: "Maria Paciente" }).waitFor({ timeout: STEP_MS });
  await owner.evaluate(() => window.scrollTo(0, 0));
  await owner.screenshot({ path: `${shots}/appointments-week.png` });
});
await step("the owner reschedules it an hour later", async () => {
  await owner.locator("table.calendar button.appt", { hasText: "Maria Paciente" }).click();
  const input = owner.getByLabel("New date and time *");
  const value = await input.inputValue();
  const later = `${value.slice(0, 11)}${String(Number(value.slice(11, 13)) + 1).padStart(2, "0")}${value.slice(13)}`;
  await input.fill(later);
  await owner.getByRole("button", { name: "Reschedule" }).click();
  await owner.getByText("Appointment rescheduled.").waitFor({ timeout: STEP_MS });
});
await step("the owner cancels it with a reason", async () => {
  await owner.locator("table.calendar button.appt", { hasText: "Maria Paciente" }).click();
  await owner.locator(".detail").getByRole("button", { name: "Cancel the appointment" }).click();
  await owner.locator("dialog textarea").fill("Patient asked");
  await owner.locator("dialog").getByRole("button", { name: "Cancel the appointment" }).click();
  await owner.getByText("Appointment cancelled.").waitFor({ timeout: STEP_MS });
  await owner.locator("table.calendar button.appt.cancelled").click();
  await owner.locator(".detail", { hasText: "Patient asked" }).waitFor({ timeout: STEP_MS });
});

await step("without SMTP, the test e-mail says it is not configured", async () => {
  await go(owner, "emails");
  const test = within(owner, "Send a test e-mail");
  await fillForm(test, { "Send to *": "ops@example.test" });
  await test.getByRole("button", { name: "Send the test" }).click();
  await test.locator(".form-error", { hasText: "No SMTP server is configured: e-mails are not sent." }).waitFor({ timeout: STEP_MS });
});

// ---- every view: strings, axe-core, screenshots --------------------------------------------------
const VIEWS = ["queue", "appointments", "customers", "calls", "links", "departments", "hours", "users", "providers", "reports", "webhooks", "emails", "company", "account"];
const PREFIXES = "app|login|status|nav|role|common|unit|live|queue|call|chat|calls|appointments|appointment|links|link|customers|users|departments|hours|providers|company|account|webhooks|emails|reports|err";
// Webhook event names (`call.created`) and file names look like keys but are shown on purpose.
const SHOWN = /^(call|appointment|customer)\.(created|assigned|started|completed|missed|confirmed|cancelled|no_show|overdue)$|\.csv$/;
for (const [code, label] of [["en", "English"], ["pt-BR", "Português (Brasil)"], ["fr", "Français"]]) {
  await step(`the console switches to ${code}`, () => language(owner, code, label));
  for (const view of VIEWS) {
    await step(`${view} in ${code}`, async () => {
      await go(owner, view);
      await owner.waitForTimeout(150);
      await strings(owner, `${view} (${code})`, PREFIXES, SHOWN);
      await audit(owner, `${view} (${code})`);
      if (code === "en" || ["queue", "appointments", "reports"].includes(view)) {
        await owner.screenshot({ path: `${shots}/${view}-${code}.png`, fullPage: code === "en" && view === "reports" });
      }
    });
  }
}
await step("the login page passes axe", async () => {
  const fresh = await page("login");
  await fresh.goto(`${base}/`);
  await fresh.waitForSelector("#login-form", { state: "visible" });
  await audit(fresh, "login");
  await fresh.screenshot({ path: `${shots}/login-en.png` });
});
await step("the patient pages pass axe", async () => {
  await audit(patient, "patient rating done");
  const fresh = await page("patient-2", { width: 390, height: 844 });
  await fresh.goto(`${base}/call/not-a-token`);
  await fresh.waitForSelector("#invalid", { state: "visible" });
  await audit(fresh, "patient invalid link");
  await fresh.screenshot({ path: `${shots}/patient-invalid.png` });
});
await step("without the clinic's language, the patient page speaks the browser's", async () => {
  for (const [locale, title] of [["fr-FR", "Lien invalide ou expiré"], ["pt-BR", "Link inválido ou expirado"], ["en-GB", "Invalid or expired link"]]) {
    const fresh = await page(`patient-${locale}`, { width: 390, height: 844 }, locale);
    await fresh.goto(`${base}/call/not-a-token`);
    await fresh.waitForSelector("#invalid", { state: "visible" });
    const shown = await fresh.textContent("#invalid h2");
    if (shown !== title) throw new Error(`${locale}: ${shown}`);
  }
});
await step("the owner's language choice is kept", () => language(owner, "en", "English"));

await finish();
