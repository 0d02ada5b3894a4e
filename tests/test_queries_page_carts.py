"""The owner page's abandoned carts, abandoned items and recovered carts from one computation
(tracker/queries/page_carts.py) equal what /carts/abandoned, /products/abandoned and
/carts/recovered answer for the same query."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from tests.query_support import at, db, event, insert  # noqa: F401 - db is a fixture
from tests.test_queries_carts import query
from tracker.queries import carts, page_carts, products


def _seed(ch) -> None:
    """39 visitors: one to three items each (7 items shared among them, two currencies, names
    that change), a quarter of the carts bought at once, a sixth bought after a pause of two
    hours (recovered), the rest abandoned."""
    events = []
    for visitor in range(1, 40):
        start = at(3600 * (visitor % 20))
        currency = "EUR" if visitor % 5 else "USD"
        for n in range(1 + visitor % 3):
            item = f"sku-{(visitor + n) % 7}"
            events.append(event("add_to_cart", start + timedelta(seconds=10 + n), visitor, currency=currency,
                                items=[(item, 3.5 + n + visitor % 2, 1 + n, f"Item {item} v{visitor % 2}")]))
        if visitor % 4 == 0 or visitor % 6 == 1:
            paused = 0 if visitor % 4 == 0 else 7200
            events.append(event("purchase", start + timedelta(seconds=60 + paused), visitor, transaction_id=f"T{visitor}",
                                value=10, currency="EUR"))
    insert(ch, events)


def _lists(cart_q: carts.CartQuery, item_limit: int, recovered_limit: int) -> page_carts.PageCarts:
    return page_carts.PageCarts(cart_q, replace(cart_q, limit=item_limit), replace(cart_q, kind="recovered", limit=recovered_limit))


def test_the_three_answers_equal_their_endpoints(db):
    _seed(db.ch)
    for cart_limit, item_limit, recovered_limit, min_value in ((10, 10, 10, None), (3, 2, 4, None), (500, 1000, 2, None),
                                                               (5, 4, 3, Decimal("8"))):
        lists = _lists(query(limit=cart_limit, min_value=min_value), item_limit, recovered_limit)
        cart_answer, item_answer, recovered_answer = page_carts.run_all(db.runner, lists)
        assert cart_answer == carts.run_carts(db.runner, lists.abandoned), (cart_limit, min_value)
        assert item_answer == products.run_abandoned(db.runner, lists.items), (item_limit, min_value)
        assert recovered_answer == carts.run_carts(db.runner, lists.recovered), (recovered_limit, min_value)
    # Not vacuous: there are carts and items to list, and pages to turn.
    lists = _lists(query(limit=500), 1000, 500)
    cart_answer, item_answer, recovered_answer = page_carts.run_all(db.runner, lists)
    assert cart_answer["totals"]["carts"] == 39 - 9 - 7 and item_answer["items_total"] == 7
    assert recovered_answer["totals"]["carts"] == 7
    assert {c["visitor_id"] for c in recovered_answer["carts"]} == {str(v) for v in range(1, 40) if v % 6 == 1 and v % 4}
    cart_answer, _, recovered_answer = page_carts.run_all(db.runner, _lists(query(limit=3), 3, 3))
    assert cart_answer["next_cursor"] is not None and recovered_answer["next_cursor"] is not None


def test_no_carts(db):
    lists = _lists(query(limit=10), 10, 10)
    cart_answer, item_answer, recovered_answer = page_carts.run_all(db.runner, lists)
    assert cart_answer == carts.run_carts(db.runner, lists.abandoned) and cart_answer["carts"] == []
    assert item_answer == products.run_abandoned(db.runner, lists.items) and item_answer["items"] == []
    assert recovered_answer == carts.run_carts(db.runner, lists.recovered) and recovered_answer["carts"] == []
