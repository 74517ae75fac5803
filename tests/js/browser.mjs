// A whole consultation in two headless Chromium windows: the patient opens the access
// link and joins the queue, the agent logs in to the console, takes and starts the call,
// both see each other's (fake) camera over real WebRTC, the agent completes the call and
// the patient rates it. Prints "OK" and exits 0 when every step worked.
//
// usage: node browser.mjs <base url> <tenant> <agent e-mail> <password> <link url>
import { chromium } from "playwright-core";

const [base, tenant, email, password, linkUrl] = process.argv.slice(2);
const STEP_MS = 20_000;
const fail = async (why, browser) => {
  console.error("FAIL:", why);
  if (process.env.VOKI_BROWSER_LOG) console.error([...errors, ...log].join("\n"));
  await browser?.close().catch(() => {});
  process.exit(1);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    // A generated camera and microphone, allowed without asking.
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    // Both windows are on this machine: let ICE use plain host and loopback addresses.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--allow-loopback-in-peer-connection",
  ],
});
setTimeout(() => fail("timeout after 90 s", browser), 90_000);

const step = async (name, run) => {
  try {
    return await run();
  } catch (error) {
    await fail(`${name}: ${error.message}`, browser);
  }
};
const errors = [];
const log = [];
const page = async (name) => {
  const context = await browser.newContext();
  const opened = await context.newPage();
  opened.on("pageerror", (error) => errors.push(`${name}: ${error}`));
  opened.on("console", (message) => {
    log.push(`${name} console: ${message.text()}`);
    const where = message.location()?.url || "";
    // A TURN request racing the call's end is refused (401: the token died with the call)
    // and the page falls back to STUN; anything else the console reports is a failure.
    const lateTurn = where.includes("/api/v1/call/turn-credentials") && message.text().includes("401");
    if (message.type() === "error" && !lateTurn) errors.push(`${name} console: ${message.text()} ${where}`);
  });
  opened.on("websocket", (ws) => {
    ws.on("framesent", (f) => log.push(`${name} > ${String(f.payload).slice(0, 160)}`));
    ws.on("framereceived", (f) => log.push(`${name} < ${String(f.payload).slice(0, 160)}`));
  });
  return opened;
};

// The patient joins the queue.
const patient = await page("patient");
await step("the patient page shows the form", async () => {
  await patient.goto(linkUrl);
  await patient.waitForSelector("#join-form", { state: "visible", timeout: STEP_MS });
});
await step("the patient joins the queue", async () => {
  await patient.fill("#join-form [name=name]", "Paciente Teste");
  await patient.fill("#join-form [name=email]", "paciente@example.com");
  await patient.click("#join-form button[type=submit]");
  await patient.waitForSelector("#waiting", { state: "visible", timeout: STEP_MS });
});

// The agent (a manager who is a member of the department) logs in and takes the call.
const agent = await page("agent");
await step("the agent logs in", async () => {
  await agent.goto(`${base}/`);
  await agent.fill("#login-form [name=tenant]", tenant);
  await agent.fill("#login-form [name=email]", email);
  await agent.fill("#login-form [name=password]", password);
  await agent.click("#login-form button[type=submit]");
  await agent.waitForSelector("#app", { state: "visible", timeout: STEP_MS });
});
await step("the supervisor's console shows the live figures", async () => {
  await agent.getByText("1 waiting").waitFor({ timeout: STEP_MS });
});
await step("the agent takes the call", async () => {
  await agent.getByText("Paciente Teste").waitFor({ timeout: STEP_MS });
  await agent.getByRole("button", { name: "Take" }).click();
  await agent.getByRole("button", { name: "Start" }).click({ timeout: STEP_MS });
});

// Each side plays the other's camera.
const playing = (selector) => {
  const video = document.querySelector(selector);
  return !!video && video.videoWidth > 0 && video.readyState >= 2;
};
await step("the agent sees the patient", () => agent.waitForFunction(playing, ".remote", { timeout: STEP_MS }));
await step("the patient sees the agent", () => patient.waitForFunction(playing, "#remote", { timeout: STEP_MS }));

// The agent completes the call; the patient rates it.
await step("the agent completes the call", async () => {
  await agent.getByRole("button", { name: "Complete" }).click();
  await patient.waitForSelector("#rate", { state: "visible", timeout: STEP_MS });
});
await step("the patient rates the call", async () => {
  await patient.click("#stars button[aria-label='5']");
  await patient.click("#rate-form button[type=submit]");
  await patient.waitForSelector("#done", { state: "visible", timeout: STEP_MS });
});

// The reports show the call, per agent and in today's trend row.
await step("the reports show the call", async () => {
  await agent.goto(`${base}/#reports`);
  await agent.getByRole("heading", { name: "Per agent" }).waitFor({ timeout: STEP_MS });
  const agents = agent.locator("section", { has: agent.getByRole("heading", { name: "Per agent" }) });
  await agents.getByText("Alice Souza").waitFor({ timeout: STEP_MS });
  const overview = agent.locator(".card", { hasText: "total calls" });
  if ((await overview.locator(".kpi").textContent()) !== "1") throw new Error("total calls is not 1");
  await agent.selectOption("select[name=granularity]", "month");
  await agent.getByRole("button", { name: "Show" }).click();
  await agent.getByRole("heading", { name: "Trend by month" }).waitFor({ timeout: STEP_MS });
});

if (errors.length) await fail(`page errors: ${errors.join("; ")}`, browser);
await browser.close();
console.log("OK");
process.exit(0);
