// Charts drawn as SVG in the page: a line chart for trends, vertical bars for the hours
// and the ratings, grouped horizontal bars for agents and providers. Every mark carries a
// <title> with its figure and unit, and each chart is a figure with a caption.
import { h } from "/console/lib/dom.js";
import { number } from "/console/lib/i18n.js";

const NS = "http://www.w3.org/2000/svg";
function s(tag, attributes = {}, ...children) {
  const element = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attributes)) if (value != null) element.setAttribute(key, value);
  for (const child of children.flat()) if (child != null) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return element;
}

/// A rounded-up axis maximum with 4 even whole steps (the charts count calls and ratings).
function scale(max) {
  if (max <= 4) return 4;
  const step = 10 ** Math.floor(Math.log10(max / 4));
  const nice = [1, 2, 2.5, 5, 10].map((m) => Math.max(1, Math.ceil(m * step))).find((m) => m * 4 >= max);
  return nice * 4;
}

const legend = (series) => h("ul", { class: "legend" }, series.map((one) => h("li", {}, h("span", { class: `swatch ${one.cls}`, "aria-hidden": "true" }), one.name)));

function frame(title, unit, width, height, top, axisMax, plot) {
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${title} (${unit})`, class: "chart" });
  for (let i = 0; i <= 4; i += 1) {
    const y = top + plot.h - (plot.h * i) / 4;
    svg.append(s("line", { x1: plot.x, x2: plot.x + plot.w, y1: y, y2: y, class: "grid-line" }),
      s("text", { x: plot.x - 6, y: y + 4, class: "axis", "text-anchor": "end" }, number((axisMax * i) / 4)));
  }
  svg.append(s("text", { x: 4, y: 12, class: "axis" }, unit));
  return svg;
}

/// `labels`: x values; `series`: [{name, cls, values}]; `unit` names the y axis.
export function lineChart({ title, unit, labels, series, labelEvery = 1 }) {
  const width = 720, height = 260, top = 22;
  const plot = { x: 44, w: width - 60, h: height - top - 40 };
  const axisMax = scale(Math.max(0, ...series.flatMap((one) => one.values)));
  const svg = frame(title, unit, width, height, top, axisMax, plot);
  const x = (i) => plot.x + (labels.length <= 1 ? plot.w / 2 : (plot.w * i) / (labels.length - 1));
  const y = (v) => top + plot.h - (plot.h * v) / axisMax;
  const every = Math.max(labelEvery, Math.ceil(labels.length / 10));
  labels.forEach((label, i) => {
    if (i % every === 0) svg.append(s("text", { x: x(i), y: height - 18, class: "axis", "text-anchor": "middle" }, label));
  });
  for (const one of series) {
    svg.append(s("polyline", { points: one.values.map((v, i) => `${x(i)},${y(v)}`).join(" "), class: `line ${one.cls}` }));
    one.values.forEach((v, i) => svg.append(s("circle", { cx: x(i), cy: y(v), r: 3, class: `dot ${one.cls}` }, s("title", {}, `${labels[i]} · ${one.name}: ${number(v)} ${unit}`))));
  }
  return h("figure", { class: "chart-box" }, h("figcaption", {}, title), svg, legend(series));
}

/// Vertical bars: `labels[i]` under `values[i]`, the figure above each non-zero bar.
export function barChart({ title, unit, labels, values, cls = "c1", labelEvery = 1, width = 720 }) {
  const height = width < 600 ? 200 : 240, top = 22;
  const plot = { x: 44, w: width - 60, h: height - top - 40 };
  const axisMax = scale(Math.max(0, ...values));
  const svg = frame(title, unit, width, height, top, axisMax, plot);
  const slot = plot.w / Math.max(1, values.length);
  values.forEach((v, i) => {
    const barH = (plot.h * v) / axisMax;
    const bx = plot.x + slot * i + slot * 0.15;
    svg.append(s("rect", { x: bx, y: top + plot.h - barH, width: slot * 0.7, height: Math.max(barH, 0), class: `bar ${cls}` }, s("title", {}, `${labels[i]}: ${number(v)} ${unit}`)));
    if (v > 0) svg.append(s("text", { x: bx + slot * 0.35, y: top + plot.h - barH - 4, class: "value", "text-anchor": "middle" }, number(v)));
    if (i % labelEvery === 0) svg.append(s("text", { x: bx + slot * 0.35, y: height - 18, class: "axis", "text-anchor": "middle" }, labels[i]));
  });
  return h("figure", { class: "chart-box" }, h("figcaption", {}, title), svg);
}

/// Horizontal grouped bars: one group per row, one bar per series, figures at the ends.
export function groupedBars({ title, unit, rows, series, width = 720 }) {
  const rowH = 16 * series.length + 14, left = width < 600 ? 120 : 170, top = 10;
  const height = top + rows.length * rowH + 10;
  const max = scale(Math.max(0, ...rows.flatMap((row) => series.map((one) => row[one.key]))));
  const svg = s("svg", { viewBox: `0 0 ${width} ${Math.max(height, 40)}`, role: "img", "aria-label": `${title} (${unit})`, class: "chart" });
  rows.forEach((row, r) => {
    const y0 = top + r * rowH;
    svg.append(s("text", { x: left - 8, y: y0 + rowH / 2, class: "axis label", "text-anchor": "end" }, String(row.label).slice(0, width < 600 ? 18 : 24)));
    series.forEach((one, i) => {
      const value = row[one.key];
      const w = ((width - left - 60) * value) / max;
      const y = y0 + 4 + i * 16;
      svg.append(s("rect", { x: left, y, width: Math.max(w, 1), height: 13, class: `bar ${one.cls}` }, s("title", {}, `${row.label} · ${one.name}: ${number(value)} ${unit}`)),
        s("text", { x: left + w + 5, y: y + 11, class: "value" }, number(value)));
    });
  });
  return h("figure", { class: "chart-box" }, h("figcaption", {}, title), svg, legend(series));
}
