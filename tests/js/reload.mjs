// The patient's reload: the patient joins the queue, reloads the page while waiting and
// must see the waiting screen of the same call again (not "Invalid or expired link"),
// then closes the tab; the Rust side checks that the call leaves the queue within the
// reconnect grace. Prints the call id on the line before "OK" and exits 0 when every
// step worked.
//
// usage: node reload.mjs <link url>
import { chromium } from "playwright-core";

const [linkUrl] = process.argv.slice(2);
const STEP_MS = 20_000;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream"],
});
const fail = async (why) => {
  console.error("FAIL:", why);
  await browser.close().catch(() => {});
  process.exit(1);
};
setTimeout(() => fail("timeout after 60 s"), 60_000);
const step = async (name, run) => {
  try {
    return await run();
  } catch (error) {
    await fail(`${name}: ${error.message}`);
  }
};

const context = await browser.newContext();
const patient = await context.newPage();
const sockets = [];
patient.on("websocket", (ws) => sockets.push(ws.url()));
await step("the patient joins the queue", async () => {
  await patient.goto(linkUrl);
  await patient.waitForSelector("#join-form", { state: "visible", timeout: STEP_MS });
  await patient.fill("#join-form [name=name]", "Paciente Recarga");
  await patient.click("#join-form button[type=submit]");
  await patient.waitForSelector("#waiting", { state: "visible", timeout: STEP_MS });
});
const saved = await patient.evaluate(() => Object.values({ ...sessionStorage }).map((v) => JSON.parse(v))[0]);
if (!saved?.call_id || !saved?.websocket_token) await fail("the call was not kept for the tab");
await step("a reload resumes the same call", async () => {
  await patient.reload();
  await patient.waitForSelector("#waiting", { state: "visible", timeout: STEP_MS });
  if (await patient.isVisible("#invalid")) throw new Error("the page says the link is invalid");
});
await step("the page is on the call's socket while waiting", async () => {
  await patient.waitForFunction(() => true, null, { timeout: 1000 });
  if (sockets.length < 2) throw new Error(`sockets opened: ${sockets.length}`);
  if (sockets.some((url) => url.includes("token="))) throw new Error("a token in the socket URL");
});
await context.close();
await browser.close();
console.log(saved.call_id);
console.log("OK");
process.exit(0);
