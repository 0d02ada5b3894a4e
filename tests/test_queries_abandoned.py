"""The owner page's abandoned carts and items from one computation (tracker/queries/abandoned.py)
equal what /carts/abandoned and /products/abandoned answer for the same query."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from tests.query_support import at, db, event, insert  # noqa: F401 - db is a fixture
from tests.test_queries_carts import query
from tracker.queries import abandoned, carts, products


def _seed(ch) -> None:
    """39 visitors: one to three items each (7 items shared among them, two currencies, names
    that change), a quarter of the carts bought, the rest abandoned."""
    events = []
    for visitor in range(1, 40):
        start = at(3600 * (visitor % 20))
        currency = "EUR" if visitor % 5 else "USD"
        for n in range(1 + visitor % 3):
            item = f"sku-{(visitor + n) % 7}"
            events.append(event("add_to_cart", start + timedelta(seconds=10 + n), visitor, currency=currency,
                                items=[(item, 3.5 + n + visitor % 2, 1 + n, f"Item {item} v{visitor % 2}")]))
        if visitor % 4 == 0:
            events.append(event("purchase", start + timedelta(seconds=60), visitor, transaction_id=f"T{visitor}", value=10, currency="EUR"))
    insert(ch, events)


def test_both_answers_equal_their_endpoints(db):
    _seed(db.ch)
    for cart_limit, item_limit, min_value in ((10, 10, None), (3, 2, None), (500, 1000, None), (5, 4, Decimal("8"))):
        cart_q = query(limit=cart_limit, min_value=min_value)
        item_q = replace(cart_q, limit=item_limit)
        cart_answer, item_answer = abandoned.run_both(db.runner, cart_q, item_q)
        assert cart_answer == carts.run_carts(db.runner, cart_q), (cart_limit, min_value)
        assert item_answer == products.run_abandoned(db.runner, item_q), (item_limit, min_value)
    # Not vacuous: there are carts and items to list, and pages to turn.
    assert cart_answer["totals"]["carts"] > 5 and item_answer["items_total"] == 7
    small = query(limit=3)
    assert abandoned.run_both(db.runner, small, small)[0]["next_cursor"] is not None


def test_no_abandoned_carts(db):
    cart_q = query(limit=10)
    cart_answer, item_answer = abandoned.run_both(db.runner, cart_q, cart_q)
    assert cart_answer == carts.run_carts(db.runner, cart_q) and cart_answer["carts"] == []
    assert item_answer == products.run_abandoned(db.runner, cart_q) and item_answer["items"] == []
