"""Carts against hand-computed fixtures: contents with removals, abandoned vs active vs bought,
recovered carts and their time to recover, one visitor's successive carts, sources, totals, pages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from tests.query_support import T0, at, db, event, insert  # noqa: F401 - db is a fixture
from tracker.queries.carts import CartQuery, decode_cursor, run_carts
from tracker.queries.timerange import TimeRange

HOUR = 3600


def query(kind="abandoned", idle_s=HOUR, **kw) -> CartQuery:
    now = datetime.now(timezone.utc)
    values = dict(
        site="shop", kind=kind, range=TimeRange(T0 - timedelta(days=1), now + timedelta(minutes=1), "UTC"),
        idle_s=idle_s, gap_s=1800, lookback_days=14, at=now,
    )
    values.update(kw)
    return CartQuery(**values)


def carts_of(db, q) -> dict[str, dict]:
    return {c["visitor_id"]: c for c in run_carts(db.runner, q)["carts"]}


def test_contents_follow_adds_and_removals(db):
    insert(db.ch, [
        event("add_to_cart", at(0), 1, items=[("A", 10, 2, "Apron")], currency="EUR"),
        event("add_to_cart", at(10), 1, items=[("B", 5, 1, "Bowl")], currency="EUR"),
        event("remove_from_cart", at(20), 1, items=[("A", 10, 1)], currency="EUR"),
        event("add_to_cart", at(30), 1, items=[("C", 7, 1)], currency="EUR"),
        event("remove_from_cart", at(40), 1, items=[("C", 7, 1)], currency="EUR"),
        # visitor 2 empties the cart: nothing left to abandon
        event("add_to_cart", at(0), 2, items=[("A", 10, 1)], currency="EUR"),
        event("remove_from_cart", at(5), 2, items=[("A", 10, 1)], currency="EUR"),
    ])
    found = carts_of(db, query())
    assert set(found) == {"1"}
    cart = found["1"]
    assert cart["items"] == [
        {"item_id": "A", "item_name": "Apron", "quantity": 1, "price": 10.0},
        {"item_id": "B", "item_name": "Bowl", "quantity": 1, "price": 5.0},
    ]
    assert (cart["item_count"], cart["value"], cart["currency"]) == (2, 15.0, "EUR")
    assert cart["last_activity"] == at(40).isoformat(timespec="milliseconds")
    assert cart["last_step"] == "cart"


def test_abandoned_only_when_idle_longer_than_the_threshold_and_not_bought(db):
    now = datetime.now(timezone.utc)
    insert(db.ch, [
        # 1: idle for days, never bought: abandoned
        event("add_to_cart", at(0), 1, items=[("A", 10, 1)], currency="EUR"),
        # 2: bought 10 minutes after the last activity: neither abandoned nor recovered
        event("add_to_cart", at(0), 2, items=[("A", 10, 1)], currency="EUR"),
        event("purchase", at(600), 2, transaction_id="o2", value=10, currency="EUR"),
        # 3: last activity 30 minutes ago: still active with a one-hour threshold
        event("add_to_cart", now - timedelta(minutes=30), 3, items=[("A", 10, 1)], currency="EUR"),
    ])
    assert set(carts_of(db, query(idle_s=HOUR))) == {"1"}
    assert set(carts_of(db, query(idle_s=20 * 60))) == {"1", "3"}
    assert carts_of(db, query(kind="recovered", idle_s=HOUR)) == {}
    # with a 5-minute threshold, visitor 2's 10-minute pause before buying was an abandonment
    recovered = carts_of(db, query(kind="recovered", idle_s=300))
    assert set(recovered) == {"2"}
    assert (recovered["2"]["time_to_recover_s"], recovered["2"]["transaction_id"], recovered["2"]["order_value"]) == (600.0, "o2", 10.0)


def test_recovered_cart_counts_from_the_first_long_pause(db):
    insert(db.ch, [
        # add, 3 hours pause, add again, buy 5 minutes later: abandoned at the first add, recovered
        event("add_to_cart", at(0), 1, items=[("A", 10, 1)], currency="EUR"),
        event("add_to_cart", at(3 * HOUR), 1, items=[("B", 20, 1)], currency="EUR"),
        event("begin_checkout", at(3 * HOUR + 60), 1, currency="EUR"),
        event("purchase", at(3 * HOUR + 300), 1, transaction_id="o1", value=30, currency="EUR"),
    ])
    recovered = carts_of(db, query(kind="recovered"))
    cart = recovered["1"]
    assert cart["abandoned_at"] == at(0).isoformat(timespec="milliseconds")
    assert cart["purchased_at"] == at(3 * HOUR + 300).isoformat(timespec="milliseconds")
    assert cart["time_to_recover_s"] == 3 * HOUR + 300
    assert (cart["value"], cart["last_step"]) == (30.0, "checkout")
    assert carts_of(db, query(kind="abandoned")) == {}


def test_a_purchase_closes_the_cart_and_the_next_add_opens_a_new_one(db):
    insert(db.ch, [
        event("add_to_cart", at(0), 1, items=[("A", 10, 1)], currency="EUR"),
        event("purchase", at(60), 1, transaction_id="o1", value=10, currency="EUR"),
        event("add_to_cart", at(120), 1, items=[("B", 4, 3)], currency="EUR"),
    ])
    carts = run_carts(db.runner, query())["carts"]
    assert [(c["items"], c["value"]) for c in carts] == [([{"item_id": "B", "item_name": "", "quantity": 3, "price": 4.0}], 12.0)]


def test_last_step_customer_source_and_currency(db):
    insert(db.ch, [
        event("page_view", at(0), 1, source="newsletter", medium="email", campaign="spring"),
        event("add_to_cart", at(10), 1, items=[("A", 10, 1)], currency="USD"),
        event("begin_checkout", at(20), 1, currency="USD"),
        event("add_shipping_info", at(30), 1, currency="USD", customer_id="cust-7"),
        event("add_payment_info", at(40), 1, currency="USD", customer_id="cust-7"),
        # visitor 2: anonymous, came from google in an earlier session; the cart's session was direct
        event("page_view", at(0), 2, source="google"),
        event("page_view", at(2 * HOUR), 2, source="direct"),
        event("add_to_cart", at(2 * HOUR + 5), 2, items=[("B", 3, 1)], currency="EUR"),
        event("begin_checkout", at(2 * HOUR + 9), 2, currency="EUR"),
    ])
    found = carts_of(db, query())
    assert (found["1"]["last_step"], found["1"]["customer_id"], found["1"]["currency"]) == ("payment", "cust-7", "USD")
    assert (found["1"]["source"], found["1"]["medium"], found["1"]["campaign"]) == ("newsletter", "email", "spring")
    assert (found["2"]["last_step"], found["2"]["customer_id"], found["2"]["source"]) == ("checkout", None, "direct")


def test_totals_per_currency_min_value_and_pages(db):
    rows = []
    for visitor in range(1, 6):  # values 10, 20, 30, 40, 50; the odd ones in EUR, the even ones in USD
        currency = "EUR" if visitor % 2 else "USD"
        rows.append(event("add_to_cart", at(visitor * 60), visitor, items=[("A", 10 * visitor, 1)], currency=currency))
    insert(db.ch, rows)
    first = run_carts(db.runner, query(limit=2))
    assert first["totals"] == {"carts": 5, "value": [{"currency": "EUR", "value": 90.0}, {"currency": "USD", "value": 60.0}]}
    assert [c["visitor_id"] for c in first["carts"]] == ["5", "4"]  # newest activity first
    second = run_carts(db.runner, query(limit=2, cursor=decode_cursor(first["next_cursor"])))
    third = run_carts(db.runner, query(limit=2, cursor=decode_cursor(second["next_cursor"])))
    assert [c["visitor_id"] for c in second["carts"] + third["carts"]] == ["3", "2", "1"]
    assert third["next_cursor"] is None and third["totals"]["carts"] == 5
    rich = run_carts(db.runner, query(min_value=Decimal(30)))
    assert [c["visitor_id"] for c in rich["carts"]] == ["5", "4", "3"] and rich["totals"]["carts"] == 3


def test_range_selects_by_last_activity_and_reads_earlier_events(db):
    insert(db.ch, [
        event("add_to_cart", at(0), 1, items=[("A", 10, 1)], currency="EUR"),
        event("add_to_cart", at(2 * 86400), 1, items=[("B", 1, 1)], currency="EUR"),
        event("add_to_cart", at(0), 2, items=[("A", 10, 1)], currency="EUR"),
    ])
    now = datetime.now(timezone.utc)
    later = TimeRange(T0 + timedelta(days=1), now, "UTC")
    carts = run_carts(db.runner, query(range=later))["carts"]
    # only visitor 1's cart was last active in the range, with the item added before it
    assert [(c["visitor_id"], c["item_count"], c["value"]) for c in carts] == [("1", 2, 11.0)]


def test_a_cart_filled_before_the_range_and_bought_in_it_is_recovered_whole(db):
    # The purchase is the visitor's only event in the range: the cart is still theirs, with both
    # items added days before (the view keeps visitors with a cart event since the range's start).
    insert(db.ch, [
        event("add_to_cart", at(0), 1, items=[("A", 10, 1)], currency="EUR"),
        event("add_to_cart", at(60), 1, items=[("B", 5, 2)], currency="EUR"),
        event("purchase", at(3 * 86400), 1, transaction_id="o1", value=20, currency="EUR"),
        event("add_to_cart", at(0), 2, items=[("A", 10, 1)], currency="EUR"),
        event("purchase", at(600), 2, transaction_id="o2", value=10, currency="EUR"),  # bought before the range
    ])
    later = TimeRange(T0 + timedelta(days=2), datetime.now(timezone.utc), "UTC")
    recovered = carts_of(db, query(kind="recovered", range=later))
    assert list(recovered) == ["1"]
    assert [(i["item_id"], i["quantity"]) for i in recovered["1"]["items"]] == [("A", 1), ("B", 2)]
    assert recovered["1"]["abandoned_at"] == at(60).isoformat(timespec="milliseconds")


def _notice(db, visitor: int, delivered_at, webhook: str = "wh1", delivered: bool = True) -> None:
    """A webhook notice of visitor's cart (started at T0), delivered (or failed) at delivered_at."""
    from tracker.webhooks import outbox

    notice = outbox.Notice(webhook, f"key-{visitor}", "shop", visitor, T0, b"{}")
    outbox.add_notice(db.ch, notice, delivered_at - timedelta(minutes=1))
    due = outbox.Due(notice, delivered_at - timedelta(minutes=1), 1)
    assert outbox.claim(db.ch, due, "sender", delivered_at, delivered_at)
    if delivered:
        outbox.record_delivered(db.ch, due, delivered_at, 200)
    else:
        outbox.record_failed(db.ch, due, delivered_at, delivered_at + timedelta(minutes=5), 500, "down")


def test_recovered_after_a_webhook_notice(db):
    cart = lambda v, price, currency: event("add_to_cart", at(0), v, items=[("A", price, 1)], currency=currency)  # noqa: E731
    buy = lambda v, s, value, currency: event("purchase", at(s), v, transaction_id=f"o{v}", value=value, currency=currency)  # noqa: E731
    insert(db.ch, [
        cart(1, 30, "EUR"), buy(1, 2 * HOUR, 30, "EUR"),  # notified at 1h01m, bought at 2h: after notice
        cart(2, 20, "USD"), buy(2, 3 * HOUR, 22, "USD"),  # notified, bought for 22 USD (with shipping): after notice
        cart(3, 50, "EUR"), buy(3, 2 * HOUR, 50, "EUR"),  # no webhook: recovered, not after a notice
        cart(4, 40, "EUR"), buy(4, 2 * HOUR, 40, "EUR"),  # the delivery failed: no notice went out
        cart(5, 10, "EUR"), buy(5, 2 * HOUR, 10, "EUR"),  # delivered only after the purchase
        cart(6, 70, "EUR"), buy(6, 2 * HOUR, 70, "EUR"),  # two webhooks delivered: counted once, the first time
    ])
    _notice(db, 1, at(HOUR + 60))
    _notice(db, 2, at(HOUR + 60))
    _notice(db, 4, at(HOUR + 60), delivered=False)
    _notice(db, 5, at(2 * HOUR + 60))
    _notice(db, 6, at(HOUR + 120), webhook="wh2")
    _notice(db, 6, at(HOUR + 60))
    result = run_carts(db.runner, query(kind="recovered"))
    found = {c["visitor_id"]: (c["notified_at"], c["after_notice"]) for c in result["carts"]}
    iso = lambda s: at(s).isoformat(timespec="milliseconds")  # noqa: E731
    assert found == {
        "1": (iso(HOUR + 60), True), "2": (iso(HOUR + 60), True), "3": (None, False), "4": (None, False),
        "5": (iso(2 * HOUR + 60), False), "6": (iso(HOUR + 60), True),
    }
    assert result["totals"] == {
        "carts": 6,
        "value": [{"currency": "EUR", "value": 200.0}, {"currency": "USD", "value": 20.0}],
        "after_notice": {"carts": 3, "revenue": [{"currency": "EUR", "value": 100.0}, {"currency": "USD", "value": 22.0}]},
    }
    # the same totals on a later page, and none of this in the abandoned list's answer
    page = run_carts(db.runner, query(kind="recovered", limit=2))
    assert run_carts(db.runner, query(kind="recovered", limit=2, cursor=decode_cursor(page["next_cursor"])))["totals"] == result["totals"]
    assert "after_notice" not in run_carts(db.runner, query())["totals"]
