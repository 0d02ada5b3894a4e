"""Period comparison (`compare=previous|year`) for stats, funnel and channels: the compared
period's figures, computed by the same query as the answer's own (only the range differs, see
timerange.compared_range), and the changes from it to the answer's period.

A change is {"change": current - compared, "change_percent": that change as % of the compared
figure}. For rates (conversion) the change is in percentage points. change_percent is null when
the compared figure is 0 or null (no base to divide by); both are null when either figure is null
(a rate of nothing). docs/queries.md has the user's version.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from tracker.queries import channels, funnels, stats
from tracker.queries.runner import QueryRunner

# Money and rates arrive rounded to 4 and 2 decimals; their differences are rounded back so that
# 12.5 - 10.1 reads 2.4, not 2.4000000000000004.
_DIGITS = 4
NO_CHANNEL = {"sessions": 0, "orders": 0, "revenue": [], "conversion_rate": None}


def change(current: float | None, compared: float | None) -> dict:
    if current is None or compared is None:
        return {"change": None, "change_percent": None}
    difference = current - compared
    if isinstance(difference, float):
        difference = round(difference, _DIGITS)
    percent = round(100.0 * (current - compared) / abs(compared), 2) if compared else None
    return {"change": difference, "change_percent": percent}


def revenue_changes(current: list[dict], compared: list[dict]) -> list[dict]:
    """Per currency of either period: orders, revenue and average order value (a currency missing
    in one period had no orders and no revenue there)."""
    now = {r["currency"]: r for r in current}
    before = {r["currency"]: r for r in compared}
    empty = {"orders": 0, "revenue": 0.0, "average_order_value": None}
    return [
        {"currency": c, **{k: change(now.get(c, empty)[k], before.get(c, empty)[k]) for k in empty}}
        for c in sorted(set(now) | set(before))
    ]


def figure_changes(current: dict, compared: dict, names: tuple[str, ...]) -> dict:
    out = {name: change(current[name], compared[name]) for name in names}
    out["revenue"] = revenue_changes(current["revenue"], compared["revenue"])
    return out


# --- per endpoint ---------------------------------------------------------------------------------

_STATS_FIGURES = ("visitors", "sessions", "page_views", "orders", "conversion_rate")
_CHANNEL_FIGURES = ("sessions", "orders", "conversion_rate")
_STEP_FIGURES = ("count", "conversion_from_previous", "conversion_from_first", "dropped", "median_time_s")


def _stats(current: dict, compared: dict) -> dict:
    """The compared period's stats answer (interval, totals, series) and the totals' changes.
    Its series is listed period by period like the answer's: the chart lines them up by position."""
    return {**compared, "changes": {"totals": figure_changes(current["totals"], compared["totals"], _STATS_FIGURES)}}


def _funnel(current: dict, compared: dict) -> dict:
    steps = [
        {"step": now["step"], "label": now["label"], **{k: change(now[k], before[k]) for k in _STEP_FIGURES}}
        for now, before in zip(current["steps"], compared["steps"])
    ]
    changes = {"steps": steps, "overall_conversion": change(current["overall_conversion"], compared["overall_conversion"])}
    return {**compared, "changes": changes}


def _channels(current: dict, compared: dict) -> dict:
    """The compared period's figures of the answer's channels, in the answer's order (a channel
    without visits or orders then has zeros), its number of channels and its totals."""
    by_value = {c["value"]: c for c in compared["channels"]}
    aligned = [{"value": c["value"], **{k: by_value.get(c["value"], NO_CHANNEL)[k] for k in NO_CHANNEL}} for c in current["channels"]]
    changes = {
        "totals": figure_changes(current["totals"], compared["totals"], _CHANNEL_FIGURES),
        "channels": [
            {"value": now["value"], **figure_changes(now, before, _CHANNEL_FIGURES)}
            for now, before in zip(current["channels"], aligned)
        ],
    }
    return {"channels": aligned, "channels_total": compared["channels_total"], "totals": compared["totals"], "changes": changes}


# Every channel of the compared period, not only the first `limit`: the answer's channels are
# looked up in it by value (run_channels ranks all of them anyway and only then cuts the list).
_EVERY_CHANNEL = 1 << 31


@dataclass(frozen=True)
class Comparison:
    """How one endpoint computes the compared period (its typed query with another range) and
    puts it next to the answer."""

    run: Callable[[QueryRunner, object], dict]
    combine: Callable[[dict, dict], dict]


COMPARISONS = {
    "stats": Comparison(stats.run_stats, _stats),
    "funnel": Comparison(funnels.run_funnel, _funnel),
    "channels": Comparison(lambda runner, q: channels.run_channels(runner, replace(q, limit=_EVERY_CHANNEL)), _channels),
}
