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


def _period_after_sql(cohort: str, k: str, period: str) -> str:
    """Milliseconds at local midnight starting period k + 1 of the cohort: the end of period k."""
    add = "addMonths" if period == "month" else "addWeeks"
    return f"toInt64(toUnixTimestamp(toDateTime({add}({cohort}, {k} + 1), {{tz:String}}))) * 1000"


def build_sql(q: CohortQuery) -> tuple[str, dict]:
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
    sql = f"""
    SELECT cohort, k,
        count() AS customers,
        countIf(has(offsets, k)) AS buyers,
        countIf(arrayCount(o -> o <= k, offsets) >= 2) AS repeat_customers,
        countIf(least({_period_after_sql('cohort', 'k', q.period)}, {{as_of_ms:Int64}})
            - arrayMax(arrayFilter((t, o) -> o <= k, times, offsets)) > {{churn_ms:Int64}}) AS churned,
        sumMap(arrayFilter((c, o) -> o <= k, currencies, offsets), arrayFilter((v, o) -> o <= k, amounts, offsets)) AS revenue
    FROM
    (
        SELECT who,
            arraySort(groupArray((toUnixTimestamp64Milli(ts), {order_period}, currency, ifNull(value, toDecimal64(0, 4))))) AS orders,
            orders[1].2 AS cohort,
            arrayMap(o -> o.1, orders) AS times,
            arrayMap(o -> toUInt32({_offset_sql('cohort', 'o.2', q.period)}), orders) AS offsets,
            arrayMap(o -> o.3, orders) AS currencies,
            arrayMap(o -> o.4, orders) AS amounts,
            toUInt32({_offset_sql('cohort', last_period, q.period)}) AS last_k
        FROM
        (
            SELECT if(customer_id != '', customer_id, concat('visitor:', toString(visitor_id))) AS who, ts, currency, value
            FROM orders(site = {{site:String}}, from = {{epoch:DateTime64(3)}}, to = {{as_of:DateTime64(3)}})
        )
        GROUP BY who
        HAVING orders[1].1 >= toUnixTimestamp64Milli({{start:DateTime64(3)}}) AND orders[1].1 < toUnixTimestamp64Milli({{end:DateTime64(3)}})
    )
    ARRAY JOIN range(last_k + 1) AS k
    GROUP BY cohort, k
    ORDER BY cohort, k"""
    return sql, params


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _ltv(revenue: tuple[list[str], list[Decimal]], customers: int) -> list[dict]:
    # Per currency, never added across currencies; orders sent without a currency have no line.
    return [
        {"currency": c, "revenue": float(round(Decimal(v), 4)), "per_customer": float(round(Decimal(v) / customers, 4))}
        for c, v in sorted(zip(*revenue))
        if c
    ]


def run_cohorts(runner: QueryRunner, q: CohortQuery) -> dict:
    sql, params = build_sql(q)
    cohorts: dict[date, dict] = {}
    for row in runner.run(sql, params).dicts():
        customers = row["customers"]
        cohort = cohorts.setdefault(row["cohort"], {"cohort": row["cohort"].isoformat(), "customers": customers, "periods": []})
        cohort["periods"].append({
            "offset": row["k"],
            "period": shift(row["cohort"], q.period, row["k"]).isoformat(),
            "buyers": row["buyers"],
            "retention": _percent(row["buyers"], customers),
            "repeat_customers": row["repeat_customers"],
            "repeat_rate": _percent(row["repeat_customers"], customers),
            "churned": row["churned"],
            "churn_rate": _percent(row["churned"], customers),
            "ltv": _ltv(row["revenue"], customers),
        })
    return {"cohorts": list(cohorts.values())}
