"""Pages: per path, page views and visitors, and how many visits began (entry pages) and ended
(exit pages) on it, with the conversion rate of the visits that began there.

Semantics (docs/queries.md has the user's version):
  * `views` and `visitors` count `page_view` events of the path in the range.
  * Visits split by the gap rule of the sessions view, over the events of the range, so entries
    add up to the sessions of /stats. A visit's entry page is the path of its first event (as the
    sessions view's entry_path), its exit page the path of its last event, of any kind: a visit
    that ends with a purchase on /thanks exits on /thanks.
  * `filter` selects visits (tracker/queries/segments.py); only their events count.
  * `kind` picks the list: top (paths with views, most visitors first), entry (paths visits began
    on, most entries first) or exit (most exits first). Every row carries every figure.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.queries import kept, segments
from tracker.queries.runner import QueryRunner
from tracker.queries.timerange import TimeRange

KINDS = ("top", "entry", "exit")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# An event packs (milliseconds since `from` << 24) | (path code << 1) | is purchase into a UInt64:
# 40 bits of milliseconds hold 800 days (the longest range), 23 bits of code 8 million paths.
_CODE_MASK = (1 << 24) - 1
# The figure that orders each kind's list (then visitors, then the path); zero: not listed.
_KEY = {"top": "visitors", "entry": "entries", "exit": "exits"}


@dataclass(frozen=True)
class PageQuery:
    site: str
    range: TimeRange
    kind: str = "top"
    gap_s: int = 1800
    segment: segments.Segment = ()
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        assert self.kind in KINDS  # the HTTP layer validates; this guards against other callers


def build_sql(q: PageQuery) -> tuple[str, str, dict]:
    """Two queries: page views and visitors per path (and in all, grouping set ()), and the
    visits' entry and exit paths with whether the visit had a purchase."""
    params = {"site": q.site, "start": q.range.start, "end": q.range.end, "gap_s": q.gap_s}
    source = segments.events_sql(q.segment, params)
    range_sql = "site = {site:String} AND ts >= {start:DateTime64(3)} AND ts < {end:DateTime64(3)}"
    views = f"""
    SELECT grouping(path) AS overall, path, count() AS views, uniqExact(visitor_id) AS visitors
    FROM {source}
    WHERE {range_sql} AND name = 'page_view'
    GROUP BY GROUPING SETS ((), (path))"""
    # As channels.visits_sql: each event carries a small code into the range's distinct paths next
    # to its time, so one numeric sort per visitor gives every visit's first and last event. Without
    # a filter, the visits are the kept sessions when those are current (tracker/queries/kept.py).
    origin = "toUnixTimestamp64Milli({start:DateTime64(3)})"
    computed, kept_visits = "", ""
    if not q.segment:
        computed = f"NOT {kept.CURRENT} AND "
        kept_visits = f"""
        SELECT entry_path AS entry, exit_path AS exit, purchase > 0 AS purchased FROM {kept.sessions_sql()} WHERE {kept.CURRENT}
        UNION ALL"""
    visits = f"""
    WITH (SELECT arraySort(groupUniqArray(path)) FROM {source} WHERE {computed}{range_sql}) AS path_values
    SELECT ends.1 AS role, ends.2 AS path, count() AS visits, countIf(purchased) AS converted
    FROM
    ({kept_visits}
        SELECT path_values[bitShiftRight(bitAnd(visit[1], {_CODE_MASK}), 1)] AS entry,
            path_values[bitShiftRight(bitAnd(visit[-1], {_CODE_MASK}), 1)] AS exit,
            arrayExists(p -> bitAnd(p, 1) = 1, visit) AS purchased
        FROM
        (
            SELECT
                visitor_id,
                arraySort(groupArray(bitShiftLeft(toUInt64(toUnixTimestamp64Milli(ts) - {origin}), 24)
                    + bitShiftLeft(toUInt64(transform(path, path_values, arrayEnumerate(path_values), 0)), 1) + (name = 'purchase'))) AS packed,
                arrayMap(p -> toUInt32(intDiv(bitShiftRight(p, 24) + {origin}, 1000)), packed) AS secs,
                arrayMap((s, prev) -> s - prev > {{gap_s:UInt32}}, secs, arrayPushFront(arrayPopBack(secs), 0)) AS starts
            FROM {source}
            WHERE {computed}{range_sql}
            GROUP BY visitor_id
        )
        ARRAY JOIN arraySplit((p, st) -> st, packed, starts) AS visit
    )
    ARRAY JOIN [('entry', entry), ('exit', exit)] AS ends
    GROUP BY role, path"""
    return views, visits, params


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def run_pages(runner: QueryRunner, q: PageQuery) -> dict:
    views_sql, visits_sql, params = build_sql(q)
    paths: dict[str, dict] = {}

    def row(path: str) -> dict:
        return paths.setdefault(path, {"path": path, "visitors": 0, "views": 0, "entries": 0, "exits": 0, "converted": 0})

    views, visits = runner.run_pair(views_sql, visits_sql, params)
    totals = {"visitors": 0, "views": 0, "sessions": 0}
    for r in views.dicts():
        if r["overall"]:
            totals.update(visitors=r["visitors"], views=r["views"])
        else:
            row(r["path"]).update(visitors=r["visitors"], views=r["views"])
    for r in visits.dicts():
        figures = row(r["path"])
        if r["role"] == "entry":
            figures.update(entries=r["visits"], converted=r["converted"])
            totals["sessions"] += r["visits"]
        else:
            figures["exits"] = r["visits"]
    key = _KEY[q.kind]
    listed = sorted((p for p in paths.values() if p[key]), key=lambda p: (-p[key], -p["visitors"], -p["views"], p["path"]))
    pages = [
        {"path": p["path"], "visitors": p["visitors"], "views": p["views"], "entries": p["entries"], "exits": p["exits"],
         "entry_conversion_rate": _percent(p["converted"], p["entries"])}
        for p in listed[: q.limit]
    ]
    return {"kind": q.kind, "pages": pages, "pages_total": len(listed), "totals": totals}
