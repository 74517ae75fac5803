// The clinic administered from the console, in headless Chromium against the real server:
// the owner books for an agent from the agent's free times and edits the agent's working
// hours (with the server's 422 messages in place), the agent their own and a supervisor
// the agent's; the owner sets a department's booking by patients and replaces its link,
// sends test e-mails (refused, then accepted) and an access link by e-mail, finds it in
// the outbox, sets the company's language and patient e-mails, creates, uses and revokes
// an API key, reads the audit log by kind and action, pings a webhook and sends the ping
// again; then every screen this script visits in the three languages, without a missing
// string and with no serious or critical axe-core violation, and a screenshot (1280×800)
// of the screens the seed guide's script does not show. Prints "OK" and exits 0 when every
// step worked.
//
// usage: node admin.mjs <base url> <tenant> <owner e-mail> <owner password> <agent e-mail> <password>
//        <supervisor e-mail> <screenshot dir> (the agent and the supervisor share the password)
import { mkdirSync } from "node:fs";
import { start, login, language, go, within, fillForm, audit, strings, STEP_MS } from "./console-kit.mjs";

const [base, tenant, ownerEmail, ownerPassword, agentEmail, agentPassword, supervisorEmail, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const { page, step, finish } = await start(300);
const inDays = (n) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

const owner = await page("owner");
await step("the owner logs in", () => login(owner, base, tenant, ownerEmail, ownerPassword));

// ---- booking for an agent from their free times ----------------------------------------------
await step("the booking form offers the agent's free times of a day", async () => {
  await go(owner, "appointments");
  const book = within(owner, "Book an appointment");
  await book.getByLabel("Department *").selectOption({ label: "Clínica Geral" });
  await book.getByLabel("Agent of the appointment *").selectOption({ label: "Dr. Ana Costa" });
  await book.getByLabel("Day (free times)").fill(inDays(2));
  await book.locator(".slot-list button").first().waitFor({ timeout: STEP_MS });
});
await step("picking a free time fills the start; the owner books it for the agent", async () => {
  const book = within(owner, "Book an appointment");
  const slot = book.locator(".slot-list button").nth(2);
  if (await book.getByLabel("Date and time *").inputValue()) throw new Error("the start is filled before a pick");
  const time = (await slot.textContent()).trim();
  await slot.click();
  if ((await slot.getAttribute("aria-pressed")) !== "true") throw new Error("the picked time is not marked");
  const start = await book.getByLabel("Date and time *").inputValue();
  // The button reads in the language's clock (09:00 AM); the input holds 24-hour time.
  const [hour, minute] = start.slice(11).split(":").map(Number);
  const shown = `${String(hour % 12 || 12).padStart(2, "0")}:${String(minute).padStart(2, "0")}`;
  if (!start.startsWith(inDays(2)) || !time.startsWith(shown)) throw new Error(`start ${start} for ${time}`);
  await fillForm(book, { "Title *": "Primeira consulta", "Patient's name *": "Paciente Agenda" });
  await book.getByRole("button", { name: "Book", exact: true }).click();
  await owner.getByText("Appointment booked.").waitFor({ timeout: STEP_MS });
});
await step("the calendar shows the appointment with that agent", async () => {
  if ((await owner.locator("#agent-pick option:checked").textContent()) !== "Dr. Ana Costa") throw new Error("the calendar is not the agent's");
  await owner.locator("table.calendar button.appt", { hasText: "Paciente Agenda" }).click();
  await owner.locator(".detail", { hasText: "Agent: Dr. Ana Costa" }).waitFor({ timeout: STEP_MS });
  const book = within(owner, "Book an appointment");
  await book.getByLabel("Agent of the appointment *").selectOption({ label: "Dr. Ana Costa" });
  await book.getByLabel("Day (free times)").fill(inDays(2));
  await book.locator(".slot-list button").first().waitFor({ timeout: STEP_MS });
  await audit(owner, "appointments with free times");
});

// ---- working hours -----------------------------------------------------------------------------
await step("the owner opens the agent's working hours", async () => {
  await go(owner, "hours");
  await owner.getByLabel("Person").selectOption({ label: "Dr. Ana Costa" });
  const monday = within(owner, "Working hours of Dr. Ana Costa").locator("fieldset.weekday", { hasText: "Monday" });
  await monday.locator(".interval").first().waitFor({ timeout: STEP_MS });
  if ((await monday.getByLabel("From").first().inputValue()) !== "08:00") throw new Error("Monday does not start at 08:00");
});
await step("overlapping and reversed hours are shown next to their fields", async () => {
  const hours = within(owner, "Working hours of Dr. Ana Costa");
  const monday = hours.locator("fieldset.weekday", { hasText: "Monday" });
  await monday.getByRole("button", { name: "Add hours" }).click();
  await monday.locator(".interval").last().getByLabel("From").fill("12:00");
  await monday.locator(".interval").last().getByLabel("To").fill("13:00");
  const tuesday = hours.locator("fieldset.weekday", { hasText: "Tuesday" });
  await tuesday.getByRole("button", { name: "Add hours" }).click();
  await tuesday.locator(".interval").last().getByLabel("From").fill("19:00");
  await tuesday.locator(".interval").last().getByLabel("To").fill("18:30");
  await hours.getByRole("button", { name: "Save the hours" }).click();
  await monday.locator(".interval").last().getByText("Overlaps other hours of the same day.").waitFor({ timeout: STEP_MS });
  await tuesday.locator(".interval").last().getByText("Must be after the start.").waitFor({ timeout: STEP_MS });
  if ((await tuesday.locator(".interval").last().getByLabel("To").getAttribute("aria-invalid")) !== "true") throw new Error("the end is not marked invalid");
  await audit(owner, "working hours with errors");
});
await step("the owner fixes them and adds a day off", async () => {
  const hours = within(owner, "Working hours of Dr. Ana Costa");
  const monday = hours.locator("fieldset.weekday", { hasText: "Monday" });
  await monday.locator(".interval").last().getByLabel("From").fill("18:00");
  await monday.locator(".interval").last().getByLabel("To").fill("19:00");
  await hours.locator("fieldset.weekday", { hasText: "Tuesday" }).locator(".interval").last().getByRole("button", { name: "Remove" }).click();
  await hours.getByRole("button", { name: "Add an exception" }).click();
  const exception = hours.locator("fieldset.exception").last();
  await exception.getByLabel("Date").fill(inDays(3));
  await hours.getByRole("button", { name: "Save the hours" }).click();
  await owner.getByText("Working hours of Dr. Ana Costa saved.").waitFor({ timeout: STEP_MS });
});

const agent = await page("agent");
await step("the agent edits their own hours under My account", async () => {
  await login(agent, base, tenant, agentEmail, agentPassword);
  const menu = await agent.locator("#nav a").allTextContents();
  if (menu.includes("Working hours")) throw new Error(`an attendant's menu has ${menu}`);
  await go(agent, "account");
  const hours = within(agent, "Working hours");
  const sunday = hours.locator("fieldset.weekday", { hasText: "Sunday" });
  await sunday.getByRole("button", { name: "Remove" }).click();
  await hours.getByRole("button", { name: "Save the hours" }).click();
  await agent.getByText("Working hours of Dr. Ana Costa saved.").waitFor({ timeout: STEP_MS });
  await audit(agent, "my account");
});

const supervisor = await page("supervisor");
await step("a supervisor edits an agent's hours, and has no manager screens", async () => {
  await login(supervisor, base, tenant, supervisorEmail, agentPassword);
  const menu = await supervisor.locator("#nav a").allTextContents();
  if (!menu.includes("Working hours") || menu.includes("API keys") || menu.includes("E-mails")) throw new Error(`a supervisor's menu has ${menu}`);
  await go(supervisor, "hours");
  await supervisor.getByLabel("Person").selectOption({ label: "Dr. Ana Costa" });
  const hours = within(supervisor, "Working hours of Dr. Ana Costa");
  const saturday = hours.locator("fieldset.weekday", { hasText: "Saturday" });
  await saturday.locator(".interval").first().waitFor({ timeout: STEP_MS });
  await saturday.getByRole("button", { name: "Add hours" }).click();
  await saturday.locator(".interval").last().getByLabel("From").fill("18:30");
  await saturday.locator(".interval").last().getByLabel("To").fill("19:30");
  await hours.getByRole("button", { name: "Save the hours" }).click();
  await supervisor.getByText("Working hours of Dr. Ana Costa saved.").waitFor({ timeout: STEP_MS });
  await audit(supervisor, "working hours (supervisor)");
});

// ---- department booking settings ------------------------------------------------------------
await step("a slot length out of range is shown next to its field", async () => {
  await go(owner, "departments");
  await within(owner, "Departments").getByRole("button", { name: "Edit" }).click();
  const detail = within(owner, "Department Clínica Geral");
  await detail.getByText("Turn on booking by patients and save to get the page's address.").waitFor({ timeout: STEP_MS });
  await detail.getByLabel("Patients may book on the booking page").check();
  await fillForm(detail, { "Slot length (minutes)": "500" });
  await detail.getByRole("button", { name: "Save", exact: true }).click();
  await detail.locator("[data-field=slot_minutes] .field-error", { hasText: "Must be 480 or less." }).waitFor({ timeout: STEP_MS });
});
let bookingUrl;
await step("the owner opens booking by patients and copies the page's address", async () => {
  const detail = within(owner, "Department Clínica Geral");
  await fillForm(detail, { "Slot length (minutes)": "20", "Pause after each appointment (minutes)": "10" });
  await detail.getByRole("button", { name: "Save", exact: true }).click();
  await owner.getByText("Saved.").first().waitFor({ timeout: STEP_MS });
  const url = within(owner, "Department Clínica Geral").locator(".booking-link code.url");
  await url.waitFor({ timeout: STEP_MS });
  bookingUrl = await url.textContent();
  if (!bookingUrl.includes("/book/")) throw new Error(`booking url ${bookingUrl}`);
  await within(owner, "Department Clínica Geral").getByRole("button", { name: "Copy the booking address" }).click();
  await owner.getByText("Copied to the clipboard.").first().waitFor({ timeout: STEP_MS });
  if ((await owner.evaluate(() => navigator.clipboard.readText())) !== bookingUrl) throw new Error("the clipboard does not hold the address");
  await audit(owner, "department booking settings");
});
await step("the owner replaces the booking link", async () => {
  await within(owner, "Department Clínica Geral").getByRole("button", { name: "Replace the link" }).click();
  await owner.locator("dialog").getByRole("button", { name: "Replace the link" }).click();
  await owner.getByText("New booking link issued.").waitFor({ timeout: STEP_MS });
  await owner.waitForFunction((old) => { const url = document.querySelector(".booking-link code.url")?.textContent; return url && url !== old; }, bookingUrl, { timeout: STEP_MS });
  const now = await within(owner, "Department Clínica Geral").locator(".booking-link code.url").textContent();
  if (!now.includes("/book/")) throw new Error(`the link is ${now}`);
  console.log(now);
});

// ---- the e-mail outbox and its test; an access link sent by e-mail ---------------------------
await step("a test e-mail the SMTP server refuses shows its reply", async () => {
  await go(owner, "emails");
  const test = within(owner, "Send a test e-mail");
  await fillForm(test, { "Send to *": "ops@example.test" });
  await test.getByRole("button", { name: "Send the test" }).click();
  await test.locator(".form-error", { hasText: /^The SMTP server refused the message: .*refused for the test/ }).waitFor({ timeout: STEP_MS });
});
await step("a test e-mail the SMTP server accepts says so", async () => {
  const test = within(owner, "Send a test e-mail");
  await test.getByRole("button", { name: "Send the test" }).click();
  await test.getByText("The SMTP server accepted the test message to ops@example.test.").waitFor({ timeout: STEP_MS });
  if (await test.locator(".form-error").textContent()) throw new Error("the old failure is still shown");
  await audit(owner, "e-mails");
});
await step("a link without an address cannot be sent", async () => {
  await go(owner, "links");
  const create = within(owner, "New access link");
  await fillForm(create, { "Patient's name": "Paciente Sem Email" });
  await create.getByRole("button", { name: "Create the link" }).click();
  const row = owner.getByRole("row", { name: /Paciente Sem Email/ });
  await row.getByRole("button", { name: "Send by e-mail" }).click();
  const send = within(owner, "Send the link of Paciente Sem Email by e-mail");
  if ((await send.getByLabel("E-mail address").inputValue()) !== "") throw new Error("the address is not empty");
  await send.getByRole("button", { name: "Send", exact: true }).click();
  await send.locator("[data-field=email] .field-error", { hasText: "Required." }).waitFor({ timeout: STEP_MS });
});
await step("the owner sends a link by e-mail to the patient's address", async () => {
  const create = within(owner, "New access link");
  await fillForm(create, { "Patient's name": "Paciente Link", "E-mail": "paciente.link@example.test" });
  await create.getByRole("button", { name: "Create the link" }).click();
  const row = owner.getByRole("row", { name: /Paciente Link/ });
  await row.getByRole("button", { name: "Send by e-mail" }).click();
  const send = within(owner, "Send the link of Paciente Link by e-mail");
  if ((await send.getByLabel("E-mail address").inputValue()) !== "paciente.link@example.test") throw new Error("the address is not the patient's");
  await send.getByRole("button", { name: "Send", exact: true }).click();
  await send.getByText("E-mail to paciente.link@example.test written to the outbox").waitFor({ timeout: STEP_MS });
  await audit(owner, "links with the send form");
});
await step("the outbox lists the link's e-mail as sent, by status and kind", async () => {
  await go(owner, "emails");
  const outbox = within(owner, "E-mails");
  await outbox.getByLabel("Status").selectOption({ label: "Sent" });
  await outbox.getByLabel("Kind").selectOption({ label: "Access link" });
  // Delivery runs in the background: show the filtered list again until it is sent.
  const sent = outbox.getByRole("row", { name: /paciente\.link@example\.test/ }).getByText("Sent", { exact: true });
  for (let i = 0; i < 60 && !(await sent.count()); i += 1) {
    await outbox.getByRole("button", { name: "Show" }).click();
    await owner.waitForTimeout(250);
  }
  await sent.waitFor({ timeout: STEP_MS });
  await outbox.getByLabel("Kind").selectOption({ label: "Password reset" });
  await outbox.getByRole("button", { name: "Show" }).click();
  await outbox.getByText("No e-mail matches.").waitFor({ timeout: STEP_MS });
});

// ---- company: the language of e-mails and whether patients get them -------------------------
await step("the owner sets the company's language and turns patient e-mails off", async () => {
  await go(owner, "company");
  const company = within(owner, "Company");
  await company.getByLabel("Language of e-mails and patient pages").selectOption({ label: "Français" });
  await company.getByLabel("E-mail patients about their appointments").uncheck();
  await Promise.all([owner.waitForEvent("load", { timeout: STEP_MS }), company.getByRole("button", { name: "Save", exact: true }).click()]);
  await owner.locator("#view section").first().waitFor({ timeout: STEP_MS });
  const again = within(owner, "Company");
  if ((await again.getByLabel("Language of e-mails and patient pages").inputValue()) !== "fr") throw new Error("the language is not kept");
  if (await again.getByLabel("E-mail patients about their appointments").isChecked()) throw new Error("patient e-mails are still on");
});

// ---- integrators: API keys, the audit log, webhook tools --------------------------------------
let secret;
await step("the owner creates an API key and sees its secret once", async () => {
  await go(owner, "apikeys");
  const create = within(owner, "New API key");
  await fillForm(create, { "Key name *": "Agenda externa" });
  await create.getByLabel("Role").selectOption({ label: "Supervisor" });
  await create.getByRole("button", { name: "Create the key" }).click();
  secret = await owner.locator("code.secret").textContent({ timeout: STEP_MS });
  if (!secret.startsWith(`vk_${tenant}_`)) throw new Error(`secret ${secret}`);
  const row = within(owner, "API keys").getByRole("row", { name: /Agenda externa/ });
  await row.getByText("Supervisor").waitFor({ timeout: STEP_MS });
  if ((await row.textContent()).includes(secret)) throw new Error("the list shows the secret");
  await owner.getByRole("button", { name: "Copy the key" }).click();
  if ((await owner.evaluate(() => navigator.clipboard.readText())) !== secret) throw new Error("the clipboard does not hold the key");
  await audit(owner, "API keys");
});
await step("the key works until the owner revokes it", async () => {
  const answer = (key) => owner.evaluate(async ([k]) => (await fetch("/api/v1/departments", { headers: { Authorization: `Bearer ${k}` } })).status, [key]);
  if ((await answer(secret)) !== 200) throw new Error("the new key is refused");
  await fillForm(within(owner, "New API key"), { "Key name *": "Painel" });
  await within(owner, "New API key").getByRole("button", { name: "Create the key" }).click();
  await within(owner, "API keys").getByRole("row", { name: /Painel/ }).waitFor({ timeout: STEP_MS });
  await within(owner, "API keys").getByRole("row", { name: /Agenda externa/ }).getByRole("button", { name: "Revoke" }).click();
  await owner.locator("dialog").getByRole("button", { name: "Revoke" }).click();
  await owner.getByText("Key Agenda externa revoked.").waitFor({ timeout: STEP_MS });
  if (await owner.locator("code.secret").count()) throw new Error("a secret is still shown");
  if ((await within(owner, "API keys").getByRole("row", { name: /Agenda externa/ }).count()) !== 0) throw new Error("the revoked key is listed");
  if ((await answer(secret)) !== 401) throw new Error("the revoked key still works");
});
await step("the audit log shows the department's changes, filtered", async () => {
  await go(owner, "audit");
  const log = within(owner, "Audit log");
  await log.getByLabel("Kind of record").selectOption({ label: "Department" });
  // The unfiltered list is on the page until the filtered one replaces it.
  const actions = () => owner.evaluate(() => [...document.querySelectorAll("#view tbody code")].map((c) => c.textContent).filter((a) => a.includes(".")));
  await log.getByRole("button", { name: "Show" }).click();
  await owner.waitForFunction(() => [...document.querySelectorAll("#view tbody tr")].every((r) => r.textContent.includes("department.")), null, { timeout: STEP_MS });
  await log.getByRole("row", { name: /department\.update.*slot_minutes: 30 → 20/ }).first().waitFor({ timeout: STEP_MS });
  if ((await actions()).some((a) => !a.startsWith("department."))) throw new Error(`the filter let through ${await actions()}`);
  await log.getByLabel("Action").fill("api_key.delete");
  await log.getByLabel("Kind of record").selectOption({ label: "Any" });
  await log.getByRole("button", { name: "Show" }).click();
  await owner.waitForFunction(() => document.querySelectorAll("#view tbody tr").length === 1, null, { timeout: STEP_MS });
  await log.getByRole("row", { name: /api_key\.delete/ }).waitFor({ timeout: STEP_MS });
  await audit(owner, "audit log");
});
await step("the owner pings a webhook and sends the ping again", async () => {
  await go(owner, "webhooks");
  const create = within(owner, "New webhook");
  await fillForm(create, { "Address (URL) *": `${base}/hook-receiver` });
  await create.getByRole("button", { name: "Subscribe" }).click();
  await owner.locator("dialog").getByRole("button", { name: "Cancel" }).click();
  const row = within(owner, "Webhooks").getByRole("row", { name: /hook-receiver/ });
  await row.getByRole("button", { name: "Send a ping" }).click();
  await owner.getByText(/^Ping sent: /).waitFor({ timeout: STEP_MS });
  const deliveries = owner.locator("section", { has: owner.getByRole("heading", { name: /^Deliveries to / }) });
  await deliveries.getByRole("cell", { name: "ping", exact: true }).waitFor({ timeout: STEP_MS });
  await deliveries.getByRole("button", { name: "Send again" }).click();
  await owner.getByText("ping queued to be sent again.").waitFor({ timeout: STEP_MS });
  await deliveries.getByRole("cell", { name: "ping", exact: true }).nth(1).waitFor({ timeout: STEP_MS });
  await audit(owner, "webhook deliveries");
});

// ---- every screen visited: strings in three languages, axe-core ------------------------------
const VIEWS = ["appointments", "hours", "departments", "links", "emails", "apikeys", "audit", "webhooks", "company", "account"];
const PREFIXES = "app|nav|role|common|appointments|appointment|calls|customers|users|account|hours|departments|links|link|emails|apikeys|audit|webhooks|company|err";
// Audit actions and record ids, and webhook events, look like keys but are shown on purpose.
const SHOWN = /^(appointment|access_link|api_key|department|user|company|webhook|link)\.[a-z_]+$/;
for (const [code, label] of [["pt-BR", "Português (Brasil)"], ["fr", "Français"], ["en", "English"]]) {
  await step(`the console switches to ${code}`, () => language(owner, code, label));
  for (const view of VIEWS) {
    await step(`${view} in ${code}`, async () => {
      await go(owner, view);
      await owner.waitForTimeout(300);
      await strings(owner, `${view} (${code})`, PREFIXES, SHOWN);
      await audit(owner, `${view} (${code})`);
      if (code === "en" && ["apikeys", "audit"].includes(view)) await owner.screenshot({ path: `${shots}/${view}-${code}.png` });
    });
  }
}

await finish();
