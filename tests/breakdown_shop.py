"""A small shop history for the breakdown panels of /app/{site} (tests/test_http_app_breakdowns.py,
tests/browser/test_app_breakdowns.py): paths, phones and laptops, three sources, two products,
orders of identified customers (one of them a returning customer from 40 days before), abandoned
carts and a buyer whose first visit was two days before the order.

Visitor v = 1..12 at T0 + v hours, from SOURCES[v % 3], on a phone when v % 3 == 0:
  /  then /shoes (+60 s); even v: view_item red shoe on /shoes/red (+90 s);
  v % 4 == 0: adds the red shoe (+120 s) and, except v = 8, buys it on /thanks (+300 s, 30 EUR, customer c-v);
  v % 5 == 0: views and adds two blue shoes (+200 s, +210 s) and leaves them (abandoned, with v = 8's red shoe);
  c-4 also bought 40 days before T0; v = 12 first came two days before T0 (a 2.5-day sales cycle).
"""

from __future__ import annotations

from datetime import timedelta

from tests.query_support import T0, at, event, insert

SOURCES = ["google", "newsletter", "direct"]
PHONE = {"device": "mobile", "browser": "Chrome", "os": "Android"}
LAPTOP = {"device": "desktop", "browser": "Firefox", "os": "Linux"}
RED = ("red", 30, 1, "Red shoe")
BLUE = ("blue", 25, 2, "Blue shoe")
DAYS = {"from": (T0.date() - timedelta(days=1)).isoformat(), "to": (T0.date() + timedelta(days=1)).isoformat()}


def seed(ch, site: str = "shop") -> None:
    rows = []
    for v in range(1, 13):
        t = at(v * 3600)
        kit = PHONE if v % 3 == 0 else LAPTOP
        ev = lambda name, seconds, **fields: event(name, t + timedelta(seconds=seconds), v, site=site, **kit, **fields)  # noqa: E731
        rows += [ev("page_view", 0, path="/", source=SOURCES[v % 3]), ev("page_view", 60, path="/shoes")]
        if v % 2 == 0:
            rows.append(ev("view_item", 90, path="/shoes/red", items=[RED], currency="EUR"))
        if v % 4 == 0:
            rows.append(ev("add_to_cart", 120, path="/shoes/red", items=[RED], value=30, currency="EUR"))
            if v != 8:
                rows.append(ev("purchase", 300, path="/thanks", items=[RED], value=30, currency="EUR",
                               transaction_id=f"T-{v}", customer_id=f"c-{v}"))
        if v % 5 == 0:
            rows.append(ev("view_item", 200, path="/shoes/blue", items=[BLUE[:3] + ("Blue shoe",)], currency="EUR"))
            rows.append(ev("add_to_cart", 210, path="/shoes/blue", items=[BLUE], value=50, currency="EUR"))
    rows.append(event("purchase", at(-40 * 86400), 4, site=site, **LAPTOP, path="/thanks", value=50, currency="EUR",
                      transaction_id="OLD-4", customer_id="c-4", items=[("blue", 25, 2, "Blue shoe")]))
    rows.append(event("page_view", at(12 * 3600 - 2 * 86400), 12, site=site, **PHONE, path="/", source="google"))
    insert(ch, rows)
