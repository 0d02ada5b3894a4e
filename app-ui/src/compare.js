// The compared period on the chart of /app/{site} (tracker/owner/compare.py chart()): each of the
// answer's series again, dashed and lighter, with the compared period's values lined up by
// position (its first period under the first period shown), so "Visitors (previous period)" at
// a date is the visitors of the same day of the compared period.

const DASH = [5, 4];

// A series drawn like `of` but dashed and lighter: same scale, same colour at 55 % opacity.
function comparedLike(of, name) {
  return { ...of, label: `${of.label} (${name})`, stroke: of.stroke + "8c", width: 1.5, dash: DASH };
}

// The extra series and their values for uPlot; none without a comparison.
export function comparedSeries(data, series) {
  const compared = data.compare;
  if (!compared) return { series: [], values: [] };
  const currencies = Object.keys(data.revenue);
  const values = [compared.visitors, compared.orders, ...currencies.map((c) => compared.revenue[c])];
  return { series: series.slice(1).map((s) => comparedLike(s, compared.name)), values };
}

// The date form leaves "No comparison" out of the page's URL (compare= would add nothing).
export function dropEmptyChoice(form) {
  form.addEventListener("submit", () => {
    for (const field of form.querySelectorAll("select[name='compare']")) field.disabled = field.value === "";
  });
}
