"""The abandoned carts and the items left in them, for the owner's page, from one computation of
the abandoned carts: the carts view (schema/views/50_carts.sql) is the dearest part of both
/carts/abandoned and /products/abandoned, and the page shows both for the same range.

The view's rows are a materialized CTE that the two answers' own SQL (carts.build_sql,
products.abandoned_sql) read in place of the view, so each answer equals its endpoint's for the
same query (same evaluation time `at`; tests/test_queries_abandoned.py compares them).
"""

from __future__ import annotations

from dataclasses import replace

from tracker.queries import carts, products
from tracker.queries.runner import QueryRunner

_CTE = "page_abandoned_carts"
# The columns of each part's rows, as the two builders select them.
_CART_NAMES = (*(c.strip() for c in carts.CART_COLUMNS.split(",")), "sort_time", "total_carts", "total_value")
_ITEM_NAMES = ("overall", "item_id", "item_name", "carts", "units", "item_value", "items_total")


def build_sql(carts_q: carts.CartQuery, items_q: carts.CartQuery) -> tuple[str, dict]:
    assert carts_q.kind == "abandoned" and carts_q.cursor is None  # the page's first page
    assert replace(items_q, limit=carts_q.limit) == carts_q  # the same carts: only the limits differ
    carts_sql, params = carts.build_sql(carts_q, source=_CTE)
    items_sql, items_params = products.abandoned_sql(items_q, source=_CTE)
    # Each part's limit has a name of its own (both builders call it `limit`).
    items_sql = items_sql.replace("{limit:UInt32}", "{items_limit:UInt32}")
    params["items_limit"] = items_params["limit"]
    # The two parts joined in FROM, not as scalar subqueries: ClickHouse (26.9) then computes the
    # CTE once (25M rows read on 10M events, against 45M and 46 % more CPU as scalar subqueries).
    sql = f"""
    WITH {_CTE} AS MATERIALIZED (SELECT * FROM {carts.SOURCES['abandoned']})
    SELECT carts, items
    FROM (SELECT groupArray(tuple(*)) AS carts FROM ({carts_sql})) AS listed
    CROSS JOIN (SELECT groupArray(tuple(*)) AS items FROM ({items_sql})) AS left_items
    SETTINGS enable_materialized_cte = 1"""
    return sql, params


def run_both(runner: QueryRunner, carts_q: carts.CartQuery, items_q: carts.CartQuery) -> tuple[dict, dict]:
    """(carts.run_carts(carts_q), products.run_abandoned(items_q)), from one query."""
    sql, params = build_sql(carts_q, items_q)
    (cart_rows, item_rows), = runner.run(sql, params).rows
    cart_rows = [dict(zip(_CART_NAMES, r)) for r in cart_rows]
    item_rows = [dict(zip(_ITEM_NAMES, r)) for r in item_rows]
    # groupArray keeps the order it was given, but the answers must not rest on that: each part's ORDER BY again.
    cart_rows.sort(key=lambda r: (r["sort_time"], r["visitor_id"], r["cart_no"]), reverse=True)
    item_rows.sort(key=lambda r: (-r["overall"], -r["carts"], r["item_id"]))
    return carts.carts_answer(runner, carts_q, cart_rows), products.abandoned_answer(items_q, item_rows)
