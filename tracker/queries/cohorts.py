"""Customer cohorts: customers grouped by the month (or week) of their first purchase, followed
period by period: how many bought again (retention), how many have bought at least twice (repeat
rate), their cumulative revenue per customer per currency (LTV) and how many have churned.

Semantics (docs/queries.md has the user's version):
  * A customer is the order's `customer_id`, or for orders without one its visitor id.
  * Orders are those of the `orders` view, as in /stats: one per transaction id, gross of refunds
    (`refund` events change no figure here, as they change none in /stats).
  * A customer's cohort is the period (site time zone) of their first order ever stored, so a
    returning customer is never new again; the range selects cohorts by that first order.
  * Everything is as of `as_of` = the end of the range, or now if that is earlier: orders after it
    are not read, and the last period of each cohort is the one that holds it.
  * Churned at a period: more than `churn_after` without an order at the period's end (at as_of
    for the period holding it). A churned customer who buys again is no longer churned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from tracker.queries.runner import QueryRunner
from tracker.queries.timerange import TimeRange, bucket_sql

PERIODS = ("month", "week")
DEFAULT_CHURN_AFTER_S = 90 * 86400
MIN_CHURN_AFTER_S = 86400
MAX_CHURN_AFTER_S = 730 * 86400
DEFAULT_COHORTS = 12  # without `from`: this many periods up to the one holding `to`
# Orders are read from here: a customer's first order is their first one ever stored (the
# events table's TTL bounds how far back that is).
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class CohortQuery:
    site: str
    range: TimeRange
    period: str
    churn_after_s: int
    as_of: datetime  # min(range end, now): the moment the figures describe

    def __post_init__(self) -> None:
        assert self.period in PERIODS  # the HTTP layer validates; this guards the SQL builder


def period_start(day: date, period: str) -> date:
    return day - timedelta(days=day.weekday()) if period == "week" else day.replace(day=1)


def shift(day: date, period: str, n: int) -> date:
    """The first day of the period n periods after the one starting on `day`."""
    if period == "week":
        return day + timedelta(weeks=n)
    months = day.year * 12 + day.month - 1 + n
    return date(months // 12, months % 12 + 1, 1)


def default_start(end: datetime, tz_name: str, period: str) -> datetime:
    """Local midnight starting the DEFAULT_COHORTS-th period before the one holding `end`."""
    tz = ZoneInfo(tz_name)
    last = period_start((end.astimezone(tz) - timedelta(microseconds=1)).date(), period)
    return datetime.combine(shift(last, period, 1 - DEFAULT_COHORTS), time(), tz).astimezone(timezone.utc)


def _offset_sql(start: str, later: str, period: str) -> str:
    """Whole periods from the period starting on Date `start` to the one starting on Date `later`."""
    return f"dateDiff('month', {start}, {later})" if period == "month" else f"intDiv(dateDiff('day', {start}, {later}), 7)"


# Every order of the site up to as_of, with its customer (`who`): from the purchases table, a small
# share of the events. ALL_EVENTS_SOURCE is the same from the events table (the orders view), as
# before the table existed: bench/cohorts.py compares the two.
ORDERS_SOURCE = "customer_orders(site = {site:String}, from = {epoch:DateTime64(3)}, to = {as_of:DateTime64(3)})"
ALL_EVENTS_SOURCE = """(
                SELECT if(customer_id != '', customer_id, concat('visitor:', toString(visitor_id))) AS who, ts, currency, value
                FROM orders(site = {site:String}, from = {epoch:DateTime64(3)}, to = {as_of:DateTime64(3)})
            )"""


def build_sql(q: CohortQuery, source: str = ORDERS_SOURCE) -> tuple[str, dict]:
    """One row per cohort and period with the *changes* in that period: new customers (period 0),
    buyers, customers reaching their second order, customers becoming churned (+1) or coming back
    (-1), and revenue; run_cohorts adds them up period by period.

    Each customer contributes a few changes per order, not a row per period followed: a year of
    weekly periods would otherwise multiply the rows by up to 53.

    Churn: a customer is churned at the end E of period k when E - (latest order before E) > churn,
    i.e. for the gap after order i, in the periods from the one holding t_i + churn up to the one
    before the next order's period (E_k > x exactly when k >= the offset of x's period). After
    the last order the gap runs to as_of, which also ends the last period early.
    """
    params = {
        "site": q.site,
        "epoch": _EPOCH,
        "start": q.range.start,
        "end": q.range.end,
        "as_of": q.as_of,
        "as_of_ms": round(q.as_of.timestamp() * 1000),
        "churn_ms": q.churn_after_s * 1000,
        "tz": q.range.timezone,
    }
    order_period = bucket_sql("ts", q.period)
    last_period = bucket_sql("{as_of:DateTime64(3)} - toIntervalMillisecond(1)", q.period)
    churn_period = bucket_sql("fromUnixTimestamp64Milli(t + {churn_ms:Int64}, 'UTC')", q.period)
    # A change: (period offset, new customer, buyer, second order, churn delta, currency, amount).
    change = "(toInt64({k}), toInt8({customer}), toInt8({buyer}), toInt8({repeat}), toInt8({churn}), {currency}, toDecimal64({amount}, 4))"

    def c(k: str, customer: str = "0", buyer: str = "0", repeat: str = "0", churn: str = "0", currency: str = "''", amount: str = "0") -> str:
        return change.format(k=k, customer=customer, buyer=buyer, repeat=repeat, churn=churn, currency=currency, amount=amount)

    sql = f"""
    SELECT cohort, change.1 AS k, max(last_k) AS last_k,
        sum(change.2) AS customers, sum(change.3) AS buyers, sum(change.4) AS second_orders, sum(change.5) AS churn_change,
        sumMap([change.6], [change.7]) AS revenue
    FROM
    (
        SELECT cohort, last_k,
            length(times) AS n,
            -- First period in which the gap after each order makes the customer churned, and the
            -- last one (the period before the next order's; for the last order: last_k).
            arrayMap((t, i) -> if(i < n OR t + {{churn_ms:Int64}} < {{as_of_ms:Int64}},
                toInt64({_offset_sql('cohort', churn_period, q.period)}), toInt64(last_k) + 1), times, arrayEnumerate(times)) AS churn_from,
            arrayMap(i -> if(i < n, toInt64(offsets[i + 1]) - 1, toInt64(last_k)), arrayEnumerate(times)) AS churn_to,
            arrayConcat(
                [{c('0', customer='1')}],
                arrayMap(o -> {c('o', buyer='1')}, arrayDistinct(offsets)),
                if(n >= 2, [{c('offsets[2]', repeat='1')}], []),
                arrayMap((o, cur, v) -> {c('o', currency='cur', amount='v')}, offsets, currencies, amounts),
                arrayFlatten(arrayMap((f, l) -> if(f <= l, [{c('f', churn='1')}, {c('l + 1', churn='-1')}], []), churn_from, churn_to))
            ) AS changes
        FROM
        (
            SELECT who,
                arraySort(groupArray((toUnixTimestamp64Milli(ts), {order_period}, toString(currency), ifNull(value, toDecimal64(0, 4))))) AS orders,
                orders[1].2 AS cohort,
                arrayMap(o -> o.1, orders) AS times,
                arrayMap(o -> toUInt32({_offset_sql('cohort', 'o.2', q.period)}), orders) AS offsets,
                arrayMap(o -> o.3, orders) AS currencies,
                arrayMap(o -> o.4, orders) AS amounts,
                toUInt32({_offset_sql('cohort', last_period, q.period)}) AS last_k
            FROM {source}
            GROUP BY who
            HAVING orders[1].1 >= toUnixTimestamp64Milli({{start:DateTime64(3)}}) AND orders[1].1 < toUnixTimestamp64Milli({{end:DateTime64(3)}})
        )
    )
    ARRAY JOIN changes AS change
    GROUP BY cohort, k
    ORDER BY cohort, k"""
    return sql, params


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _ltv(revenue: dict[str, Decimal], customers: int) -> list[dict]:
    # Per currency, never added across currencies; orders sent without a currency have no line.
    return [
        {"currency": c, "revenue": float(round(v, 4)), "per_customer": float(round(v / customers, 4))}
        for c, v in sorted(revenue.items())
        if c
    ]


def run_cohorts(runner: QueryRunner, q: CohortQuery, source: str = ORDERS_SOURCE) -> dict:
    sql, params = build_sql(q, source)
    changes: dict[date, dict[int, dict]] = {}
    for row in runner.run(sql, params).dicts():
        changes.setdefault(row["cohort"], {})[row["k"]] = row
    out = []
    for cohort, by_period in changes.items():
        customers = by_period[0]["customers"]
        last_k = max(r["last_k"] for r in by_period.values())
        second_orders = churned = 0
        revenue: dict[str, Decimal] = {}
        periods = []
        for k in range(last_k + 1):  # running totals; changes after last_k (a churn ending there) are not reached
            row = by_period.get(k, {"buyers": 0, "second_orders": 0, "churn_change": 0, "revenue": ([], [])})
            second_orders += row["second_orders"]
            churned += row["churn_change"]
            for currency, amount in zip(*row["revenue"]):
                revenue[currency] = revenue.get(currency, Decimal(0)) + Decimal(amount)
            periods.append({
                "offset": k,
                "period": shift(cohort, q.period, k).isoformat(),
                "buyers": row["buyers"],
                "retention": _percent(row["buyers"], customers),
                "repeat_customers": second_orders,
                "repeat_rate": _percent(second_orders, customers),
                "churned": churned,
                "churn_rate": _percent(churned, customers),
                "ltv": _ltv(revenue, customers),
            })
        out.append({"cohort": cohort.isoformat(), "customers": customers, "periods": periods})
    return {"cohorts": out}
