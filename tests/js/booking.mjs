// A patient books alone on a phone-sized screen (390 px): opens the booking page, picks a
// day and a time, meets a time taken meanwhile (409) and takes one of the next free times
// offered, books, then opens the manage link and moves the appointment. Prints "OK" and
// exits 0 when every step worked.
//
// The manage link is taken from the confirmation e-mail: the test's SMTP sink writes each
// message it accepts into <mailbox dir> as a text file (recipients, then the text part).
//
// usage: node booking.mjs <booking page url> <mailbox dir>
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [bookingUrl, mailbox] = process.argv.slice(2);
const STEP_MS = 20_000;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
});
const fail = async (why) => {
  console.error("FAIL:", why);
  await browser.close().catch(() => {});
  process.exit(1);
};
setTimeout(() => fail("timeout after 90 s"), 90_000);
const step = async (name, run) => {
  try {
    return await run();
  } catch (error) {
    await fail(`${name}: ${error.message}`);
  }
};

const errors = [];
const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "en-US" });
const page = await context.newPage();
page.on("pageerror", (error) => errors.push(String(error)));
page.on("console", (message) => {
  // The 409 of the taken time is expected; the browser logs every failed fetch.
  if (message.type() === "error" && !message.text().includes("409")) errors.push(message.text());
});
// VOKI_SCREENSHOTS=<dir> keeps a picture of each page, to look at the layout.
const picture = async (name) => {
  if (process.env.VOKI_SCREENSHOTS) await page.screenshot({ path: `${process.env.VOKI_SCREENSHOTS}/${name}.png`, fullPage: true });
};
const fitsThePhone = async (what) => {
  await picture(what.replaceAll(" ", "-"));
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  if (width > 390) throw new Error(`${what} is ${width} px wide`);
};

let first;
await step("the booking page offers days and times", async () => {
  await page.goto(bookingUrl);
  await page.waitForSelector("#times button", { state: "visible", timeout: STEP_MS });
  await fitsThePhone("the booking page");
  first = await page.locator("#times button").first().getAttribute("data-start");
});
await step("someone else takes the chosen time meanwhile", async () => {
  await page.locator("#times button").first().click();
  await page.waitForSelector("#book-form", { state: "visible", timeout: STEP_MS });
  const api = bookingUrl.replace("/book/", "/api/v1/book/");
  const reply = await fetch(api, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ start: first, name: "Other Patient", email: "other@example.com" }),
  });
  if (reply.status !== 201) throw new Error(`the other booking answered ${reply.status}`);
});
let booked;
await step("the taken time offers the next free times, and one of them books", async () => {
  await page.fill("#book-form [name=name]", "Paciente Navegador");
  await page.fill("#book-form [name=email]", "navegador@example.com");
  await page.fill("#book-form [name=phone]", "+55 11 98888-7777");
  await page.click("#book-form button[type=submit]");
  await page.waitForSelector("#next-slots button", { state: "visible", timeout: STEP_MS });
  booked = await page.locator("#next-slots button").first().getAttribute("data-start");
  if (!(booked > first)) throw new Error(`offered ${booked}, not after ${first}`);
  await page.locator("#next-slots button").first().click();
  await page.click("#book-form button[type=submit]");
  await page.waitForSelector("#done", { state: "visible", timeout: STEP_MS });
  await fitsThePhone("the confirmation");
});
// The text of the first e-mail to `address` (waits for it).
const mailTo = async (address) => {
  for (let i = 0; i < 100; i++) {
    for (const name of readdirSync(mailbox).sort()) {
      const text = readFileSync(join(mailbox, name), "utf8");
      if (text.split("\n")[0].includes(address)) return text;
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`no e-mail to ${address}`);
};
let manageUrl;
await step("the confirmation e-mail's manage link shows the appointment", async () => {
  const href = await page.getAttribute("#manage-link", "href");
  if (!href.includes("/manage/")) throw new Error(`manage link ${href}`);
  const mail = await mailTo("navegador@example.com");
  const emailed = mail.match(/https?:\/\/\S+\/manage\/[A-Za-z0-9_-]+/)?.[0];
  if (emailed !== href) throw new Error(`the e-mail links ${emailed}, the page ${href}`);
  if (!mail.includes("/call/")) throw new Error("the e-mail has no join link");
  // The link carries the configured public URL; this server listens elsewhere.
  manageUrl = new URL(new URL(emailed).pathname, bookingUrl).href;
  await page.goto(manageUrl);
  await page.waitForSelector("#reschedule", { state: "visible", timeout: STEP_MS });
  await fitsThePhone("the manage page");
});
let moved;
await step("the patient moves the appointment to another time", async () => {
  await page.click("#reschedule");
  await page.waitForSelector("#times button", { state: "visible", timeout: STEP_MS });
  // The last day offered: a whole working day, whatever the hour this test runs at (the
  // booked day may have no other free time left).
  await page.locator("#days button").last().click();
  const other = page.locator(`#times button:not([data-start="${booked}"])`).last();
  moved = await other.getAttribute("data-start");
  await other.click();
  await page.click("#move-confirm");
  await page.waitForSelector("#moved", { state: "visible", timeout: STEP_MS });
  await fitsThePhone("the moved appointment");
});

if (errors.length) await fail(`page errors: ${errors.join("; ")}`);
await browser.close();
// The Rust side checks what the API recorded against these.
console.error(JSON.stringify({ first, booked, moved, manageUrl }));
console.log("OK");
process.exit(0);
