"""Segments: the `filter` query parameter shared by /stats, /funnel, /funnel/trends, /channels and
/sales-cycle, and the SQL that keeps only the sessions a segment selects.

    filter=source==google            sessions that came from google
    filter=device!=mobile            sessions not on a mobile
    filter=source==google|bing       either value (`|` separates values; `\\|` and `\\\\` escape)
    filter=path==/pricing            sessions that viewed /pricing
    filter=props.plan!=free          sessions with no event whose property plan is free

A filter selects *sessions* (the gap rule of the sessions view), because that is what a marketer
segments: visits from a campaign, visits on phones, visits that saw the pricing page. The entry
fields (source, medium, campaign, device, browser, os) are compared with the session's entry, its
first event; path and props.NAME match when any event of the session has the value (`!=`: none
has). Several filters must all hold. A query then reads only the events of the selected sessions,
whole, so a visitor's other sessions do not count.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.clickhouse.client import quote_identifier
from tracker.queries.errors import ParamError
from tracker.queries.steps import PROP_FIELD, split_escaped, unescape

ENTRY_FIELDS = ("source", "medium", "campaign", "device", "browser", "os")
EVENT_FIELDS = ("path",)
FIELDS = (*ENTRY_FIELDS, *EVENT_FIELDS)
OPERATORS = ("==", "!=")
MAX_FILTERS = 10  # each filter is one bit next to an event's time in a UInt64 (16 bits free)
MAX_VALUES = 50
MAX_VALUE = 512
_BITS = 16


@dataclass(frozen=True)
class SegmentFilter:
    field: str  # one of FIELDS or "props.<key>"
    negate: bool  # True for !=
    values: tuple[str, ...]  # any of them

    @property
    def prop(self) -> str | None:
        return self.field[6:] if self.field.startswith("props.") else None

    @property
    def on_entry(self) -> bool:
        return self.field in ENTRY_FIELDS

    def __str__(self) -> str:
        values = "|".join(v.replace("\\", "\\\\").replace("|", "\\|") for v in self.values)
        return f"{self.field}{'!=' if self.negate else '=='}{values}"


Segment = tuple[SegmentFilter, ...]


def parse_filter(text: str) -> SegmentFilter:
    """One filter from its text; ValueError says what is wrong."""
    positions = [(text.find(op), op) for op in OPERATORS if op in text]
    if not positions:
        raise ValueError("needs an operator: FIELD==VALUE or FIELD!=VALUE")
    at, op = min(positions)
    field, raw = text[:at].strip(), text[at + 2 :]
    if not (field in FIELDS or PROP_FIELD.match(field)):
        raise ValueError(f"cannot filter on {field[:64]!r}: use props.NAME or one of {', '.join(FIELDS)}")
    values = tuple(unescape(v) for v in split_escaped(raw, "|"))
    if len(values) > MAX_VALUES:
        raise ValueError(f"at most {MAX_VALUES} values per filter")
    if any(len(v) > MAX_VALUE for v in values):
        raise ValueError(f"a value is longer than {MAX_VALUE} characters")
    return SegmentFilter(field, op == "!=", values)


def parse_segment(texts: list[str]) -> Segment:
    """The `filter` parameters (repeatable, all must hold); ParamError on the field `filter`."""
    if len(texts) > MAX_FILTERS:
        raise ParamError("filter", f"at most {MAX_FILTERS} filters")
    filters = []
    for text in texts:
        try:
            filters.append(parse_filter(text))
        except ValueError as exc:
            raise ParamError("filter", f"{text[:100]!r}: {exc}") from None
    return tuple(filters)


def describe(segment: Segment) -> list[str]:
    """The filters as the answer repeats them (normalised text)."""
    return [str(f) for f in segment]


# ---------------------------------------------------------------------------------------------
# SQL: every value and property name is a bound parameter; fields come from the allow-list.


def _event_bits(segment: Segment, params: dict) -> str:
    """Bit i set when the event has one of filter i's values (before negation)."""
    terms = []
    for i, flt in enumerate(segment):
        params[f"seg{i}_values"] = list(flt.values)
        if flt.prop is not None:
            params[f"seg{i}_key"] = flt.prop
            column = f"props[{{seg{i}_key:String}}]"
        else:
            column = quote_identifier(flt.field)
        terms.append(f"bitShiftLeft(toUInt64(has({{seg{i}_values:Array(String)}}, {column})), {i})")
    return " + ".join(terms)


def _session_test(segment: Segment) -> str:
    """True for a session (entry bits of its first event, any = OR of its events' bits) that matches."""
    tests = []
    for i, flt in enumerate(segment):
        bit = f"bitTest({'entry' if flt.on_entry else 'any'}, {i})"
        tests.append(f"NOT {bit}" if flt.negate else bit)
    return " AND ".join(tests)


def sessions_sql(segment: Segment, params: dict, start: str = "start", end: str = "end") -> str:
    """The selected sessions of the site in [start, end) (the names of bound DateTime64 parameters),
    one row each: visitor_id, first_sec, last_sec (whole seconds, like session_bounds), split by the
    gap rule over all the visitor's events in the range, as session_bounds splits them."""
    assert 1 <= len(segment) <= MAX_FILTERS
    origin = f"toUnixTimestamp64Milli({{{start}:DateTime64(3)}})"
    mask = (1 << _BITS) - 1
    return f"""
    SELECT visitor_id, session[1] AS first_sec, session[-1] AS last_sec
    FROM
    (
        SELECT
            visitor_id,
            -- (milliseconds since start << {_BITS}) | filter bits, sorted: one numeric sort per visitor.
            arraySort(groupArray(bitShiftLeft(toUInt64(toUnixTimestamp64Milli(ts) - {origin}), {_BITS}) + bits)) AS packed,
            arrayMap(p -> toUInt32(intDiv(bitShiftRight(p, {_BITS}) + {origin}, 1000)), packed) AS secs,
            arrayMap((s, prev) -> s - prev > {{gap_s:UInt32}}, secs, arrayPushFront(arrayPopBack(secs), 0)) AS starts
        FROM
        (
            SELECT visitor_id, ts, {_event_bits(segment, params)} AS bits
            FROM events
            WHERE site = {{site:String}} AND ts >= {{{start}:DateTime64(3)}} AND ts < {{{end}:DateTime64(3)}}
        )
        GROUP BY visitor_id
    )
    ARRAY JOIN
        arraySplit((s, st) -> st, secs, starts) AS session,
        arrayMap(ps -> bitAnd(ps[1], {mask}), arraySplit((p, st) -> st, packed, starts)) AS entry,
        arrayMap(ps -> arrayReduce('groupBitOr', arrayMap(p -> bitAnd(p, {mask}), ps)), arraySplit((p, st) -> st, packed, starts)) AS any
    WHERE {_session_test(segment)}"""


def session_keys_sql(segment: Segment, params: dict, start: str = "start", end: str = "end") -> str:
    """(visitor_id, first second) of each selected session, for `(visitor_id, toUInt32(started_at)) IN (...)`."""
    return f"SELECT visitor_id, first_sec FROM ({sessions_sql(segment, params, start, end)})"


def spans_sql(segment: Segment, params: dict, start: str = "start", end: str = "end") -> str:
    """Per visitor, the [first_sec, last_sec] spans of their selected sessions (column `spans`)."""
    return f"SELECT visitor_id, groupArray((first_sec, last_sec)) AS spans FROM ({sessions_sql(segment, params, start, end)}) GROUP BY visitor_id"


def in_spans(ts: str, spans: str = "spans") -> str:
    """SQL: the event time `ts` lies in one of the visitor's selected sessions."""
    return f"arrayExists(s -> s.1 <= toUInt32(toDateTime({ts})) AND toUInt32(toDateTime({ts})) <= s.2, {spans})"


def events_sql(segment: Segment, params: dict, start: str = "start", end: str = "end") -> str:
    """What to read instead of `events`: the table itself without filters, else the events of the
    selected sessions in [start, end) (the reader still applies its own site and time conditions)."""
    if not segment:
        return "events"
    return f"""(
        SELECT e.* FROM events AS e
        INNER JOIN ({spans_sql(segment, params, start, end)}) AS m ON e.visitor_id = m.visitor_id
        WHERE e.site = {{site:String}} AND e.ts >= {{{start}:DateTime64(3)}} AND e.ts < {{{end}:DateTime64(3)}}
            AND {in_spans('e.ts', 'm.spans')}
    )"""
