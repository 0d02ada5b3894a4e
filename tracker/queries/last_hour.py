"""A site's business figures over the last hour, for the opt-in gauges on /metrics
(tracker/business_metrics.py): visitors, orders, revenue per currency, checkout conversion.

Orders and revenue are those of /stats (the `orders` view: one order per transaction id). Checkout
conversion: of the visitors who reached checkout in the hour (any of the intent stage's events, or
a purchase, which implies one), the share who bought in the hour; None when nobody reached it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tracker.queries.runner import QueryRunner

WINDOW = timedelta(hours=1)
CHECKOUT_EVENTS = ("begin_checkout", "add_shipping_info", "add_payment_info", "purchase")

VISITORS_SQL = """
SELECT site, uniqExact(visitor_id) AS visitors,
    uniqExactIf(visitor_id, name IN {checkout:Array(String)}) AS checkouts,
    uniqExactIf(visitor_id, name = 'purchase') AS buyers
FROM events
WHERE site IN {sites:Array(String)} AND ts >= {since:DateTime64(3)} AND ts < {until:DateTime64(3)}
GROUP BY site
"""

ORDERS_SQL = """
SELECT site, currency, count() AS orders, sum(ifNull(value, toDecimal64(0, 4))) AS revenue
FROM orders(site = '', from = {since:DateTime64(3)}, to = {until:DateTime64(3)})
WHERE site IN {sites:Array(String)}
GROUP BY site, currency
"""


@dataclass
class HourFigures:
    visitors: int = 0
    checkouts: int = 0  # visitors who reached checkout
    buyers: int = 0
    orders: int = 0
    revenue: dict[str, float] = field(default_factory=dict)  # per currency; orders without one have none

    @property
    def checkout_conversion(self) -> float | None:
        return self.buyers / self.checkouts if self.checkouts else None


def last_hour(runner: QueryRunner, sites: list[str], now: datetime) -> dict[str, HourFigures]:
    """Each site's figures for [now - 1 h, now); every site asked for has an entry (zeros without events)."""
    params = {"sites": sites, "since": now - WINDOW, "until": now, "checkout": list(CHECKOUT_EVENTS)}
    figures = {site: HourFigures() for site in sites}
    for row in runner.run(VISITORS_SQL, params).dicts():
        f = figures[row["site"]]
        f.visitors, f.checkouts, f.buyers = row["visitors"], row["checkouts"], row["buyers"]
    for row in runner.run(ORDERS_SQL, params).dicts():
        f = figures[row["site"]]
        f.orders += row["orders"]
        if row["currency"]:
            f.revenue[row["currency"]] = float(row["revenue"])
    return figures
