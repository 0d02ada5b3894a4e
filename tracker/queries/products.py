"""Products: per item, how often it was viewed, added to a cart and bought (units and revenue per
currency) with the view-to-purchase conversion; and the items most often left in abandoned carts.

Semantics (docs/queries.md has the user's version):
  * An item is its `item_id`; items sent with a name only are told apart by that name. Its name is
    the latest non-empty `item_name` sent with it.
  * Views and adds count `view_item` / `add_to_cart` events that list the item, in the range.
  * Purchases come from the `order_items` view: the orders of the `orders` view (one per
    transaction id, gross of refunds, as /stats), their item lines; revenue is price x quantity.
  * view_to_purchase: of the visitors who viewed the item in the range, the share who also
    bought it in the range (same visitor id).
  * Abandoned items: the items of the carts /carts/abandoned lists for the same parameters (same
    view, idle time, lookback, last activity in the range), so their totals agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tracker.clickhouse.client import quote_identifier
from tracker.queries import carts
from tracker.queries.runner import QueryRunner
from tracker.queries.timerange import TimeRange

SORTS = ("units", "orders", "views", "adds")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True)
class ProductQuery:
    site: str
    range: TimeRange
    sort: str = "units"
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        assert self.sort in SORTS  # the HTTP layer validates; this guards the SQL builder


def build_sql(q: ProductQuery) -> tuple[str, dict]:
    params = {"site": q.site, "start": q.range.start, "end": q.range.end, "limit": q.limit}
    # Items without an id are told apart by their name (`nameless`, '' for items with an id).
    sql = f"""
    SELECT item_id, if(item_id = '', nameless, latest_name) AS item_name,
        views, viewers, adds, added_units, orders, units, buyers,
        -- Viewers who also bought: |viewers| + |buyers| - |viewers or buyers|, all exact. Matching
        -- them in a group per (item, visitor) first was 2 to 4 times slower (2M events, measured).
        viewers + buyers - viewers_or_buyers AS viewers_who_bought,
        revenue, count() OVER () AS items_total
    FROM
    (
        SELECT item_id, if(item_id = '', item_name, '') AS nameless,
            argMaxIf(item_name, ts, item_name != '') AS latest_name,
            countIf(kind = 'view_item' AND first_in_event) AS views,
            uniqExactIf(visitor_id, kind = 'view_item') AS viewers,
            countIf(kind = 'add_to_cart' AND first_in_event) AS adds,
            sumIf(quantity, kind = 'add_to_cart') AS added_units,
            uniqExactIf(order_key, kind = 'purchase') AS orders,
            sumIf(quantity, kind = 'purchase') AS units,
            uniqExactIf(visitor_id, kind = 'purchase') AS buyers,
            uniqExactIf(visitor_id, kind IN ('view_item', 'purchase')) AS viewers_or_buyers,
            sumMapIf([currency], [revenue], kind = 'purchase') AS revenue
        FROM
        (
            SELECT toString(name) AS kind, visitor_id, ts, item_id, item_name, toUInt64(quantity) AS quantity,
                nth = 1 AS first_in_event, '' AS order_key, '' AS currency, toDecimal64(0, 4) AS revenue
            FROM events
            ARRAY JOIN `items.item_id` AS item_id, `items.item_name` AS item_name, `items.quantity` AS quantity,
                arrayEnumerateUniq(`items.item_id`, `items.item_name`) AS nth
            WHERE site = {{site:String}} AND ts >= {{start:DateTime64(3)}} AND ts < {{end:DateTime64(3)}}
                AND name IN ('view_item', 'add_to_cart')
            UNION ALL
            SELECT 'purchase', visitor_id, ts, item_id, item_name, toUInt64(quantity), true, order_key, toString(currency), revenue
            FROM order_items(site = {{site:String}}, from = {{start:DateTime64(3)}}, to = {{end:DateTime64(3)}})
        )
        GROUP BY item_id, nameless
    )
    ORDER BY {quote_identifier(q.sort)} DESC, views DESC, item_id, item_name
    LIMIT {{limit:UInt32}}"""
    return sql, params


def abandoned_sql(q: carts.CartQuery, source: str | None = None) -> tuple[str, dict]:
    """The items of the abandoned carts; `source` replaces the abandoned carts view (see carts.build_sql)."""
    params = {**carts.read_params(q), "limit": q.limit}
    filters = ["last_activity >= {start:DateTime64(3)}", "last_activity < {end:DateTime64(3)}"]
    if q.min_value is not None:
        params["min_value"] = q.min_value
        filters.append("value >= {min_value:Decimal64(4)}")
    # Grouping set () is every abandoned cart in the range (the /carts/abandoned totals); an item
    # is in a cart at most once (its contents are summed per item).
    sql = f"""
    SELECT grouping(item_id) AS overall, item_id, argMax(line_name, last_activity) AS item_name,
        uniqExact(visitor_id, cart_no) AS carts, sum(line_quantity) AS units,
        sumMap(map(currency, toDecimal64(line_quantity, 4) * line_price)) AS item_value,
        countIf(NOT overall) OVER () AS items_total
    FROM {source or carts.SOURCES['abandoned']}
    ARRAY JOIN item_ids AS item_id, item_names AS line_name, quantities AS line_quantity, prices AS line_price
    WHERE {' AND '.join(filters)}
    GROUP BY GROUPING SETS ((), (item_id))
    ORDER BY overall DESC, carts DESC, item_id
    LIMIT {{limit:UInt32}} + 1"""
    return sql, params


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _amounts(by_currency: dict, key: str) -> list[dict]:
    # Per currency, never added across currencies; lines without a currency have no amount.
    return [{"currency": c, key: float(round(Decimal(v), 4))} for c, v in sorted(by_currency.items()) if c]


def run_products(runner: QueryRunner, q: ProductQuery) -> dict:
    sql, params = build_sql(q)
    rows = runner.run(sql, params).dicts()
    items = [
        {
            "item_id": r["item_id"],
            "item_name": r["item_name"],
            "views": r["views"],
            "viewers": r["viewers"],
            "adds": r["adds"],
            "added_units": r["added_units"],
            "orders": r["orders"],
            "units": r["units"],
            "buyers": r["buyers"],
            "revenue": _amounts(dict(zip(*r["revenue"])), "revenue"),
            "view_to_purchase": _percent(r["viewers_who_bought"], r["viewers"]),
        }
        for r in rows
    ]
    return {"sort": q.sort, "items": items, "items_total": rows[0]["items_total"] if rows else 0}


def run_abandoned(runner: QueryRunner, q: carts.CartQuery) -> dict:
    sql, params = abandoned_sql(q)
    return abandoned_answer(q, runner.run(sql, params).dicts())


def abandoned_answer(q: carts.CartQuery, rows: list[dict]) -> dict:
    """The answer from the rows of abandoned_sql."""
    overall = next((r for r in rows if r["overall"]), None)
    items = [
        {"item_id": r["item_id"], "item_name": r["item_name"], "carts": r["carts"], "units": r["units"],
         "value": _amounts(r["item_value"], "value")}
        for r in rows if not r["overall"]
    ][: q.limit]
    totals = {"carts": overall["carts"], "value": _amounts(overall["item_value"], "value")} if overall else {"carts": 0, "value": []}
    return {"items": items, "items_total": overall["items_total"] if overall else 0, "totals": totals}
