"""The page's comparison with an earlier period (`compare` in the page's URL, the query API's
`compare`): the choices of the form, how a change is written, and the compared period's series
for the chart. The templates' part is templates/app/_compare.html.

A change is written with its direction three ways, so it never rests on colour alone: an arrow
(▲ ▼ =), the sign of the number, and a word for screen readers ("up", "down", "no change").
"""

from __future__ import annotations

from datetime import datetime, timedelta

from markupsafe import Markup, escape

from tracker.owner import format as app_format

CHOICES = (("", "No comparison"), ("previous", "Previous period"), ("year", "A year earlier"))
NAMES = {"previous": "previous period", "year": "a year earlier"}
_ARROWS = {"up": "▲", "down": "▼", "same": "="}
_WORDS = {"up": "up", "down": "down", "same": "no change"}


def figure(value, kind: str) -> str:
    """A figure as the page writes it: count, percent, money."""
    return {"count": app_format.count, "percent": app_format.percent, "money": app_format.money}[kind](value)


def change_text(c: dict | None, kind: str) -> str:
    """The change as text, e.g. "+3 (+25.00 %)", "-1.50 pp (-10.00 %)" (rates change by percentage
    points), "+40.00" when there is nothing to take a percentage of, "–" without a change."""
    if not c or c["change"] is None:
        return app_format.NONE
    value = c["change"]
    if kind == "count":
        number = f"{value:+,}" if value else "0"
    else:
        number = f"{value:+,.2f}" if value else "0.00"
        number += " pp" if kind == "percent" else ""
    if c["change_percent"] is not None:
        number += f" ({c['change_percent']:+,.2f} %)" if c["change_percent"] else " (0.00 %)"
    return number


def delta(c: dict | None, kind: str = "count") -> Markup:
    """The change as the page shows it (see change_text), with its direction."""
    value = None if not c else c["change"]
    direction = "none" if value is None else "up" if value > 0 else "down" if value < 0 else "same"
    text = escape(change_text(c, kind))
    if direction == "none":
        return Markup(f'<span class="delta none">{text}</span>')
    return Markup(
        f'<span class="delta {direction}"><span aria-hidden="true">{_ARROWS[direction]}</span>'
        f' <span class="visually-hidden">{_WORDS[direction]}</span> {text}</span>'
    )


def by_currency(lines: list[dict], currency: str) -> dict | None:
    return next((line for line in lines if line["currency"] == currency), None)


def compared_revenue(lines: list[dict], currency: str, key: str):
    """A revenue line's figure in the compared period: a currency without orders there had 0 of
    revenue and no average order value."""
    line = by_currency(lines, currency)
    return line[key] if line else (None if key == "average_order_value" else 0)


def days(compared: dict) -> dict[str, str]:
    """The compared period's first and last day (its `to` is the instant after it)."""
    start = datetime.fromisoformat(compared["from"])
    end = datetime.fromisoformat(compared["to"]) - timedelta(microseconds=1)
    return {"from": start.date().isoformat(), "to": end.date().isoformat()}


def _aligned(values: list, length: int) -> list:
    """Position i of the compared period under period i of the answer's: cut, or padded with nulls."""
    return (values + [None] * length)[:length]


def chart(stats: dict) -> dict | None:
    """The compared period's series for the chart (app-ui/src/compare.js), lined up by position
    with the answer's periods: the first day of the compared period under the first day shown."""
    compared = stats.get("compare")
    if not compared:
        return None
    n, series = len(stats["series"]), compared["series"]
    currencies = sorted({r["currency"] for r in stats["totals"]["revenue"]})
    return {
        "name": NAMES[compared["mode"]],
        "periods": _aligned([p["period"] for p in series], n),
        "visitors": _aligned([p["visitors"] for p in series], n),
        "orders": _aligned([p["orders"] for p in series], n),
        "revenue": {c: _aligned([app_format.revenue_in(p, c) for p in series], n) for c in currencies},
    }


def install(env) -> None:
    env.filters.update(delta=delta, figure=figure)
    env.globals.update(compare_choices=CHOICES, compare_names=NAMES, by_currency=by_currency,
                       compared_revenue=compared_revenue, compared_days=days)
