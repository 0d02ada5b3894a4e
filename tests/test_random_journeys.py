"""A few thousand random visitor journeys, sent through POST /api/event, must give exactly the
funnel, cart and stats numbers that a plain-Python model of the documented rules computes.

The model (below) is written from docs/queries.md, independently of the SQL: windowFunnel's
rules for steps (whole seconds, same-second events in step order), sessions split after more
than the gap, carts from add/remove events closed by a purchase.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tests.conftest import BROWSER_UA, count_rows, wait_for
from tracker.app import create_app
from tracker.sites import Site, add_site
from tracker.tokens import create_token
from starlette.testclient import TestClient

SITE = "journeys"
GAP_S = 1800
WINDOW_S = 3600
IDLE_S = 3600
SOURCES = ("google", "newsletter", "facebook", "bing")
ITEMS = {"sku1": Decimal("9.99"), "sku2": Decimal("25.00"), "sku3": Decimal("4.50"), "sku4": Decimal("120.00")}
# Gaps between a visitor's events in seconds: same-second events, the session gap and its edges,
# the funnel window's edge, and pauses long enough to abandon a cart.
SHORT_GAPS = (0, 0, 1, 2, 7, 20, 45, 120, 300)
EDGE_GAPS = (1799, 1800, 1801, 3599, 3600, 3601, 5000, 3 * 3600)


@dataclass
class Ev:
    ms: int
    name: str
    source: str = "direct"
    items: list = field(default_factory=list)  # (item_id, price, quantity)
    value: Decimal | None = None
    currency: str = ""
    transaction_id: str = ""
    customer_id: str = ""

    @property
    def sec(self) -> int:
        return self.ms // 1000


def journeys(seed: int, visitors: int, start_ms: int) -> dict[str, list[Ev]]:
    rng = random.Random(seed)
    out = {}
    for v in range(visitors):
        name = f"v{v}"
        currency = rng.choice(["EUR", "USD"])
        customer = f"c{v}" if rng.random() < 0.5 else ""
        t = start_ms + rng.randint(0, 8 * 86400) * 1000 + rng.randint(0, 999)
        events: list[Ev] = []
        stage, orders = 0, 0
        for _ in range(rng.randint(1, 16)):
            if events:
                gap = rng.choice(EDGE_GAPS if rng.random() < 0.2 else SHORT_GAPS)
                t += gap * 1000 + rng.randint(1, 999)  # distinct milliseconds, often shared seconds
            roll = rng.random()
            if not events or roll < 0.15:
                events.append(Ev(t, "page_view", source=rng.choice(SOURCES) if rng.random() < 0.7 else "direct"))
                continue
            # mostly move forward through the shop funnel, sometimes repeat or jump
            stage = max(0, min(7, stage + rng.choice([-1, 0, 1, 1, 1, 2])))
            kind = ["view_item", "add_to_cart", "remove_from_cart", "view_cart", "begin_checkout", "add_shipping_info",
                    "add_payment_info", "purchase"][stage]
            sku = f"{name}-{rng.choice(list(ITEMS))}"  # item ids name their visitor, to match carts
            price = ITEMS[sku.split("-", 1)[1]]
            ev = Ev(t, kind, currency=currency, customer_id=customer if stage >= 4 else "")
            if kind in ("view_item", "add_to_cart", "remove_from_cart"):
                ev.items = [(sku, price, rng.randint(1, 3))]
            if kind == "purchase":
                orders += 1
                ev.transaction_id, ev.value = f"{name}-o{orders}", Decimal(rng.randint(5, 300))
                stage = rng.choice([0, 1, 5, 6])
            events.append(ev)
        out[name] = events
    return out


def payload(visitor: str, e: Ev) -> dict:
    url = "https://shop.example/p" + (f"?utm_source={e.source}" if e.source != "direct" else "")
    body = {"name": e.name, "ts": e.ms, "visitor": visitor, "url": url, "event_id": str(uuid.uuid4())}
    if e.items:
        body["items"] = [{"item_id": i, "price": float(p), "quantity": q} for i, p, q in e.items]
    if e.items or e.value is not None or e.name == "begin_checkout":
        body["currency"] = e.currency
    if e.value is not None:
        body["value"] = float(e.value)
    if e.transaction_id:
        body["transaction_id"] = e.transaction_id
    if e.customer_id:
        body["customer_id"] = e.customer_id
    return body


# --- the model --------------------------------------------------------------------------------

SHOP = [lambda e: True, lambda e: e.name in ("view_item", "select_item"), lambda e: e.name == "add_to_cart",
        lambda e: e.name in ("begin_checkout", "add_shipping_info", "add_payment_info"), lambda e: e.name == "purchase",
        lambda e: e.name == "purchase"]
SHOP_OCCURRENCE = [1, 1, 1, 1, 1, 2]  # repurchase: the unit's second purchase
SHOP_SAME_AS = [0, 1, 2, 3, 4, 4]


def sessions_of(events: list[Ev]) -> list[list[Ev]]:
    out: list[list[Ev]] = []
    for e in events:
        if not out or e.sec - out[-1][-1].sec > GAP_S:
            out.append([])
        out[-1].append(e)
    return out


def reach(unit: list[Ev], tests, same_as, occurrence, order: str) -> list[int | None]:
    n = len(tests)
    rank = defaultdict(int)
    pairs = []
    for e in unit:
        for d in set(same_as):
            if tests[d](e):
                rank[d] += 1
        codes = [k + 1 for k in range(n) if tests[k](e) and rank[same_as[k]] >= occurrence[k]]
        pairs += [(e.sec, c) for c in codes] or ([(e.sec, 0)] if order == "strict" else [])
    pairs.sort()
    reached: list[int | None] = [None] * n
    starts: list[int | None] = [None] * n
    last: list[int | None] = [None] * n
    begun = False
    for sec, code in pairs:
        if order == "any":
            if code:
                last[code - 1] = sec
            for k in range(n):
                if all(last[j] is not None and sec - last[j] <= WINDOW_S for j in range(k + 1)) and reached[k] is None:
                    reached[k] = sec
            continue
        if code == 0:
            if begun:
                break
            continue
        k = code - 1
        if k == 0:
            starts[0], begun = sec, True
        elif order == "strict" and begun and starts[k - 1] is None:
            break
        elif starts[k - 1] is not None and sec <= starts[k - 1] + WINDOW_S:
            starts[k] = starts[k - 1]
        else:
            continue
        if reached[k] is None:
            reached[k] = sec
    return reached


def quantile(values: list[int], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    pos = (len(values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return round(values[lo] + (values[hi] - values[lo]) * (pos - lo), 3)


def model_funnel(data: dict[str, list[Ev]], unit: str, order: str, tests=SHOP, same_as=SHOP_SAME_AS, occurrence=SHOP_OCCURRENCE):
    units = [evs for events in data.values() for evs in (sessions_of(events) if unit == "session" else [events])]
    entered = [(u, r) for u in units if (r := reach(u, tests, same_as, occurrence, order))[0] is not None]
    reached = [r for _, r in entered]
    by_source = defaultdict(list)
    for u, r in entered:
        by_source[u[0].source].append(r)  # the breakdown value is the unit's first event's

    def figures(rows):
        out = []
        for k in range(len(tests)):
            deltas = [r[k] - r[k - 1] for r in rows if k and r[k] is not None]
            out.append((sum(r[k] is not None for r in rows), quantile(deltas, 0.5), quantile(deltas, 0.9)))
        return out

    return figures(reached), {s: figures(rows) for s, rows in by_source.items()}


def model_carts(data: dict[str, list[Ev]], now_ms: int):
    abandoned, recovered = {}, {}
    for visitor, events in data.items():
        carts = defaultdict(list)
        bought = 0
        for e in events:
            if e.name in ("add_to_cart", "remove_from_cart", "view_cart", "begin_checkout", "add_shipping_info", "add_payment_info", "purchase"):
                carts[bought].append(e)
                bought += e.name == "purchase"
        for cart_no, evs in carts.items():
            if not any(e.name == "add_to_cart" for e in evs):
                continue
            qty, price = defaultdict(int), {}
            for e in evs:
                for item, p, q in e.items:
                    if e.name == "add_to_cart":
                        qty[item] += q
                        price[item] = p
                    elif e.name == "remove_from_cart":
                        qty[item] -= q
            items = sorted((i, q, float(price[i])) for i, q in qty.items() if q > 0)
            if not items:
                continue
            activity = [e.ms for e in evs if e.name != "purchase"]
            purchase = next((e for e in evs if e.name == "purchase"), None)
            rank = {"begin_checkout": 2, "add_shipping_info": 3, "add_payment_info": 4, "purchase": 0}
            step = ["", "cart", "checkout", "shipping", "payment"][max(rank.get(e.name, 1) for e in evs)]
            customer = next((e.customer_id for e in reversed(evs) if e.customer_id), None)
            session = next(s for s in sessions_of(events) if s[0].ms <= min(activity) and (s[-1].ms >= min(activity)))
            cart = (items, float(sum(Decimal(q) * Decimal(str(p)) for _, q, p in items)), step, customer, session[0].source,
                    max(activity))
            if purchase is None and now_ms - max(activity) > IDLE_S * 1000:
                abandoned[(visitor, cart_no)] = cart
            elif purchase is not None:
                timeline = activity + [purchase.ms]
                pause = next((i for i in range(len(timeline) - 1) if timeline[i + 1] - timeline[i] > IDLE_S * 1000), None)
                if pause is not None:
                    recovered[(visitor, cart_no)] = cart + ((purchase.ms - timeline[pause]) / 1000,)
    return abandoned, recovered


# --- the test ---------------------------------------------------------------------------------


@pytest.fixture
def fed(make_settings, ch):
    """The app with every journey ingested over HTTP, and a token for the site."""
    settings = make_settings(rate_limit_ip_per_s=0.0, rate_limit_site_per_s=0.0)
    now_ms = int(time.time() * 1000)
    data = journeys(seed=2024, visitors=360, start_ms=now_ms - 14 * 86400 * 1000)
    with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as client:
        add_site(ch, Site(SITE))
        assert wait_for(lambda: client.app.state.tracker.sites.get(SITE) is not None, True)
        bodies = [payload(v, e) for v, evs in data.items() for e in evs]
        for i in range(0, len(bodies), 500):
            r = client.post("/api/event", json={"site": SITE, "events": bodies[i : i + 500]})
            assert r.status_code == 202 and r.json()["accepted"] == len(bodies[i : i + 500]), r.text
        assert wait_for(lambda: count_rows(ch), len(bodies)) == len(bodies)
        _, token = create_token(ch, SITE)
        client.headers["authorization"] = f"Bearer {token}"
        yield client, data, now_ms


def span(now_ms: int) -> dict:
    now = datetime.fromtimestamp(now_ms / 1000, timezone.utc)
    return {"from": (now - timedelta(days=20)).date().isoformat(), "to": now.date().isoformat()}


def test_api_matches_a_python_model_of_random_journeys(fed):
    client, data, now_ms = fed
    assert 2500 <= sum(len(e) for e in data.values()) <= 4000
    base = span(now_ms)

    for unit in ("session", "visitor"):
        expected, expected_by_source = model_funnel(data, unit, "ordered")
        body = client.get("/api/v1/sites/journeys/funnel", params={**base, "window": "1h", "unit": unit, "breakdown": "source"}).json()
        assert [(s["count"], s["median_time_s"], s["p90_time_s"]) for s in body["steps"]] == expected, unit
        groups = {g["value"]: [(s["count"], s["median_time_s"], s["p90_time_s"]) for s in g["steps"]] for g in body["breakdown"]["groups"]}
        assert groups == expected_by_source, unit
    assert expected[5][0] > 0 and expected[3][0] > expected[4][0] > 0  # every stage is exercised

    custom = [lambda e: e.name == "view_item", lambda e: e.name in ("add_to_cart", "view_cart"), lambda e: e.name == "purchase"]
    anything = [lambda e: True, lambda e: e.name == "begin_checkout", lambda e: e.name == "purchase"]
    for order in ("strict", "any"):
        for unit in ("visitor", "session"):
            for tests, steps in ((custom, ["view_item", "add_to_cart|view_cart", "purchase"]), (anything, ["*", "begin_checkout", "purchase"])):
                expected, _ = model_funnel(data, unit, order, tests, [0, 1, 2], [1, 1, 1])
                body = client.get("/api/v1/sites/journeys/funnel", params={
                    **base, "window": "1h", "unit": unit, "order": order, "step": steps,
                }).json()
                assert [(s["count"], s["median_time_s"], s["p90_time_s"]) for s in body["steps"]] == expected, (order, unit, steps)

    abandoned, recovered = model_carts(data, now_ms)
    for kind, expected in (("abandoned", abandoned), ("recovered", recovered)):
        found, cursor = {}, None
        while True:
            params = {**base, "idle": "1h", "limit": 40, **({"cursor": cursor} if cursor else {})}
            page = client.get(f"/api/v1/sites/journeys/carts/{kind}", params=params).json()
            for c in page["carts"]:
                visitor = c["items"][0]["item_id"].split("-", 1)[0]
                last = int(datetime.fromisoformat(c["last_activity"]).timestamp() * 1000)
                row = ([(i["item_id"], i["quantity"], i["price"]) for i in c["items"]], c["value"], c["last_step"], c["customer_id"],
                       c["source"], last)
                found[(visitor, c["started_at"])] = row + ((c["time_to_recover_s"],) if kind == "recovered" else ())
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(found.values()) == sorted(expected.values()), kind
        assert page["totals"]["carts"] == len(expected) > 5, kind

    stats = client.get("/api/v1/sites/journeys/stats", params=base).json()["totals"]
    all_events = [e for evs in data.values() for e in evs]
    revenue = defaultdict(Decimal)
    for e in all_events:
        if e.name == "purchase":
            revenue[e.currency] += e.value
    assert stats["visitors"] == len(data)
    assert stats["sessions"] == sum(len(sessions_of(evs)) for evs in data.values())
    assert stats["page_views"] == sum(e.name == "page_view" for e in all_events)
    assert stats["orders"] == sum(e.name == "purchase" for e in all_events)
    assert {r["currency"]: r["revenue"] for r in stats["revenue"]} == {c: float(v) for c, v in revenue.items()}
