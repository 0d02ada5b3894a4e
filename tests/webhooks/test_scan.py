"""Which carts a webhook announces, and the body it gets: against hand-made carts in a real ClickHouse."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import re

import orjson

from tests.query_support import db, event, insert  # noqa: F401 - db is a fixture
from tracker.webhooks import scan
from tracker.webhooks.outbox import add_notice
from tracker.webhooks.registry import Webhook
from tracker.clickhouse.migrate import VIEWS_DIR
from tracker.webhooks.scan import CART_ACTIVITY, Scanned, ScanWindow, idempotency_key, idle_end, new_notices

NOW = datetime.now(timezone.utc).replace(microsecond=0)
HOUR = 3600


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def hook(created_at: datetime = NOW - timedelta(days=3), idle_s: int = HOUR) -> Webhook:
    return Webhook("wh1", "shop", "http://127.0.0.1:9/", idle_s, created_at, "whsec_x")


def window(now: datetime = NOW) -> ScanWindow:
    return ScanWindow(now, horizon_s=24 * HOUR, lookback_days=14, gap_s=1800, limit=100)


def visitors(notices) -> list[int]:
    return [n.visitor_id for n in notices]


def test_announces_idle_unbought_carts_once_with_the_cart_in_the_body(db):
    insert(db.ch, [
        # 1: two hours idle, reached checkout, customer known: announced
        event("page_view", ago(3 * HOUR), 1, source="newsletter", medium="email", campaign="spring"),
        event("add_to_cart", ago(3 * HOUR - 60), 1, items=[("A", 12.5, 2, "Apron")], currency="EUR"),
        event("begin_checkout", ago(2 * HOUR), 1, customer_id="c-7", currency="EUR"),
        # 2: idle 30 minutes: not abandoned yet
        event("add_to_cart", ago(1800), 2, items=[("B", 5, 1)], currency="EUR"),
        # 3: bought: not abandoned
        event("add_to_cart", ago(3 * HOUR), 3, items=[("B", 5, 1)], currency="EUR"),
        event("purchase", ago(2 * HOUR), 3, transaction_id="o3", value=5, currency="EUR"),
        # 4: idle for two days: abandoned before the horizon of a day
        event("add_to_cart", ago(50 * HOUR), 4, items=[("B", 5, 1)], currency="EUR"),
    ])
    notices = new_notices(db.ch, hook(), window())
    assert visitors(notices) == [1]
    notice = notices[0]
    assert notice.idempotency_key == idempotency_key("shop", 1, ago(3 * HOUR - 60))
    body = orjson.loads(notice.payload)
    assert body["type"] == "cart.abandoned" and body["id"] == notice.idempotency_key and body["site"] == "shop"
    assert body["idle"] == "1h"
    cart = body["cart"]
    assert cart["items"] == [{"item_id": "A", "item_name": "Apron", "quantity": 2, "price": 12.5}]
    assert (cart["value"], cart["currency"], cart["customer_id"], cart["last_step"]) == (25.0, "EUR", "c-7", "checkout")
    assert (cart["source"], cart["medium"], cart["campaign"]) == ("newsletter", "email", "spring")
    assert cart["started_at"] == ago(3 * HOUR - 60).isoformat(timespec="milliseconds")
    assert cart["last_activity"] == ago(2 * HOUR).isoformat(timespec="milliseconds")

    add_notice(db.ch, notice, NOW)
    assert new_notices(db.ch, hook(), window()) == []  # queued once
    # another webhook of the site has its own notices
    assert visitors(new_notices(db.ch, Webhook("wh2", "shop", "http://127.0.0.1:9/", HOUR, ago(3 * 86400)), window())) == [1]


def test_only_carts_abandoned_after_the_webhook_was_added(db):
    insert(db.ch, [
        event("add_to_cart", ago(3 * HOUR), 1, items=[("A", 1, 1)], currency="EUR"),  # abandoned 2 h ago
        event("add_to_cart", ago(90 * 60), 2, items=[("A", 1, 1)], currency="EUR"),  # abandoned 30 min ago
    ])
    assert visitors(new_notices(db.ch, hook(created_at=ago(HOUR)), window())) == [2]
    # the same carts with a 2-hour idle: only cart 1 is abandoned, and it became so just now
    assert visitors(new_notices(db.ch, hook(created_at=ago(HOUR), idle_s=2 * HOUR), window())) == [1]


def test_idempotency_key_names_the_cart_not_the_scan(db):
    insert(db.ch, [
        event("add_to_cart", ago(3 * HOUR), 1, items=[("A", 1, 1)], currency="EUR"),
        event("add_to_cart", ago(2 * HOUR), 1, items=[("B", 1, 1)], currency="EUR"),
    ])
    first = new_notices(db.ch, hook(), window())
    later = new_notices(db.ch, hook(), window(NOW + timedelta(minutes=10)))
    assert [n.idempotency_key for n in first] == [n.idempotency_key for n in later]
    assert first[0].idempotency_key != idempotency_key("shop", 1, ago(2 * HOUR))
    assert first[0].idempotency_key != idempotency_key("other-shop", 1, ago(3 * HOUR))


def test_the_candidate_filter_knows_every_cart_activity_of_the_carts_view():
    view = (VIEWS_DIR / "50_carts.sql").read_text()
    [names] = re.findall(r"\[([^]]*)\] AS cart_event_names", view)
    assert set(re.findall(r"'(\w+)'", names)) - {"purchase"} == set(CART_ACTIVITY)


def covered(at: datetime, h: Webhook | None = None) -> Scanned:
    """What a scan at `at` covered, as the sender remembers it for the next one."""
    return Scanned(idle_end(h or hook(), window(at)), at)


def test_an_incremental_scan_finds_carts_that_became_abandoned_since_the_previous_one(db):
    insert(db.ch, [
        event("add_to_cart", ago(HOUR - 10), 1, items=[("A", 1, 1)], currency="EUR"),  # abandoned 10 s from NOW
        event("add_to_cart", ago(2 * HOUR), 2, items=[("A", 1, 1)], currency="EUR"),  # abandoned an hour ago
        event("add_to_cart", ago(HOUR - 20), 3, items=[("A", 1, 1)], currency="EUR"),  # idle, then active again:
        event("view_cart", ago(60), 3),  # not abandoned
    ])
    for notice in new_notices(db.ch, hook(), window()):  # the previous scan queued cart 2
        add_notice(db.ch, notice, NOW)
    later = NOW + timedelta(seconds=30)
    incremental = new_notices(db.ch, hook(), window(later), after=covered(NOW))
    assert visitors(incremental) == [1]
    assert incremental == new_notices(db.ch, hook(), window(later))  # what the full window finds, the same body
    add_notice(db.ch, incremental[0], later)
    # The next scans: nothing new, incremental or full (once, as today).
    assert new_notices(db.ch, hook(), window(later + timedelta(seconds=30)), after=covered(later)) == []
    assert new_notices(db.ch, hook(), window(later + timedelta(seconds=30))) == []


def test_an_incremental_scan_finds_nothing_until_a_cart_crosses_the_idle_threshold(db):
    insert(db.ch, [event("add_to_cart", ago(2 * HOUR), v, items=[("A", 1, 1)], currency="EUR") for v in range(1, 50)])
    for notice in new_notices(db.ch, hook(), window()):
        add_notice(db.ch, notice, NOW)
    later = NOW + timedelta(seconds=30)
    assert new_notices(db.ch, hook(), window(later), after=covered(NOW)) == []  # nothing crossed: no carts query
    insert(db.ch, [event("add_to_cart", ago(HOUR - 10), 50, items=[("A", 1, 1)], currency="EUR")])
    assert visitors(new_notices(db.ch, hook(), window(later), after=covered(NOW))) == [50]


def test_late_events_received_since_the_previous_scan_are_found(db):
    # A backend sends a cart event timestamped two hours ago, received just after the previous scan.
    insert(db.ch, [event("add_to_cart", ago(2 * HOUR), 1, items=[("A", 1, 1)], currency="EUR", received_at=ago(-5))])
    later = NOW + timedelta(seconds=30)
    assert visitors(new_notices(db.ch, hook(), window(later), after=covered(NOW))) == [1]


def test_what_an_incremental_scan_leaves_to_the_full_one(db):
    # Received ten minutes before the previous scan, but in ClickHouse only now (a spool backlog):
    # past RECEIVED_SLACK, so only the periodic full scan (sender.FULL_SCAN_EVERY) finds it.
    insert(db.ch, [event("add_to_cart", ago(2 * HOUR), 1, items=[("A", 1, 1)], currency="EUR", received_at=ago(600))])
    later = NOW + timedelta(seconds=30)
    assert new_notices(db.ch, hook(), window(later), after=covered(NOW)) == []
    assert visitors(new_notices(db.ch, hook(), window(later))) == [1]


def test_many_candidates_are_read_as_a_subquery_with_the_same_carts(db, monkeypatch):
    insert(db.ch, [event("add_to_cart", ago(HOUR - 10 - v), v, items=[("A", 1, 1)], currency="EUR") for v in (1, 2, 3)])
    later = NOW + timedelta(seconds=30)
    by_id = new_notices(db.ch, hook(), window(later), after=covered(NOW))
    monkeypatch.setattr(scan, "MAX_CANDIDATES", 2)  # three candidates: too many to pass by id
    assert new_notices(db.ch, hook(), window(later), after=covered(NOW)) == by_id
    assert visitors(by_id) == [1, 2, 3]  # oldest last activity first
