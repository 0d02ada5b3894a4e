"""A small hand-made shop history shared by the channel, sales-cycle and segment tests; the
expected figures in those tests are worked out by hand from the comments below.

Sessions in the range T0-10h ... T0+2d (session gap 30 minutes):
  v1  T0      newsletter/email/spring, desktop   page_view, purchase o1 100 EUR (props plan=gold)
      (and 5 days earlier a google/organic visit, outside the range)
  v2  T0+1h   direct, desktop                    page_view, view_item (+30s), purchase o2 30 USD (+2m)
      T0+5h   Facebook/social, desktop           page_view, page_view /pricing, purchase o3 50 EUR (+10m)
  v3  T0+2h   google/organic, mobile             page_view (no order)
  v4  T0+3h   google/organic, mobile             page_view, view_item, purchase o4 20 EUR sent twice,
                                                 purchase o5 without value or currency
  v5  T0+4h   direct, desktop                    page_view, purchase o6 10 EUR (+1h: page views at +25m and +50m keep the visit going)
      (and 40 days earlier a bing/cpc visit, outside the range)
"""

from __future__ import annotations

from datetime import timedelta

from tests.query_support import T0, at, event, insert

HOUR = 3600
DAY = 86400
GOOGLE = {"source": "google", "medium": "organic"}
MOBILE = {"device": "mobile", "os": "Android", "browser": "Chrome"}


def seed(ch) -> None:
    insert(ch, [
        event("page_view", at(-5 * DAY), 1, **GOOGLE),
        event("page_view", at(0), 1, source="newsletter", medium="email", campaign="spring"),
        event("purchase", at(60), 1, transaction_id="o1", value=100, currency="EUR", props={"plan": "gold"}),

        event("page_view", at(HOUR), 2),
        event("view_item", at(HOUR + 30), 2, items=[("sku1", 30, 1)], currency="USD"),
        event("purchase", at(HOUR + 120), 2, transaction_id="o2", value=30, currency="USD"),
        event("page_view", at(5 * HOUR), 2, source="Facebook", medium="social"),
        event("page_view", at(5 * HOUR + 60), 2, path="/pricing"),
        event("purchase", at(5 * HOUR + 600), 2, transaction_id="o3", value=50, currency="EUR"),

        event("page_view", at(2 * HOUR), 3, **GOOGLE, **MOBILE),

        event("page_view", at(3 * HOUR), 4, **GOOGLE, **MOBILE),
        event("view_item", at(3 * HOUR + 100), 4, **MOBILE, items=[("sku2", 20, 1)], currency="EUR"),
        event("purchase", at(3 * HOUR + 200), 4, **MOBILE, transaction_id="o4", value=20, currency="EUR"),
        event("purchase", at(3 * HOUR + 201), 4, **MOBILE, transaction_id="o4", value=20, currency="EUR"),
        event("purchase", at(3 * HOUR + 300), 4, **MOBILE, transaction_id="o5"),

        event("page_view", at(-40 * DAY), 5, source="bing", medium="cpc"),
        event("page_view", at(4 * HOUR), 5),
        event("page_view", at(4 * HOUR + 1500), 5),
        event("page_view", at(4 * HOUR + 3000), 5),
        event("purchase", at(5 * HOUR), 5, transaction_id="o6", value=10, currency="EUR"),
    ])


START = T0 - timedelta(hours=10)
END = T0 + timedelta(days=2)
