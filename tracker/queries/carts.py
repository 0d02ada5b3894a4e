"""Abandoned and recovered carts: paginated lists with totals, from the views in schema/views.

The lists read events from `cart_lookback_days` before `from`, so a cart started earlier still
has all its items; a cart is listed when its last activity (abandoned) or its purchase
(recovered) falls in the range. Pages are keyset-paginated: the cursor is the sort key of the
last cart on the previous page, so pages stay stable while new carts arrive.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson

from tracker.queries.errors import ParamError
from tracker.queries.runner import QueryRunner
from tracker.queries.timerange import TimeRange

MIN_IDLE_S = 60
MAX_IDLE_S = 30 * 86400
DEFAULT_LIMIT = 50
MAX_LIMIT = 500

CART_COLUMNS = """visitor_id, cart_no, started_at, last_activity, last_step, customer_id, item_ids, item_names, quantities,
    prices, item_count, value, currency, source, medium, campaign"""
RECOVERED_COLUMNS = "abandoned_at, purchased_at, time_to_recover_s, transaction_id, order_value, order_currency, notified_at, after_notice"
# Recovered carts bought after a webhook announced them (docs/webhooks.md): count and order revenue
# per currency (orders without a currency count in `carts` only, as in /stats).
_AFTER_NOTICE_TOTALS = """,
            countIf(after_notice) OVER () AS notice_carts,
            sumMapIf(map(order_currency, ifNull(order_value, 0)), after_notice AND order_currency != '') OVER () AS notice_revenue"""


@dataclass(frozen=True)
class CartQuery:
    site: str
    kind: str
    range: TimeRange
    idle_s: int
    gap_s: int
    lookback_days: int
    at: datetime  # "now": carts idle since before at - idle are abandoned
    min_value: Decimal | None = None
    limit: int = DEFAULT_LIMIT
    cursor: tuple[int, int, int] | None = None  # (sort time in ms, visitor_id, cart_no)
    visitors: tuple[int, ...] = ()  # only these visitors' carts (() = every visitor)


def encode_cursor(key: tuple[int, int, int]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[int, int, int]:
    try:
        key = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if isinstance(key, list) and len(key) == 3 and all(isinstance(k, int) and k >= 0 for k in key):
            return key[0], key[1], key[2]
    except (ValueError, orjson.JSONDecodeError):
        pass
    raise ParamError("cursor", "is not a cursor this API returned")


# The carts' views (schema/views/60_abandoned_carts.sql) all take these parameters (see read_params).
_VIEW_PARAMS = ("site = {site:String}, from = {read_from:DateTime64(3)}, to = {read_to:DateTime64(3)}, gap_s = {gap_s:UInt32}, "
                "idle_s = {idle_s:UInt32}, at = {at:DateTime64(3)}, visitors = {visitors:Array(UInt64)}, active_from = {start:DateTime64(3)}")


def view_source(view: str) -> str:
    """The rows of one of the carts' views for a query's parameters."""
    return f"{view}({_VIEW_PARAMS})"


# The carts of a query: the view of its kind over the events read.
SOURCES = {"abandoned": view_source("abandoned_carts"), "recovered": view_source("recovered_carts")}


def read_params(q: CartQuery) -> dict:
    """The bound parameters of SOURCES and of the range filter (start, end)."""
    return {
        "site": q.site,
        "read_from": q.range.start - timedelta(days=q.lookback_days),
        "read_to": q.at,
        "gap_s": q.gap_s,
        "idle_s": q.idle_s,
        "at": q.at,
        "visitors": list(q.visitors),
        "start": q.range.start,
        "end": q.range.end,
    }


def build_sql(q: CartQuery, source: str | None = None) -> tuple[str, dict]:
    """The page of carts; `source` replaces the view of the kind (a CTE of its rows, as
    tracker/queries/page_carts.py shares them among the page's lists)."""
    params = read_params(q)
    params["limit"] = q.limit + 1  # one more tells whether there is a next page
    sort_time = "last_activity" if q.kind == "abandoned" else "assumeNotNull(purchased_at)"
    source = source or SOURCES[q.kind]
    columns = CART_COLUMNS if q.kind == "abandoned" else f"{CART_COLUMNS}, {RECOVERED_COLUMNS}"
    filters = [f"{sort_time} >= {{start:DateTime64(3)}}", f"{sort_time} < {{end:DateTime64(3)}}"]
    if q.min_value is not None:
        params["min_value"] = q.min_value
        filters.append("value >= {min_value:Decimal64(4)}")
    after = "1"
    if q.cursor:
        params.update(c_ms=q.cursor[0], c_visitor=q.cursor[1], c_cart=q.cursor[2])
        after = "(toUnixTimestamp64Milli(sort_time), visitor_id, cart_no) < ({c_ms:Int64}, {c_visitor:UInt64}, {c_cart:UInt32})"
    # Totals are window aggregates over every cart in the range, computed before the cursor cut.
    sql = f"""
    SELECT * FROM
    (
        SELECT {columns}, {sort_time} AS sort_time,
            count() OVER () AS total_carts,
            sumMap(map(currency, value)) OVER () AS total_value{_AFTER_NOTICE_TOTALS if q.kind == "recovered" else ""}
        FROM {source}
        WHERE {' AND '.join(filters)}
    )
    WHERE {after}
    ORDER BY sort_time DESC, visitor_id DESC, cart_no DESC
    LIMIT {{limit:UInt32}}"""
    return sql, params


def _time(value: datetime | None, tz: ZoneInfo) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(tz).isoformat(timespec="milliseconds")


def _ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)  # clickhouse-connect gives UTC columns as naive times
    return round(value.timestamp() * 1000)


def _money(value) -> float | None:
    return None if value is None else float(round(Decimal(value), 4))


def cart_answer(row: dict, kind: str, tz: ZoneInfo) -> dict:
    cart = {
        "cart_id": f"{row['visitor_id']}-{row['cart_no']}",
        "visitor_id": str(row["visitor_id"]),  # 64-bit: a JSON number would lose digits in JavaScript
        "customer_id": row["customer_id"] or None,
        "started_at": _time(row["started_at"], tz),
        "last_activity": _time(row["last_activity"], tz),
        "last_step": row["last_step"],
        "items": [
            {"item_id": i, "item_name": n, "quantity": q, "price": _money(p)}
            for i, n, q, p in zip(row["item_ids"], row["item_names"], row["quantities"], row["prices"])
        ],
        "item_count": row["item_count"],
        "value": _money(row["value"]),
        "currency": row["currency"],
        "source": row["source"],
        "medium": row["medium"],
        "campaign": row["campaign"],
    }
    if kind == "recovered":
        cart.update(
            abandoned_at=_time(row["abandoned_at"], tz),
            purchased_at=_time(row["purchased_at"], tz),
            time_to_recover_s=float(row["time_to_recover_s"]),
            transaction_id=row["transaction_id"],
            order_value=_money(row["order_value"]),
            order_currency=row["order_currency"],
            notified_at=_time(row["notified_at"], tz),
            after_notice=bool(row["after_notice"]),
        )
    return cart


def run_carts(runner: QueryRunner, q: CartQuery) -> dict:
    sql, params = build_sql(q)
    return carts_answer(runner, q, runner.run(sql, params).dicts())


def carts_answer(runner: QueryRunner, q: CartQuery, rows: list[dict]) -> dict:
    """The answer from the rows of build_sql (runner: for the totals of a page past the last cart)."""
    tz = ZoneInfo(q.range.timezone)
    page = rows[: q.limit]
    next_cursor = None
    if len(rows) > q.limit:
        last = page[-1]
        next_cursor = encode_cursor((_ms(last["sort_time"]), last["visitor_id"], last["cart_no"]))
    if rows:
        totals = _totals(rows[0], q.kind)
    elif q.cursor is None:
        totals = _totals({}, q.kind)
    else:
        totals = _totals_only(runner, q)
    return {"carts": [cart_answer(r, q.kind, tz) for r in page], "totals": totals, "next_cursor": next_cursor}


def _values(by_currency: dict) -> list[dict]:
    return [{"currency": c, "value": _money(v)} for c, v in sorted(by_currency.items())]


def _totals(row: dict, kind: str) -> dict:
    """The totals a result row carries (an empty row: none in the range)."""
    totals = {"carts": row.get("total_carts", 0), "value": _values(row.get("total_value", {}))}
    if kind == "recovered":
        totals["after_notice"] = {"carts": row.get("notice_carts", 0), "revenue": _values(row.get("notice_revenue", {}))}
    return totals


def _totals_only(runner: QueryRunner, q: CartQuery) -> dict:
    # A cursor past the last cart leaves no row to carry the window totals: ask for them alone.
    sql, params = build_sql(CartQuery(**{**q.__dict__, "cursor": None, "limit": 1}))
    rows = runner.run(sql, params).dicts()
    return _totals(rows[0] if rows else {}, q.kind)
