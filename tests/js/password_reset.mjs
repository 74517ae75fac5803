// A staff user follows the e-mailed reset link: the page refuses two different passwords,
// saves the new one, and the same link then tells that it is spent (with VOKI_SCREENSHOTS=<dir>,
// a picture of each state at phone width). Prints "OK" and exits 0 when every step worked.
//
// usage: node password_reset.mjs <reset link on this server> <new password>
import { STEP_MS, start } from "./console-kit.mjs";

const [link, password] = process.argv.slice(2);
const { browser, step, fail, finish } = await start(60);
// A Brazilian phone: the page follows the browser's language.
const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "pt-BR" });
const page = await context.newPage();
page.on("pageerror", (error) => fail(`page error: ${error}`));
const picture = async (name) => {
  if (process.env.VOKI_SCREENSHOTS) await page.screenshot({ path: `${process.env.VOKI_SCREENSHOTS}/${name}.png`, fullPage: true });
};

await step("the page asks for the new password twice, in the browser's language", async () => {
  await page.goto(link);
  await page.waitForSelector("#reset-form", { state: "visible", timeout: STEP_MS });
  const title = await page.textContent("h2");
  if (title !== "Defina uma nova senha") throw new Error(`title ${title}`);
  await picture("reset-password");
});
await step("two different passwords are refused on the page", async () => {
  await page.fill("#password", password);
  await page.fill("#confirm", `${password}-other`);
  await page.click("#reset-form button[type=submit]");
  await page.waitForSelector("#error", { state: "visible", timeout: STEP_MS });
  await picture("reset-password-mismatch");
});
await step("the new password is saved and the token leaves the address bar", async () => {
  await page.fill("#confirm", password);
  await page.click("#reset-form button[type=submit]");
  await page.waitForSelector("#done", { state: "visible", timeout: STEP_MS });
  if (page.url().includes("token=")) throw new Error(`address still ${page.url()}`);
  await picture("reset-password-done");
});
await step("the same link is spent", async () => {
  await page.goto(link);
  await page.fill("#password", "yet-another-password");
  await page.fill("#confirm", "yet-another-password");
  await page.click("#reset-form button[type=submit]");
  await page.waitForSelector("#error", { state: "visible", timeout: STEP_MS });
  const text = await page.textContent("#error");
  if (!text.includes("inválido")) throw new Error(`error says ${text}`);
});

await finish();
