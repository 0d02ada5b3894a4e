"""Channels: sessions, conversion rate, orders, revenue and average order value per entry source,
medium, campaign or device, with first- or last-touch attribution of orders.

Semantics (docs/queries.md has the user's version):
  * Sessions and the conversion rate count per the session's own entry (the sessions view), for the
    sessions that started in the range, exactly as /stats counts them: the totals equal /stats.
  * Each order of the range (the orders view: one per transaction id, refunds not subtracted, as
    /stats) is credited to one visit of the buyer, a session that started at or before the order
    (the same second counts: a purchase can be its visit's first event):
      last:  the visit in which the order was placed (the latest that started at or before it);
      first: the buyer's earliest visit that started within `lookback` before the order, or, when
             even the order's own visit began earlier, that visit.
    A visitor's sessions start at distinct seconds, so there is never a tie between two visits.
  * Revenue stays per currency; orders without a currency count in `orders` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from tracker.clickhouse.client import quote_identifier
from tracker.queries import kept, segments
from tracker.queries.runner import QueryRunner
from tracker.queries.stats import revenue_lines
from tracker.queries.timerange import TimeRange

DIMENSIONS = ("source", "medium", "campaign", "device")
ATTRIBUTIONS = ("first", "last")
MIN_LOOKBACK_S = 3600
MAX_LOOKBACK_S = 90 * 86400
DEFAULT_LOOKBACK = "30d"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_CODE_MASK = (1 << 24) - 1


@dataclass(frozen=True)
class ChannelQuery:
    site: str
    range: TimeRange
    by: str = "source"
    attribution: str = "last"
    lookback_s: int = 30 * 86400
    gap_s: int = 1800
    segment: segments.Segment = ()
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        # The HTTP layer validates; these guard the SQL builders against any other caller.
        # Any entry field builds valid SQL: /devices asks for browser and os (tracker/queries/devices.py).
        assert self.by in segments.ENTRY_FIELDS and self.attribution in ATTRIBUTIONS
        assert MIN_LOOKBACK_S <= self.lookback_s <= MAX_LOOKBACK_S

    def params(self) -> dict:
        return {
            "site": self.site, "start": self.range.start, "end": self.range.end, "gap_s": self.gap_s,
            "lookback_start": self.range.start - timedelta(seconds=self.lookback_s), "lookback_s": self.lookback_s,
        }


def visits_sql(q: ChannelQuery, params: dict, start: str, buyers_only: bool = False, columns: tuple[str, ...] = ()) -> str:
    """One row per session of the site in [start, end) (`start` names a bound DateTime64) that the
    segment selects: visitor_id, started_sec, channel (its entry's value of `q.by`) and purchased.
    buyers_only: only of visitors with a purchase in the query's range (for attribution).
    columns: several entry fields at once (/devices: device, browser, os in one pass): channel is
    then the tuple of their values (as strings), coded by its hash (as the carts view codes entries).

    Sessions split as session_bounds splits them, so counts equal /stats. They are read from the
    kept sessions when those are current (tracker/queries/kept.py), else computed here: the
    sessions view would give the same rows, but it carries ten entry fields through its sort; one
    field here, as a code next to each event's time in one UInt64, is about four times cheaper
    (50k sessions of 1M events: 160 ms of ClickHouse CPU against 610 ms for the sessions view
    grouped by source). Of events in the same millisecond, the kept sessions take the sessions
    view's entry (the smallest values, landing path first), this computation the smallest value of
    `q.by`: the two differ only when such events disagree on the landing path.
    """
    column = quote_identifier(q.by)
    value, code = f"toString({column})", f"transform(toString({column}), channel_values, arrayEnumerate(channel_values), 0)"
    if columns:
        value = f"tuple({', '.join(f'toString({quote_identifier(c)})' for c in columns)})"  # tuple(): one column too
        code = f"transform(cityHash64({value}), arrayMap(v -> cityHash64(v), channel_values), arrayEnumerate(channel_values), 0)"
    origin = f"toUnixTimestamp64Milli({{{start}:DateTime64(3)}})"
    range_sql = f"site = {{site:String}} AND ts >= {{{start}:DateTime64(3)}} AND ts < {{end:DateTime64(3)}}"
    current = kept.CURRENT
    segment = ""
    if q.segment:
        segment = f"\nWHERE (visitor_id, started_sec) IN ({segments.session_keys_sql(q.segment, params, start=start)})"
    buyers = ""
    if buyers_only:
        buyers = " AND visitor_id IN (SELECT visitor_id FROM events WHERE site = {site:String} AND ts >= {start:DateTime64(3)} AND ts < {end:DateTime64(3)} AND name = 'purchase')"
    # The dictionary holds only the values of the events coded below: for buyers only, the whole
    # range's other visitors would be read and hashed for nothing (a quarter of /devices' orders query).
    # Sorted: codes sort as the values do. Not read at all when the kept sessions are current.
    return f"""
SELECT * FROM
(
    SELECT visitor_id, toUInt32(started_at) AS started_sec, {value} AS channel, purchase > 0 AS purchased
    FROM {kept.sessions_sql(start)}
    WHERE {current}{buyers}
    UNION ALL
    SELECT * FROM
    (
        WITH (SELECT arraySort(groupUniqArray({value})) FROM events WHERE NOT {current} AND {range_sql}{buyers}) AS channel_values
        SELECT visitor_id, secs[1] AS started_sec, channel_values[bitShiftRight(bitAnd(session[1], {_CODE_MASK}), 1)] AS channel,
            arrayExists(p -> bitAnd(p, 1) = 1, session) AS purchased
        FROM
        (
            SELECT
                visitor_id,
                -- (milliseconds since start << 24) | (channel code << 1) | is purchase, sorted: each
                -- session's first element is its entry.
                arraySort(groupArray(bitShiftLeft(toUInt64(toUnixTimestamp64Milli(ts) - {origin}), 24)
                    + bitShiftLeft(toUInt64({code}), 1)
                    + (name = 'purchase'))) AS packed,
                arrayMap(p -> toUInt32(intDiv(bitShiftRight(p, 24) + {origin}, 1000)), packed) AS all_secs,
                arrayMap((s, prev) -> s - prev > {{gap_s:UInt32}}, all_secs, arrayPushFront(arrayPopBack(all_secs), 0)) AS starts
            FROM events
            WHERE NOT {current} AND {range_sql}{buyers}
            GROUP BY visitor_id
        )
        ARRAY JOIN arraySplit((p, st) -> st, packed, starts) AS session, arraySplit((s, st) -> st, all_secs, starts) AS secs
    )
){segment}"""


def attributed_orders_sql(q: ChannelQuery, params: dict, columns: tuple[str, ...] = ()) -> str:
    """One row per order of the range: visitor_id, ts, currency, value, channel (the credited
    visit's entry value of `q.by`, or of `columns` as in visits_sql) and visits (the buyer's visits,
    (start second, entry value), that started at or before the order, read from `lookback` before the range)."""
    order_rows = "orders(site = {site:String}, from = {start:DateTime64(3)}, to = {end:DateTime64(3)})"
    if q.segment:
        order_rows = (
            f"(SELECT o.* FROM {order_rows} AS o INNER JOIN ({segments.spans_sql(q.segment, params)}) AS m"
            f" ON o.visitor_id = m.visitor_id WHERE {segments.in_spans('o.ts', 'm.spans')})"
        )
    if q.attribution == "last":
        touch = "visits[-1]"
    else:
        touch = "if(empty(recent), visits[-1], recent[1])"
    missing = "tuple(" + ", ".join(["''"] * len(columns)) + ")" if columns else "''"
    # A visit is missing only at the edge of a segment (an order in a session the segment selects
    # over the range, whose visit read from `lookback` earlier began outside the segment): ''.
    return f"""
    SELECT visitor_id, ts, currency, value, visits,
        arrayFilter(v -> v.1 + {{lookback_s:UInt32}} >= order_sec, visits) AS recent,
        if(empty(visits), {missing}, {touch}.2) AS channel
    FROM
    (
        SELECT o.visitor_id AS visitor_id, o.ts AS ts, o.currency AS currency, o.value AS value,
            toUInt32(toDateTime(o.ts)) AS order_sec,
            arrayFilter(v -> v.1 <= order_sec, v.all_visits) AS visits
        FROM {order_rows} AS o
        LEFT JOIN
        (
            SELECT visitor_id, arraySort(groupArray((started_sec, channel))) AS all_visits
            FROM ({visits_sql(q, params, "lookback_start", buyers_only=True, columns=columns)})
            GROUP BY visitor_id
        ) AS v ON o.visitor_id = v.visitor_id
    )"""


def build_sql(q: ChannelQuery) -> tuple[str, str, dict]:
    params = q.params()
    traffic = f"""
    SELECT grouping(channel) AS overall, channel, count() AS sessions, countIf(purchased) AS converted_sessions
    FROM ({visits_sql(q, params, "start")})
    GROUP BY GROUPING SETS ((), (channel))"""
    orders = f"""
    SELECT grouping(channel) AS overall, channel, currency, count() AS orders, sum(ifNull(value, toDecimal64(0, 4))) AS revenue
    FROM ({attributed_orders_sql(q, params)})
    GROUP BY GROUPING SETS ((currency), (channel, currency))"""
    return traffic, orders, params


def _figures(sessions: int, converted: int, revenue: dict[str, tuple[int, Decimal]]) -> dict:
    return {
        "sessions": sessions,
        "orders": sum(n for n, _ in revenue.values()),
        "revenue": revenue_lines(revenue),
        "conversion_rate": round(100.0 * converted / sessions, 2) if sessions else None,
    }


def run_channels(runner: QueryRunner, q: ChannelQuery) -> dict:
    traffic_sql, orders_sql, params = build_sql(q)
    traffic_rows, orders = runner.run_pair(traffic_sql, orders_sql, params)
    # Key None: all channels together (a channel can be any string, even "total").
    traffic = {None if r["overall"] else r["channel"]: (r["sessions"], r["converted_sessions"]) for r in traffic_rows.dicts()}
    revenue: dict = {}
    for row in orders.dicts():
        revenue.setdefault(None if row["overall"] else row["channel"], {})[row["currency"]] = (row["orders"], row["revenue"])
    return channels_answer(q, traffic, revenue)


def channels_answer(q: ChannelQuery, traffic: dict, revenue: dict) -> dict:
    """The answer from traffic {channel: (sessions, converted sessions)} and revenue
    {channel: {currency: (orders, revenue)}}, key None for all channels together."""
    channels = []
    for value in (set(traffic) | set(revenue)) - {None}:
        sessions, converted = traffic.get(value, (0, 0))
        channels.append({"value": value, **_figures(sessions, converted, revenue.get(value, {}))})
    # Most orders first, then most sessions, then by name: a stable order for equal channels.
    channels.sort(key=lambda c: (-c["orders"], -c["sessions"], c["value"]))
    sessions, converted = traffic.get(None, (0, 0))
    return {
        "channels": channels[: q.limit],
        "channels_total": len(channels),
        "totals": _figures(sessions, converted, revenue.get(None, {})),
    }
