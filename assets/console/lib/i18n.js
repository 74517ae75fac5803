// Strings and times: one catalogue per language (i18n/*.js, the same keys in each), the
// user's locale else the company's, and dates shown in the company time zone, formatted
// for the language, with the zone named.
import en from "/console/i18n/en.js";
import ptBR from "/console/i18n/pt-BR.js";
import fr from "/console/i18n/fr.js";

export const LANGUAGES = [["en", "English"], ["pt-BR", "Português (Brasil)"], ["fr", "Français"]];
const CATALOGUES = { en, "pt-BR": ptBR, fr };

let language = "en";
let zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/// The supported language closest to `wanted` (`pt`, `pt-PT` → `pt-BR`, `fr-CA` → `fr`).
export function pick(wanted) {
  if (!wanted) return null;
  if (CATALOGUES[wanted]) return wanted;
  const base = String(wanted).split("-")[0].toLowerCase();
  if (base === "pt") return "pt-BR";
  return CATALOGUES[base] ? base : null;
}

export function setLanguage(wanted) {
  language = pick(wanted) || "en";
  document.documentElement.lang = language;
  return language;
}

export const currentLanguage = () => language;
export const setZone = (value) => { if (value) zone = value; };
export const currentZone = () => zone;

/// The string of `key`, with `{name}` placeholders filled from `vars`.
export function t(key, vars = {}) {
  const text = CATALOGUES[language][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (vars[name] ?? `{${name}}`));
}

/// The name the API gives an erased customer (SPEC: the record stays, without personal data).
export const ERASED_CUSTOMER = "Erased customer";

/// A customer's name as the API gives it, with an erased one in the console's language.
export const customerName = (name) => (name === ERASED_CUSTOMER ? t("customers.erased_name") : name);

/// A server message from the 422 field map, in words ("can't be blank" → "Required").
export function message(text) {
  const key = `err.${String(text).toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "")}`;
  return CATALOGUES[language][key] ?? en[key] ?? text;
}

/// Fills `[data-t]` elements (static markup) with their strings.
export function translate(root = document) {
  for (const element of root.querySelectorAll("[data-t]")) element.textContent = t(element.dataset.t);
  for (const element of root.querySelectorAll("[data-t-label]")) element.setAttribute("aria-label", t(element.dataset.tLabel));
}

const formatters = new Map();
function formatter(options) {
  const key = `${language}|${zone}|${JSON.stringify(options)}`;
  if (!formatters.has(key)) formatters.set(key, new Intl.DateTimeFormat(language, { timeZone: zone, ...options }));
  return formatters.get(key);
}

/// Date and time of an instant in the company zone, with the zone's short name.
export function when(iso) {
  if (!iso) return "—";
  return formatter({ dateStyle: "medium", timeStyle: "short" }).format(new Date(iso)) + ` (${zoneName(iso)})`;
}

export const timeOnly = (iso) => formatter({ hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
export const dayLabel = (ymd) => formatter({ weekday: "long", day: "numeric", month: "long", timeZone: "UTC" }).format(new Date(`${ymd}T12:00:00Z`));
export const shortDay = (ymd) => formatter({ weekday: "short", day: "numeric", month: "short", timeZone: "UTC" }).format(new Date(`${ymd}T12:00:00Z`));

function zoneName(iso) {
  const part = formatter({ timeZoneName: "short" }).formatToParts(new Date(iso)).find((p) => p.type === "timeZoneName");
  return part ? part.value : zone;
}

/// `{year, month, day, hour, minute}` of an instant in the company zone.
function parts(ms) {
  const out = {};
  for (const p of formatter({ year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).formatToParts(new Date(ms))) {
    if (p.type !== "literal") out[p.type] = Number(p.value);
  }
  return out;
}

const offset = (ms) => {
  const p = parts(ms);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
};

/// The UTC instant (RFC 3339) of a wall-clock time `YYYY-MM-DDTHH:MM` in the company zone.
export function zonedToUtc(local) {
  const [date, time = "00:00"] = local.split("T");
  const [y, m, d] = date.split("-").map(Number);
  const [hh, mm] = time.split(":").map(Number);
  const guess = Date.UTC(y, m - 1, d, hh, mm);
  let ms = guess - offset(guess);
  ms = guess - offset(ms);
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/// The wall-clock `YYYY-MM-DDTHH:MM` of an instant in the company zone (for inputs).
export function utcToZoned(iso) {
  const p = parts(new Date(iso).getTime());
  const two = (n) => String(n).padStart(2, "0");
  return `${p.year}-${two(p.month)}-${two(p.day)}T${two(p.hour % 24)}:${two(p.minute)}`;
}

/// The company-zone day (`YYYY-MM-DD`) of an instant; today without an argument.
export const localDay = (iso = new Date().toISOString()) => utcToZoned(iso).slice(0, 10);

/// `ymd` moved by `days` days.
export function addDays(ymd, days) {
  const date = new Date(`${ymd}T12:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/// Monday of the week of `ymd`.
export function monday(ymd) {
  const weekday = (new Date(`${ymd}T12:00:00Z`).getUTCDay() + 6) % 7;
  return addDays(ymd, -weekday);
}

/// A number in the language's format.
export const number = (value, digits = 0) => new Intl.NumberFormat(language, { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(value ?? 0);

/// A duration in seconds, in words with units ("2 min 05 s").
export function duration(seconds) {
  if (seconds == null) return "—";
  const s = Math.round(seconds);
  if (s < 60) return t("unit.seconds", { n: s });
  const m = Math.floor(s / 60);
  if (m < 60) return t("unit.minutes_seconds", { m, s: String(s % 60).padStart(2, "0") });
  return t("unit.hours_minutes", { h: Math.floor(m / 60), m: String(m % 60).padStart(2, "0") });
}
