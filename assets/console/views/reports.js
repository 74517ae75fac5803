// Reports (managers and up) for a period and optionally one service provider: the
// figures with their units, the trend as a line chart, the hours and the ratings as bars,
// agents and providers side by side, and the calls CSV of the same filter.
import { api, all, download } from "/console/lib/api.js";
import { h, section, table, button, form, field } from "/console/lib/dom.js";
import { t, duration, number, localDay, addDays, shortDay, currentZone } from "/console/lib/i18n.js";
import { lineChart, barChart, groupedBars } from "/console/lib/charts.js";

const DATE = /^\d{4}-\d{2}-\d{2}$/;
let period = null;

export default async function reports(main) {
  period ||= { from: addDays(localDay(), -30), to: localDay(), granularity: "day", provider: "" };
  const providers = await all("/api/v1/providers").catch(() => []);
  const filterForm = form([
    field({ name: "from", label: t("reports.from"), type: "date", required: true, value: period.from }),
    field({ name: "to", label: t("reports.to"), type: "date", required: true, value: period.to }),
    field({ name: "granularity", label: t("reports.trend_by"), type: "select", value: period.granularity, options: ["day", "week", "month"].map((g) => [g, t(`reports.by_${g}`)]) }),
    field({ name: "provider", label: t("calls.provider"), type: "select", value: period.provider, options: [["", t("reports.all_providers")], ...providers.map((p) => [p.id, p.name])] }),
  ], async (v) => {
    const fields = {};
    if (!DATE.test(v.from)) fields.from = [t("reports.bad_date")];
    if (!DATE.test(v.to)) fields.to = [t("reports.bad_date")];
    if (!Object.keys(fields).length && v.from > v.to) fields.to = [t("reports.to_before_from")];
    if (Object.keys(fields).length) throw Object.assign(new Error(""), { fields });
    period = { ...v };
    await reports(main);
  }, { submitLabel: t("reports.show"), inline: true });

  let query = `date_from=${period.from}&date_to=${period.to}`;
  if (period.provider) query += `&provider_id=${period.provider}`;
  const body = h("div", { "aria-live": "polite" }, h("p", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), t("common.loading")));
  main.replaceChildren(section(t("reports.period"), filterForm, h("p", { class: "muted" }, t("app.zone", { zone: currentZone() }))), body);

  const none = { data: [] };
  const [overview, hourly, agents, byProvider, trends, stats] = await Promise.all([
    api("GET", `/api/v1/analytics/overview?${query}`).then((r) => r.data),
    api("GET", `/api/v1/analytics/hourly?${query}`).catch(() => none),
    api("GET", `/api/v1/analytics/agents?${query}`).catch(() => none),
    api("GET", `/api/v1/analytics/providers?${query}`).catch(() => none),
    api("GET", `/api/v1/analytics/trends?${query}&granularity=${period.granularity}`).catch(() => none),
    api("GET", `/api/v1/evaluations/stats?date_from=${period.from}&date_to=${period.to}`).then((r) => r.data).catch(() => null),
  ]);
  const figure = (key, value, unit) => h("div", { class: "card figure" }, h("div", { class: "muted" }, t(`reports.${key}`)),
    h("div", {}, h("span", { class: "kpi" }, value), unit ? h("span", { class: "unit" }, ` ${unit}`) : null));
  const cards = h("div", { class: "grid" },
    figure("total_calls", String(overview.total_calls), t("unit.calls")),
    figure("completed_calls", String(overview.completed_calls), t("unit.calls")),
    figure("missed_calls", String(overview.missed_calls), t("unit.calls")),
    figure("cancelled_calls", String(overview.cancelled_calls), t("unit.calls")),
    figure("avg_wait_time", duration(overview.avg_wait_time)),
    figure("avg_duration", duration(overview.avg_duration)),
    figure("completion_rate", number(overview.completion_rate, 1), "%"),
    figure("avg_rating", number(overview.avg_rating, 1), t("unit.of_five")),
    figure("satisfaction_rate", number(overview.satisfaction_rate, 1), "%"),
    figure("total_customers", String(overview.total_customers), t("unit.patients")),
    figure("new_customers", String(overview.new_customers), t("unit.patients")));

  const trendRows = trends.data || [];
  const trendLabel = (r) => (period.granularity === "month" ? r.period_start.slice(0, 7) : shortDay(r.period_start));
  const trendTitle = t(`reports.trend_${period.granularity}`);
  const hours = hourly.data || [];
  const distribution = stats?.distribution || {};
  const rows = (list, label) => list.map((r) => ({ ...r, label: label(r) }));
  const perColumns = (kind) => [
    [kind === "provider" ? t("calls.provider") : t("calls.agent"), (r) => (kind === "provider" ? r.provider_name : [r.user_name, r.provider_name ? h("div", { class: "muted" }, r.provider_name) : null])],
    ...(kind === "provider" ? [[t("reports.agents"), (r) => r.agent_count]] : []),
    [t("reports.calls"), (r) => r.total_calls], [t("reports.completed"), (r) => r.completed_calls], [t("reports.missed"), (r) => r.missed_calls],
    [t("reports.avg_wait_time"), (r) => duration(r.avg_wait_time)], [t("reports.avg_duration"), (r) => duration(r.avg_duration)],
    [t("reports.avg_rating"), (r) => `${number(r.avg_rating, 1)} ${t("unit.of_five")}`], [t("reports.completion_rate"), (r) => `${number(r.completion_rate, 1)} %`],
  ];
  const series = [
    { key: "completed_calls", name: t("reports.completed"), cls: "c2" },
    { key: "missed_calls", name: t("reports.missed"), cls: "c3" },
  ];
  const csvQuery = query;
  body.replaceChildren(
    section(t("reports.overview", { from: period.from, to: period.to }), cards),
    section(trendTitle,
      lineChart({ title: t("reports.trend_caption"), unit: t("unit.calls"), labels: trendRows.map(trendLabel), series: [
        { name: t("reports.calls"), cls: "c1", values: trendRows.map((r) => r.total) },
        { name: t("reports.completed"), cls: "c2", values: trendRows.map((r) => r.completed) },
        { name: t("reports.missed"), cls: "c3", values: trendRows.map((r) => r.missed) }] }),
      h("details", {}, h("summary", {}, t("reports.as_table")), table([
        [t("reports.period_start"), (r) => trendLabel(r)], [t("reports.calls"), (r) => r.total], [t("reports.completed"), (r) => r.completed], [t("reports.missed"), (r) => r.missed],
        [t("reports.avg_wait_time"), (r) => duration(r.avg_wait_time)], [t("reports.avg_duration"), (r) => duration(r.avg_duration)], [t("reports.avg_rating"), (r) => number(r.avg_rating, 1)],
      ], trendRows, { caption: trendTitle }))),
    h("div", { class: "two" },
      section(t("reports.hourly"), barChart({ title: t("reports.hourly_title"), unit: t("unit.calls"), labels: hours.map((r) => String(r.hour).padStart(2, "0")), values: hours.map((r) => r.total), labelEvery: 3, width: 440 })),
      section(t("reports.ratings"), barChart({ title: t("reports.ratings_title", { n: stats?.count ?? 0 }), unit: t("unit.ratings"), cls: "c4", labels: ["1★", "2★", "3★", "4★", "5★"], values: [1, 2, 3, 4, 5].map((n) => distribution[n] ?? 0), width: 440 }))),
    h("div", { class: "two" },
      section(t("reports.per_provider"), table(perColumns("provider"), byProvider.data || [], { caption: t("reports.per_provider") })),
      section(t("reports.per_agent"), table(perColumns("agent"), agents.data || [], { caption: t("reports.per_agent") }))),
    (byProvider.data || []).length || (agents.data || []).length ? section(t("reports.compare"), h("div", { class: "two" },
      (byProvider.data || []).length ? groupedBars({ title: t("reports.per_provider"), unit: t("unit.calls"), rows: rows(byProvider.data, (r) => r.provider_name), series, width: 440 }) : h("span"),
      (agents.data || []).length ? groupedBars({ title: t("reports.per_agent"), unit: t("unit.calls"), rows: rows(agents.data, (r) => r.user_name), series, width: 440 }) : h("span"))) : h("span"),
    section(t("reports.exports"), h("div", { class: "buttons" },
      button(t("reports.calls_csv"), () => download(`/api/v1/export/calls.csv?${csvQuery}`, "calls.csv")),
      button(t("reports.customers_csv"), () => download("/api/v1/export/customers.csv", "customers.csv")),
      button(t("reports.links_csv"), () => download("/api/v1/export/links.csv", "links.csv")))));
}
