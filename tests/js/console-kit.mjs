// What the console's browser scripts share: a headless Chromium, pages that record their
// errors, logging in, opening a view, finding a section by its heading, axe-core and the
// check that no catalogue key is shown instead of its text.
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export const STEP_MS = 20_000;
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/// A browser (with `extraArgs` for Chromium) whose `step`s stop the script with
/// "FAIL: <step>: <why>" (and exit 1) at the first error, or after `timeoutSecs`.
export async function start(timeoutSecs, extraArgs = []) {
  const log = [];
  const errors = [];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", ...extraArgs],
  });
  const pages = [];
  const fail = async (why) => {
    console.error("FAIL:", why);
    if (process.env.VOKI_BROWSER_LOG) {
      console.error([...errors, ...log].join("\n"));
      for (const p of pages) console.error(await p.evaluate(() => document.querySelector("#view")?.innerText).catch(() => ""));
    }
    await browser.close().catch(() => {});
    process.exit(1);
  };
  setTimeout(() => fail(`timeout after ${timeoutSecs} s`), timeoutSecs * 1000);
  const step = async (name, run) => {
    try {
      return await run();
    } catch (error) {
      await fail(`${name}: ${error.message}`);
    }
  };
  // axe-core is injected as a script, which the pages' CSP would refuse: these test
  // contexts bypass it (the pages themselves are unchanged). Failed requests the test
  // provokes (4xx, and the 502 of an SMTP server that refuses) are logged by the browser
  // and are not errors of the page.
  const page = async (name, viewport = { width: 1280, height: 800 }, locale = "en-US") => {
    const context = await browser.newContext({ viewport, bypassCSP: true, locale, permissions: ["clipboard-read", "clipboard-write"] });
    const opened = await context.newPage();
    pages.push(opened);
    opened.on("pageerror", (error) => errors.push(`${name}: ${error}`));
    opened.on("console", (message) => {
      log.push(`${name} console: ${message.text()}`);
      if (message.type() === "error" && !/status of (4\d\d|502)/.test(message.text())) errors.push(`${name} console: ${message.text()}`);
    });
    return opened;
  };
  const finish = async () => {
    if (errors.length) await fail(`page errors: ${errors.join("; ")}`);
    await browser.close();
    console.log("OK");
    process.exit(0);
  };
  return { browser, page, step, fail, finish };
}

/// Logs in on the console and switches it to English (users are created in pt-BR).
export async function login(p, base, tenant, email, password) {
  await p.goto(`${base}/`);
  await p.fill("#login-form [name=tenant]", tenant);
  await p.fill("#login-form [name=email]", email);
  await p.fill("#login-form [name=password]", password);
  await p.click("#login-form button[type=submit]");
  await p.waitForSelector("#app", { state: "visible", timeout: STEP_MS });
  if ((await p.evaluate(() => document.documentElement.lang)) !== "en") await language(p, "en", "English");
}

export async function language(p, code, label) {
  await p.locator("#language").selectOption({ label });
  await p.waitForFunction((l) => document.documentElement.lang === l, code, { timeout: STEP_MS });
}

/// Opens a view by its address, as the menu does, and waits until it has drawn.
export async function go(p, view) {
  await p.evaluate((v) => { location.hash = v; }, `#${view}`);
  await p.waitForFunction(() => !document.querySelector("#view > .loading"), null, { timeout: STEP_MS });
  await p.locator("#view section").first().waitFor({ timeout: STEP_MS });
}

export const within = (p, heading) => p.locator("section", { has: p.getByRole("heading", { name: heading, exact: true }) });

export async function fillForm(form, values) {
  for (const [label, value] of Object.entries(values)) await form.getByLabel(label, { exact: true }).fill(value);
}

/// Fails on any serious or critical axe-core violation of the page as it is.
export async function audit(p, name) {
  await p.addScriptTag({ content: AXE });
  const found = await p.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.filter((v) => ["serious", "critical"].includes(v.impact))
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
  });
  if (found.length) throw new Error(`axe on ${name}: ${found.join("; ")}`);
}

/// Fails when the page shows a catalogue key (`prefix.name`) instead of its text.
export async function strings(p, name, prefixes, shown = /^$/) {
  const pattern = new RegExp(`\\b(${prefixes})\\.[a-z][a-z_-]*\\b`, "g");
  const text = await p.evaluate(() => document.body.innerText);
  const keys = (text.match(pattern) || []).filter((k) => !shown.test(k));
  if (keys.length) throw new Error(`missing strings on ${name}: ${[...new Set(keys)].join(", ")}`);
}
