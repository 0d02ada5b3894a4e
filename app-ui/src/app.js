// The chart of /app/{site}: visitors and orders (left axis) and revenue per currency (right axis)
// per period, drawn by uPlot from the JSON the page carries in #chart-data. The same numbers are
// in the table below the chart, so nothing depends on this script.
import uPlot from "uplot";
import { comparedSeries, dropEmptyChoice } from "./compare.js";
import { keyboardLegend } from "./legend.js";
import { startRealtime } from "./realtime.js";
import { openSharedLink } from "./share.js";

const HEIGHT = 280;
const COLORS = { visitors: "#2563eb", orders: "#c2410c", revenue: ["#15803d", "#7e22ce", "#0f766e", "#a16207"] };

function draw(holder, data) {
  const currencies = Object.keys(data.revenue);
  // Periods are local dates of the site; drawn at UTC midnight and labelled in UTC, they keep their date.
  const xs = data.periods.map((day) => Date.parse(day + "T00:00:00Z") / 1000);
  const series = [
    {},
    { label: "Visitors", scale: "count", stroke: COLORS.visitors, width: 2 },
    { label: "Orders", scale: "count", stroke: COLORS.orders, width: 2 },
    ...currencies.map((c, i) => ({
      label: "Revenue " + c, scale: "money", stroke: COLORS.revenue[i % COLORS.revenue.length], width: 2,
      value: (u, v) => (v == null ? "–" : v.toFixed(2)),
    })),
  ];
  // Ticks on whole periods only (days at the least), labelled with the period's date.
  const day = (ts) => new Date(ts * 1e3).toISOString().slice(0, 10);
  const xAxis = { space: 70, incrs: [1, 2, 7, 14, 28, 56, 91, 182, 364].map((n) => n * 86400), values: (u, ticks) => ticks.map(day) };
  const axes = [xAxis, { scale: "count", size: 50 }];
  if (currencies.length) axes.push({ scale: "money", side: 1, size: 60, grid: { show: false } });
  const opts = {
    width: holder.clientWidth,
    height: HEIGHT,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
    scales: { x: { time: true }, count: { range: (u, min, max) => [0, Math.max(1, max)] } },
    series,
    axes,
    plugins: [keyboardLegend()], // the legend's series toggles by keyboard too
  };
  const compared = comparedSeries(data, series); // dashed: the compared period, if any
  opts.series = [...series, ...compared.series];
  const values = [xs, data.visitors, data.orders, ...currencies.map((c) => data.revenue[c]), ...compared.values];
  const plot = new uPlot(opts, values, holder);
  new ResizeObserver(() => plot.setSize({ width: holder.clientWidth, height: HEIGHT })).observe(holder);
}

const holder = document.getElementById("chart");
const source = document.getElementById("chart-data");
if (holder && source) draw(holder, JSON.parse(source.textContent));
const rangeForm = document.querySelector("form.range");
if (rangeForm) dropEmptyChoice(rangeForm);

const realtime = document.getElementById("realtime");
if (realtime) startRealtime(realtime);
const shareForm = document.getElementById("share-form");
if (shareForm) openSharedLink(shareForm);
