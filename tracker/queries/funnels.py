"""Funnels: how many visitors (or sessions) reached each step, and how long each step took.

Semantics (docs/queries.md has the user's version):
  * Times are whole seconds, as in ClickHouse's windowFunnel; events in the same second are taken
    in step order, and one event may complete several consecutive steps it matches (a view_item
    is also "any event"). A step repeating an earlier step's definition needs another event
    (see tracker/queries/steps.py).
  * ordered: the steps in order, other events in between allowed, all within `window` seconds
    of the first step (the edge included). Same result as windowFunnel(window).
  * strict: as ordered, but once the unit has done step 1, an event matching no step, or a step
    whose previous step has not happened yet, ends its progress. windowFunnel(window, 'strict_order').
  * any: steps 1..k all happened, in any order, within one window.
  * A unit reaches step k at the first moment it has completed steps 1..k; time to convert from
    the previous step is the difference of those two moments (median and p90 over the units).

windowFunnel only returns the deepest step, so the same algorithm is written with array
functions, one unit per row: events packed as (second << 24 | step bits) sort fast as numbers,
are expanded to (second, step) pairs sorted like windowFunnel sorts them (when no event can match
two steps, they already are those pairs), and for each step k an
arrayFill carries "the latest start of a chain that reached step k" forward, which is exactly
the state windowFunnel keeps. Tests compare it with windowFunnel on random data.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.clickhouse.client import quote_identifier
from tracker.queries import event_presence, segments
from tracker.queries.runner import QueryRunner
from tracker.queries.steps import ANY_EVENT, Step
from tracker.queries.timerange import TimeRange, bucket_sql

ORDERS = ("ordered", "strict", "any")
UNITS = ("visitor", "session")
BREAKDOWNS = ("source", "medium", "campaign", "device", "browser", "os")
MIN_WINDOW_S = 1
MAX_WINDOW_S = 90 * 86400
QUANTILES = (0.5, 0.9)
_STEP_BITS = 24


@dataclass(frozen=True)
class FunnelSpec:
    site: str
    range: TimeRange
    steps: tuple[Step, ...]
    window_s: int
    order: str = "ordered"
    unit: str = "visitor"
    gap_s: int = 1800
    breakdown: str | None = None
    interval: str | None = None  # set for trends
    breakdown_limit: int = 20  # breakdown groups returned, largest first
    segment: segments.Segment = ()  # `filter`: only the events of the selected sessions count

    def __post_init__(self) -> None:
        # The HTTP layer validates; these guard the SQL builder against any other caller.
        assert self.order in ORDERS and self.unit in UNITS
        assert self.breakdown is None or self.breakdown in BREAKDOWNS
        assert 1 <= len(self.steps) <= _STEP_BITS - 4
        assert MIN_WINDOW_S <= self.window_s <= MAX_WINDOW_S


# ---------------------------------------------------------------------------------------------
# SQL building: every value is a bound parameter; identifiers come from allow-lists.


def _name_param(prefix: str, name: str, params: dict) -> str:
    """Bind an alternative's event name; returns its placeholder."""
    params[f"{prefix}_name"] = name
    return f"{{{prefix}_name:String}}"


def _alternative_sql(alt, prefix: str, params: dict) -> str:
    parts = []
    if alt.name != ANY_EVENT:
        parts.append(f"name = {_name_param(prefix, alt.name, params)}")
    for j, flt in enumerate(alt.filters):
        params[f"{prefix}_f{j}"] = flt.value
        if flt.prop is not None:
            params[f"{prefix}_k{j}"] = flt.prop
            parts.append(f"props[{{{prefix}_k{j}:String}}] = {{{prefix}_f{j}:String}}")
        else:
            parts.append(f"{quote_identifier(flt.field)} = {{{prefix}_f{j}:String}}")
    return "(" + " AND ".join(parts) + ")" if parts else "true"


def step_condition(index: int, step: Step, params: dict) -> str:
    return "(" + " OR ".join(_alternative_sql(alt, f"s{index}a{j}", params) for j, alt in enumerate(step.alternatives)) + ")"


def mask_sql(steps: tuple[Step, ...], params: dict, single: bool) -> str:
    """Bit k set when the event matches step k's definition (repeats share their first step's test).

    single: one_step_per_event(steps)."""
    if single and not any(alt.filters for step in steps for alt in step.alternatives):
        # Each name belongs to one step: one lookup instead of a comparison per step (~10% faster).
        names, bits = [], []
        for k, step in enumerate(steps):
            for j, alt in enumerate(step.alternatives):
                names.append(_name_param(f"s{k}a{j}", alt.name, params))
                bits.append(str(1 << k))
        return f"transform(name, [{', '.join(names)}], [{', '.join(bits)}], 0)"
    conditions: dict[int, str] = {}
    terms = []
    for k, step in enumerate(steps):
        base = step.same_as if step.same_as is not None else k
        if base not in conditions:
            conditions[base] = step_condition(base, steps[base], params)
        terms.append(f"bitShiftLeft(toUInt64({conditions[base]}), {k})")
    return " + ".join(terms)


def _occurrence_sql(steps: tuple[Step, ...]) -> str:
    """Clear bit k of events that are not yet the occurrence step k needs (rank = running count)."""
    expression = "unit"
    for k, step in enumerate(steps):
        if step.same_as is None:
            continue
        rank = f"arrayCumSum(arrayMap(e -> bitTest(e, {step.same_as}), unit))"
        expression = (
            f"arrayMap((e, r) -> if(bitTest(e, {k}) AND r < {step.occurrence}, bitXor(e, bitShiftLeft(toUInt64(1), {k})), e),"
            f" {expression}, {rank})"
        )
    return expression


def one_step_per_event(steps: tuple[Step, ...]) -> bool:
    """True when no event can match two steps: named events only, no step's names shared with another."""
    names = [step.event_names() for step in steps]
    return (
        all(step.same_as is None and ANY_EVENT not in {a.name for a in step.alternatives} for step in steps)
        and sum(map(len, names)) == len(set().union(*names))
    )


def _pairs_sql(strict: bool, implicit_first: bool, single: bool, unmatched: bool) -> list[str]:
    """Select-list items t (second) and c (step + 1, 0 = no step) of each (event, matched step) pair."""
    if single:
        # At most one bit per event: its position is bitCount(mask - 1), and the units, sorted by
        # (second << 24 | mask), are already in pair order. No expansion, no second sort: about a
        # fifth less time for a plain shop funnel (bench/funnel.py).
        bits = "bitAnd(e, 16777215)"
        events = f"arrayFilter(e -> {bits} != 0, ev)" if unmatched and not strict else "ev"
        step = f"if({bits} = 0, 0, bitCount({bits} - 1) + 1)" if strict else f"bitCount({bits} - 1) + 1"
        return [f"{events} AS matched", "arrayMap(e -> toUInt32(bitShiftRight(e, 24)), matched) AS t",
                f"arrayMap(e -> toUInt8({step}), matched) AS c"]
    # (second << 8 | step + 1) per matched step; in strict mode an event matching no step becomes
    # (second << 8 | 0), which sorts before that second's steps, as windowFunnel sorts it.
    none = "[bitShiftLeft(bitShiftRight(e, 24), 8)]" if strict else "[]"
    bits = "bitAnd(e, 16777214)" if implicit_first else "bitAnd(e, 16777215)"
    pairs = (
        f"arraySort(arrayFlatten(arrayMap(e -> if({bits} = 0, "
        f"{none}, arrayMap(b -> bitShiftLeft(bitShiftRight(e, 24), 8) + b + 1, bitPositionsToArray({bits}))), ev)))"
    )
    return [f"{pairs} AS pairs", "arrayMap(p -> toUInt32(bitShiftRight(p, 8)), pairs) AS t",
            "arrayMap(p -> toUInt8(bitAnd(p, 255)), pairs) AS c"]


def _levels_sql(n: int, order: str, implicit_first: bool, first: str) -> list[str]:
    """Select-list items computing reached (Array(UInt32), 0 = not reached) from pairs t, c.

    implicit_first: step 1 is "any event", so every event is a step-1 event. Its pairs are then
    left out (most of the pairs): the latest step-1 time before a pair is the pair's own second,
    and the unit reaches step 1 at its first event, at second `first`.
    """
    cols = []
    if order == "any":
        for k in range(1, n + 1):
            if k == 1 and implicit_first:
                cols.append("arrayMap(x -> true, t) AS a1")
                continue
            cols.append(f"arrayFill(x -> x > 0, arrayMap((x, cc) -> if(cc = {k}, x, 0), t, c)) AS l{k}")
            ok = f"arrayMap((x, l) -> l > 0 AND x - l <= {{window_s:UInt32}}, t, l{k})"
            cols.append(f"{ok} AS a{k}" if k == 1 else f"arrayMap((p, o) -> p AND o, a{k - 1}, {ok}) AS a{k}")
        reached = [first if k == 1 and implicit_first else f"arrayFirst((x, a) -> a, t, a{k})" for k in range(1, n + 1)]
        cols.append(f"[{', '.join(reached)}] AS reached")
        return cols
    if not implicit_first:
        cols.append("arrayMap((x, cc) -> if(cc = 1, x, 0), t, c) AS s1")
    for k in range(1, n + 1):
        if k == 2 and implicit_first:
            # The latest step-1 time before a pair is its own second (see above): every step-2
            # pair starts a chain at itself.
            cols.append("arrayMap((x, cc) -> if(cc = 2, x, 0), t, c) AS s2")
        elif k > 1:
            # f{k-1} at a pair of step k is its value before that pair: a pair has one step, so the
            # pair itself did not move f{k-1}.
            cols.append(
                f"arrayMap((x, cc, prev) -> if(cc = {k} AND prev > 0 AND x <= prev + {{window_s:UInt32}}, prev, 0), t, c, f{k - 1}) AS s{k}"
            )
        if k < n and not (k == 1 and implicit_first):
            # Latest start of a chain that reached step k, carried forward to every later pair.
            cols.append(f"arrayFill(x -> x > 0, s{k}) AS f{k}")
    if order == "strict":
        tests = ", ".join(f"cc = {k}, f{k - 1} = 0" for k in range(2, n + 1))
        stop = f"multiIf(cc = 0, 1, {tests + ', ' if tests else ''}0)"
        args = "".join(f", f{k}" for k in range(1, n))
        cols.append("arrayFirstIndex(cc -> cc = 1, c) AS first1")
        cols.append(
            f"arrayFirstIndex((i, cc{args}) -> first1 > 0 AND i > first1 AND {stop}, arrayEnumerate(c), c{args}) AS stop_at"
        )
        reached = ", ".join(
            f"arrayFirst((x, s, i) -> s > 0 AND (stop_at = 0 OR i < stop_at), t, s{k}, arrayEnumerate(t))" for k in range(1, n + 1)
        )
    else:
        reached = ", ".join(
            first if k == 1 and implicit_first else f"arrayFirst((x, s) -> s > 0, t, s{k})" for k in range(1, n + 1)
        )
    cols.append(f"[{reached}] AS reached")
    return cols


def build_sql(spec: FunnelSpec) -> tuple[str, dict]:
    params: dict = {
        "site": spec.site,
        "start": spec.range.start,
        "end": spec.range.end,
        "window_s": spec.window_s,
        "gap_s": spec.gap_s,
        "tz": spec.range.timezone,
    }
    n = len(spec.steps)
    strict = spec.order == "strict"
    session = spec.unit == "session"
    attr = quote_identifier(spec.breakdown) if spec.breakdown else None
    keep_all = strict or session  # events matching no step still matter (interruptions, session gaps)
    single = one_step_per_event(spec.steps)

    first = spec.steps[0]
    implicit_first = (
        not strict
        and [(a.name, a.filters) for a in first.alternatives] == [(ANY_EVENT, ())]
        and all(step.same_as != 0 for step in spec.steps)
    )
    # Per visitor, with step 1 "any event" (the shop funnel): an event that matches only step 1
    # adds nothing past the visitor's first second, so only the events matching a later step enter
    # the arrays (a shop's page views are most of its events), and the first second is a min().
    sparse = implicit_first and not keep_all

    packed = f"bitShiftLeft(toUInt64(toUInt32(toDateTime(ts))), {_STEP_BITS}) + mask"
    if keep_all:
        visitor_cols = [f"arraySort(groupArray({packed})) AS evs"]
    elif sparse:
        visitor_cols = [f"arraySort(groupArrayIf({packed}, mask > 1)) AS evs", "toUInt32(min(toDateTime(ts))) AS first_t"]
    else:
        visitor_cols = [f"arraySort(groupArrayIf({packed}, mask != 0)) AS evs"]
    if attr and session:
        # Each event's breakdown value as a small code next to its millisecond time, so one numeric
        # sort gives the values in time order (arrays of strings are several times slower).
        visitor_cols.append(
            "arraySort(groupArray(bitShiftLeft(toUInt64(toUnixTimestamp64Milli(ts) - toUnixTimestamp64Milli({start:DateTime64(3)})), 24)"
            " + transform(attr, attr_values, arrayEnumerate(attr_values), 0))) AS attrs"
        )
    elif attr:
        visitor_cols.append("argMin(attr, ts) AS attr")
    per_visitor = f"""
        SELECT visitor_id, {', '.join(visitor_cols)}
        FROM
        (
            SELECT visitor_id, ts, {mask_sql(spec.steps, params, single)} AS mask{f', {attr} AS attr' if attr else ''}
            FROM {segments.events_sql(spec.segment, params)}
            WHERE site = {{site:String}} AND ts >= {{start:DateTime64(3)}} AND ts < {{end:DateTime64(3)}}
        )
        GROUP BY visitor_id
        {"" if sparse else "HAVING length(evs) > 0"}"""

    if session:
        # A session starts at an event more than gap_s after the previous one (same rule as the
        # sessions view); its breakdown value is that of its first event.
        # Sorting by millisecond or by second puts the same events into each second, and sessions
        # split only between seconds, so a session's first index is the same in both arrays.
        entry = (
            ", arrayMap(i -> attr_values[bitAnd(attrs[i], 16777215)], arrayFilter((i, s) -> s, arrayEnumerate(starts), starts)) AS attr"
            if attr else ""
        )
        units = f"""
        SELECT unit{', attr' if attr else ''}
        FROM
        (
            SELECT *, arrayMap((e, prev) -> bitShiftRight(e, 24) - bitShiftRight(prev, 24) > {{gap_s:UInt32}},
                evs, arraySlice(arrayPushFront(evs, 0), 1, length(evs))) AS starts
            FROM ({per_visitor})
        )
        ARRAY JOIN arraySplit((e, s) -> s, evs, starts) AS unit{entry}"""
    else:
        units = f"SELECT evs AS unit{', first_t' if sparse else ''}{', attr' if attr else ''} FROM ({per_visitor})"

    unit_cols = [
        f"{_occurrence_sql(spec.steps)} AS ev",
        *_pairs_sql(strict, implicit_first, single, keep_all),
        # The unit's first second: kept aside when its arrays lack the "any event" rows, else the first element's.
        *_levels_sql(n, spec.order, implicit_first, "first_t" if sparse else "toUInt32(bitShiftRight(ev[1], 24))"),
    ]
    per_unit = f"""
    SELECT reached{', attr' if attr else ''}
    FROM (SELECT {', '.join(unit_cols)}{', attr' if attr else ''} FROM ({units}))
    WHERE reached[1] > 0"""

    # One plain aggregate per step: cheaper than -ForEach over arrays built for every unit.
    counts = "[" + ", ".join(f"countIf(reached[{k}] > 0)" for k in range(1, n + 1)) + "] AS counts"
    quantiles = ", ".join(map(str, QUANTILES))
    times = "[" + ", ".join(
        ["[nan, nan]"]
        + [f"quantilesExactInclusiveIf({quantiles})(toInt64(reached[{k}]) - toInt64(reached[{k - 1}]), reached[{k}] > 0)" for k in range(2, n + 1)]
    ) + "] AS times"
    if attr and session:
        sql = (
            f"WITH (SELECT groupUniqArray({attr}) FROM events WHERE site = {{site:String}}"
            f" AND ts >= {{start:DateTime64(3)}} AND ts < {{end:DateTime64(3)}}) AS attr_values\n"
        )
    else:
        sql = ""
    if spec.interval:
        bucket = bucket_sql("toDateTime(reached[1], 'UTC')", spec.interval)
        sql += f"SELECT {bucket} AS bucket, {counts}, {times} FROM ({per_unit}) GROUP BY bucket ORDER BY bucket"
    elif attr:
        sql += (
            f"SELECT grouping(attr) AS overall, attr, {counts}, {times} FROM ({per_unit})"
            " GROUP BY GROUPING SETS ((), (attr)) ORDER BY overall DESC, counts[1] DESC, attr"
        )
    else:
        sql += f"SELECT {counts}, {times} FROM ({per_unit})"
    return sql, params


# ---------------------------------------------------------------------------------------------
# Results as the API returns them.


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _seconds(value) -> float | None:
    return None if value is None or value != value else round(float(value), 3)  # NaN: no conversions


def shape_steps(steps: tuple[Step, ...], counts: list[int] | None, times: list[list[float]] | None) -> tuple[list[dict], float | None]:
    """Per-step figures from the per-step counts and [median, p90] times of one group."""
    n = len(steps)
    counts = list(counts or [0] * n)
    times = list(times or [[float("nan")] * len(QUANTILES)] * n)
    out = []
    for k, step in enumerate(steps):
        previous = counts[k - 1] if k else counts[0]
        out.append(
            {
                "step": k + 1,
                "label": step.label,
                "count": counts[k],
                "conversion_from_previous": _percent(counts[k], previous),
                "conversion_from_first": _percent(counts[k], counts[0]),
                "dropped": previous - counts[k],
                "median_time_s": None if k == 0 else _seconds(times[k][0]),
                "p90_time_s": None if k == 0 else _seconds(times[k][1]),
            }
        )
    return out, _percent(counts[-1], counts[0])


def run_funnel(runner: QueryRunner, spec: FunnelSpec) -> dict:
    sql, params = build_sql(spec)
    # Per step, its event names of which the site sent none in the range (whatever the filters or
    # the breakdown group): the page says so next to a stage that would otherwise show a bare 0.
    # Asked first, it runs while the funnel query does.
    missing_events = event_presence.missing_in_range(runner, spec.site, spec.range, event_presence.step_names(spec.steps))
    rows = runner.run(sql, params).rows
    if spec.breakdown:
        overall = next((r for r in rows if r[0] == 1), None)
        steps, conversion = shape_steps(spec.steps, overall[2] if overall else None, overall[3] if overall else None)
        groups = []
        for row in [r for r in rows if r[0] == 0][: spec.breakdown_limit]:
            group_steps, group_conversion = shape_steps(spec.steps, row[2], row[3])
            groups.append({"value": row[1], "steps": group_steps, "overall_conversion": group_conversion})
        total_groups = sum(1 for r in rows if r[0] == 0)
        breakdown = {"by": spec.breakdown, "groups": groups, "groups_total": total_groups}
    else:
        steps, conversion = shape_steps(spec.steps, rows[0][0] if rows else None, rows[0][1] if rows else None)
        breakdown = None
    missing = missing_events()
    for shaped_steps in [steps, *(g["steps"] for g in (breakdown or {}).get("groups", []))]:
        for step, shaped in zip(spec.steps, shaped_steps):
            shaped["missing_events"] = sorted(step.event_names() & missing)
    result = {"steps": steps, "overall_conversion": conversion}
    if breakdown:
        result["breakdown"] = breakdown
    return result


def run_trends(runner: QueryRunner, spec: FunnelSpec) -> list[dict]:
    sql, params = build_sql(spec)
    out = []
    for bucket, counts, times in runner.run(sql, params).rows:
        steps, conversion = shape_steps(spec.steps, counts, times)
        out.append(
            {
                "period": bucket.isoformat(),
                "entered": counts[0],
                "completed": counts[-1],
                "conversion": conversion,
                "steps": [{"step": s["step"], "count": s["count"], "conversion_from_first": s["conversion_from_first"]} for s in steps],
            }
        )
    return out
