"""Products against a hand-computed example: views, adds, orders, units and revenue per currency
per item, view-to-purchase conversion, items without an id, and the items left in abandoned carts
(agreeing with /carts/abandoned)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.query_support import T0, at, day_range, db, event, insert  # noqa: F401 - db is a fixture
from tracker.queries.carts import CartQuery, run_carts
from tracker.queries.products import ProductQuery, run_abandoned, run_products

HOUR = 3600


def fixture(db) -> None:
    insert(db.ch, [
        # 1: views the apron twice, adds two, buys them with a bowl (the purchase sent twice).
        event("view_item", at(0), 1, items=[("A", 10, 1, "Apron")], currency="EUR"),
        event("view_item", at(100), 1, items=[("A", 10, 1, "Apron")], currency="EUR"),
        event("add_to_cart", at(200), 1, items=[("A", 10, 2, "Apron")], currency="EUR"),
        event("purchase", at(300), 1, transaction_id="o1", value=30, currency="EUR",
              items=[("A", 10, 2, "Apron"), ("B", 5, 1, "Bowl")]),
        event("purchase", at(301), 1, transaction_id="o1", value=30, currency="EUR",
              items=[("A", 10, 2, "Apron"), ("B", 5, 1, "Bowl")]),
        event("refund", at(400), 1, transaction_id="o1", value=30, currency="EUR", items=[("A", 10, 2, "Apron")]),
        # 2: views the apron and the bowl, leaves the bowl in the cart.
        event("view_item", at(10), 2, items=[("A", 10, 1, "Apron")], currency="EUR"),
        event("view_item", at(20), 2, items=[("B", 5, 1, "Bowl")], currency="EUR"),
        event("add_to_cart", at(30), 2, items=[("B", 5, 1, "Bowl")], currency="EUR"),
        # 3: buys an apron in USD without viewing it.
        event("purchase", at(500), 3, transaction_id="o3", value=12, currency="USD", items=[("A", 12, 1, "Apron")]),
        # 4: one view listing the apron twice, views a cup, leaves 2 cups and an apron (18 EUR).
        event("view_item", at(40), 4, items=[("A", 10, 1, "Apron"), ("A", 10, 1, "Apron")], currency="EUR"),
        event("view_item", at(50), 4, items=[("C", 4, 1, "Cup")], currency="EUR"),
        event("add_to_cart", at(60), 4, items=[("C", 4, 3, "Cup")], currency="EUR"),
        event("add_to_cart", at(70), 4, items=[("A", 10, 1, "Apron")], currency="EUR"),
        event("remove_from_cart", at(80), 4, items=[("C", 4, 1, "Cup")], currency="EUR"),
        # 5: buys a gift card sent with a name only; the apron's latest name is "Apron, blue".
        event("purchase", at(600), 5, transaction_id="o5", value=25, currency="EUR", items=[("", 25, 1, "Gift card")]),
        event("view_item", at(700), 5, items=[("A", 10, 1, "Apron, blue")], currency="EUR"),
        # 6: leaves an apron in a USD cart.
        event("add_to_cart", at(90), 6, items=[("A", 12, 1, "Apron")], currency="USD"),
        # Before the range: not counted.
        event("view_item", at(-3 * 86400), 7, items=[("A", 10, 1, "Apron")], currency="EUR"),
    ])


def products(db, **kw) -> dict:
    return run_products(db.runner, ProductQuery("shop", day_range(), **kw))


def test_item_figures_by_hand(db):
    fixture(db)
    result = products(db)
    assert result["items_total"] == 4
    by_item = {(i["item_id"], i["item_name"]): i for i in result["items"]}
    # Best sellers first (units), then views: A 3 units, B and the gift card 1 (B has a view), C 0.
    assert list(by_item) == [("A", "Apron, blue"), ("B", "Bowl"), ("", "Gift card"), ("C", "Cup")]
    figures = ("views", "viewers", "adds", "added_units", "orders", "units", "buyers", "view_to_purchase")
    assert {k: tuple(i[f] for f in figures) for k, i in by_item.items()} == {
        # A: views 2 (v1) + 1 (v2) + 1 (v4, listed twice in one event) + 1 (v5); adds v1 (2), v4 (1),
        # v6 (1); orders o1 (2 units) and o3 (1); of 4 viewers only v1 bought: 25 %.
        ("A", "Apron, blue"): (5, 4, 3, 4, 2, 3, 2, 25.0),
        ("B", "Bowl"): (1, 1, 1, 1, 1, 1, 1, 0.0),  # v2 viewed, v1 bought without viewing
        ("", "Gift card"): (0, 0, 0, 0, 1, 1, 1, None),
        ("C", "Cup"): (1, 1, 1, 3, 0, 0, 0, 0.0),
    }
    assert by_item[("A", "Apron, blue")]["revenue"] == [{"currency": "EUR", "revenue": 20.0}, {"currency": "USD", "revenue": 12.0}]
    assert by_item[("B", "Bowl")]["revenue"] == [{"currency": "EUR", "revenue": 5.0}]
    assert by_item[("", "Gift card")]["revenue"] == [{"currency": "EUR", "revenue": 25.0}]
    assert by_item[("C", "Cup")]["revenue"] == []


def test_sort_and_limit(db):
    fixture(db)
    assert [i["item_id"] for i in products(db, sort="views")["items"]] == ["A", "B", "C", ""]
    assert [i["item_id"] for i in products(db, sort="adds")["items"]] == ["A", "B", "C", ""]
    top = products(db, sort="orders", limit=1)
    assert [i["item_id"] for i in top["items"]] == ["A"] and top["items_total"] == 4


def test_no_events_no_items(db):
    assert products(db) == {"sort": "units", "items": [], "items_total": 0}


def cart_query(**kw) -> CartQuery:
    now = datetime.now(timezone.utc)
    values = dict(site="shop", kind="abandoned", range=day_range(), idle_s=HOUR, gap_s=1800, lookback_days=14, at=now)
    return CartQuery(**{**values, **kw})


def test_items_left_in_abandoned_carts(db):
    fixture(db)
    result = run_abandoned(db.runner, cart_query())
    # Abandoned: v2 (bowl, 5 EUR), v4 (2 cups at 4 + an apron at 10 = 18 EUR), v6 (apron, 12 USD).
    assert [(i["item_id"], i["item_name"], i["carts"], i["units"], i["value"]) for i in result["items"]] == [
        ("A", "Apron", 2, 2, [{"currency": "EUR", "value": 10.0}, {"currency": "USD", "value": 12.0}]),
        ("B", "Bowl", 1, 1, [{"currency": "EUR", "value": 5.0}]),
        ("C", "Cup", 1, 2, [{"currency": "EUR", "value": 8.0}]),
    ]
    assert result["items_total"] == 3
    assert result["totals"] == {"carts": 3, "value": [{"currency": "EUR", "value": 23.0}, {"currency": "USD", "value": 12.0}]}
    # The same carts as the abandoned-carts list.
    assert result["totals"] == run_carts(db.runner, cart_query())["totals"]


def test_abandoned_items_follow_idle_min_value_and_limit(db):
    fixture(db)
    insert(db.ch, [event("add_to_cart", datetime.now(timezone.utc) - timedelta(minutes=10), 8,
                         items=[("D", 3, 1, "Dish")], currency="EUR")])
    month = day_range(days=30)
    assert "D" not in [i["item_id"] for i in run_abandoned(db.runner, cart_query(range=month))["items"]]  # idle 10 min < 1 h
    assert "D" in [i["item_id"] for i in run_abandoned(db.runner, cart_query(idle_s=300, range=month))["items"]]
    rich = run_abandoned(db.runner, cart_query(min_value=10))  # v4 (18 EUR) and v6 (12 USD)
    assert [(i["item_id"], i["carts"]) for i in rich["items"]] == [("A", 2), ("C", 1)] and rich["totals"]["carts"] == 2
    top = run_abandoned(db.runner, cart_query(limit=1))
    assert [i["item_id"] for i in top["items"]] == ["A"] and top["items_total"] == 3


def test_order_items_view_sees_the_orders_of_the_orders_view(db):
    fixture(db)
    params = {"site": "shop", "from": T0 - timedelta(days=1), "to": T0 + timedelta(days=1)}
    orders = db.ch.query("SELECT transaction_id, toString(value) FROM orders(site = {site:String}, from = {from:DateTime64(3)},"
                         " to = {to:DateTime64(3)}) ORDER BY transaction_id", parameters=params).result_rows
    lines = db.ch.query("SELECT order_key, groupArray((item_id, quantity, toString(revenue))) FROM (SELECT * FROM order_items("
                        "site = {site:String}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)}) ORDER BY item_id)"
                        " GROUP BY order_key ORDER BY order_key", parameters=params).result_rows
    assert orders == [("o1", "30"), ("o3", "12"), ("o5", "25")]
    assert lines == [("o1", [("A", 2, "20"), ("B", 1, "5")]), ("o3", [("A", 1, "12")]), ("o5", [("", 1, "25")])]
