"""The owner's page's carts: the abandoned carts, the items left in them and the recovered carts,
from one computation of the carts. The carts view (schema/views/50_carts.sql) is the dearest part of
/carts/abandoned, /products/abandoned and /carts/recovered, and the page shows all three for the
same range.

The rows of cart_outcomes (schema/views/60_abandoned_carts.sql: every cart with whether it is
abandoned or recovered) are a materialized CTE (tracker/queries/together.py), which the three
answers' own SQL (carts.build_sql, products.abandoned_sql) read in place of their views, so each answer equals its endpoint's for the
same query (same evaluation time `at`; tests/test_queries_page_carts.py compares them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tracker.queries import carts, products, together
from tracker.queries.runner import QueryRunner

_CTE = "page_carts"
# Each part's carts: the CTE's rows of that outcome (the views abandoned_carts and recovered_carts
# select the same rows of cart_outcomes).
_ABANDONED = f"(SELECT * FROM {_CTE} WHERE abandoned)"
_RECOVERED = f"(SELECT * FROM {_CTE} WHERE recovered)"


def _names(columns: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in columns.split(","))


# The columns of each part's rows, as the builders select them.
_CART_NAMES = (*_names(carts.CART_COLUMNS), "sort_time", "total_carts", "total_value")
_RECOVERED_NAMES = (*_names(carts.CART_COLUMNS), *_names(carts.RECOVERED_COLUMNS), "sort_time", "total_carts", "total_value",
                    "notice_carts", "notice_revenue")
_ITEM_NAMES = ("overall", "item_id", "item_name", "carts", "units", "item_value", "items_total")


@dataclass(frozen=True)
class PageCarts:
    """The three lists' queries: the same carts (range, idle time, `at`, minimum value), first pages;
    only their limits may differ."""

    abandoned: carts.CartQuery
    items: carts.CartQuery
    recovered: carts.CartQuery

    def __post_init__(self) -> None:
        assert self.abandoned.kind == "abandoned" and self.recovered.kind == "recovered"
        assert self.abandoned.cursor is None and self.recovered.cursor is None
        assert replace(self.items, limit=self.abandoned.limit) == self.abandoned
        assert replace(self.recovered, kind="abandoned", limit=self.abandoned.limit) == self.abandoned


def _renamed(sql: str, params: dict, name: str, new_name: str) -> tuple[str, dict]:
    """A part's parameter under a name of its own (the builders all call their limit `limit`)."""
    return sql.replace(f"{{{name}:", f"{{{new_name}:"), {**params, new_name: params[name]}


def build_sql(q: PageCarts) -> tuple[str, dict]:
    carts_sql, params = carts.build_sql(q.abandoned, source=_ABANDONED)
    items_sql, items_params = _renamed(*products.abandoned_sql(q.items, source=_ABANDONED), "limit", "items_limit")
    recovered_sql, recovered_params = _renamed(*carts.build_sql(q.recovered, source=_RECOVERED), "limit", "recovered_limit")
    params.update(items_limit=items_params["items_limit"], recovered_limit=recovered_params["recovered_limit"])
    sql = together.one_query(_CTE, f"SELECT * FROM {carts.view_source('cart_outcomes')}",
                             {"abandoned": carts_sql, "items": items_sql, "recovered": recovered_sql})
    return sql, params


def _by_sort_key(rows: list[dict]) -> list[dict]:
    """carts.build_sql's ORDER BY."""
    return sorted(rows, key=lambda r: (r["sort_time"], r["visitor_id"], r["cart_no"]), reverse=True)


def run_all(runner: QueryRunner, q: PageCarts) -> tuple[dict, dict, dict]:
    """(carts.run_carts(q.abandoned), products.run_abandoned(q.items), carts.run_carts(q.recovered)), from one query."""
    sql, params = build_sql(q)
    (abandoned_rows, item_rows, recovered_rows), = runner.run(sql, params).rows
    abandoned_rows = _by_sort_key([dict(zip(_CART_NAMES, r)) for r in abandoned_rows])
    recovered_rows = _by_sort_key([dict(zip(_RECOVERED_NAMES, r)) for r in recovered_rows])
    item_rows = sorted((dict(zip(_ITEM_NAMES, r)) for r in item_rows), key=lambda r: (-r["overall"], -r["carts"], r["item_id"]))
    return (carts.carts_answer(runner, q.abandoned, abandoned_rows), products.abandoned_answer(q.items, item_rows),
            carts.carts_answer(runner, q.recovered, recovered_rows))
