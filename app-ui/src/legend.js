// The chart's legend by keyboard. uPlot shows or hides a series when its legend entry is clicked,
// but the entries are table headers that Tab never reaches. This plugin makes each one a toggle
// button: focusable, Enter or Space does what a click does, and aria-pressed says whether its
// series is drawn (uPlot marks a hidden one's row u-off).

function entries(u) {
  // One legend row per series, the x series' row (the date) first; that one toggles nothing.
  return [...u.root.querySelectorAll(".u-legend .u-series")].map((row, i) => ({ i, th: row.querySelector("th") })).slice(1);
}

function showPressed(u) {
  for (const { i, th } of entries(u)) th.setAttribute("aria-pressed", String(u.series[i].show));
}

function makeButtons(u) {
  for (const { i, th } of entries(u)) {
    th.tabIndex = 0;
    th.setAttribute("role", "button");
    th.setAttribute("aria-label", u.series[i].label);
    th.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" && e.key !== " ") return;
      e.preventDefault(); // Space would scroll the page
      u.setSeries(i, { show: !u.series[i].show });
    });
  }
  showPressed(u);
}

export function keyboardLegend() {
  return { hooks: { ready: makeButtons, setSeries: showPressed } };
}
