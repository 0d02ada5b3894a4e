"""How the pages write numbers and times: the query API's values, rounded as the API rounds them,
with thousands separators, so a figure on a page reads the same as in the JSON answer."""

from __future__ import annotations

from datetime import datetime

from jinja2 import Environment

NONE = "–"  # no value: a rate of nothing, an average of no orders


def count(value: int | None) -> str:
    return NONE if value is None else f"{value:,}"


def percent(value: float | None) -> str:
    return NONE if value is None else f"{value:,.2f} %"


def money(value: float | None) -> str:
    return NONE if value is None else f"{value:,.2f}"


def when(iso: str | None) -> str:
    """A time from the API (already in the site's time zone) to the minute."""
    return NONE if not iso else datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")


def revenue_in(figures: dict, currency: str) -> float:
    """A period's revenue in one currency (0 when it had no orders in it)."""
    return next((r["revenue"] for r in figures["revenue"] if r["currency"] == currency), 0.0)


def span(seconds: float | None) -> str:
    """A time the API gives in seconds (a sales cycle) in the unit that reads best: 45 s, 12 min,
    5.5 h, 3.2 d (a no-break space keeps number and unit on one line)."""
    if seconds is None:
        return NONE
    if seconds < 60:
        return f"{seconds:,.0f}\u00a0s"
    if seconds < 3600:
        return f"{seconds / 60:,.0f}\u00a0min"
    if seconds < 86400:
        return f"{seconds / 3600:,.1f}\u00a0h"
    return f"{seconds / 86400:,.1f}\u00a0d"


def install(env: Environment) -> None:
    env.filters.update(count=count, percent=percent, money=money, when=when, revenue_in=revenue_in)
    env.filters.update(span=span)
