"""The query API for marketers: /api/v1/sites/{site}/funnel, .../funnel/trends, .../carts/abandoned,
.../carts/recovered, .../stats, .../channels, .../sales-cycle, .../cohorts, .../products,
.../products/abandoned, .../pages, .../devices. JSON, or CSV with `Accept: text/csv` or `?format=csv`.

Handlers only read and check parameters (all problems at once, as field errors) and hand typed
queries to tracker/queries/*, which run on the query runner's threads: clickhouse-connect is synchronous.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Callable, Mapping
from zoneinfo import ZoneInfo

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from tracker.clickhouse.threads import ClickHouseUnavailable
from tracker.errors import ApiError, FieldError, clickhouse_unavailable
from tracker.http import tables
from tracker.http.api_params import ENDPOINTS, Endpoint
from tracker.http.auth import authorize
from tracker.http.responses import json_response
from tracker.queries import carts, channels, cohorts, devices, funnels, page_carts, page_visits, pages, products, realtime, sales_cycle, stats
from tracker.queries.compare import COMPARISONS
from tracker.queries.durations import format_duration, parse_duration
from tracker.queries.errors import ParamError, ParamErrors, QueryLimit
from tracker.queries.runner import QUERY_LABEL
from tracker.queries.segments import Segment, describe, parse_segment
from tracker.queries.steps import parse_steps, unknown_step_names
from tracker.queries.timerange import COMPARE_MODES, TimeRange, check_interval, compared_range, parse_range
from tracker.saved_funnels import store
from tracker.saved_funnels.definition import DEFAULT_ID, FUNNEL_ID
from tracker.sites import Site

BY_NAME = {e.name: e for e in ENDPOINTS}


class Params:
    """The request's query parameters, checked against the endpoint's declaration; errors pile up."""

    def __init__(self, query: Mapping[str, str], endpoint: Endpoint) -> None:
        self.query = query if isinstance(query, QueryParams) else QueryParams(query)
        self.errors: list[FieldError] = []
        known = self.known = {p.name: p for p in endpoint.params}
        for name in sorted(set(self.query.keys())):
            if name not in known:
                self.errors.append(FieldError(name[:64], f"unknown parameter; this endpoint takes {', '.join(known)}"))
            elif not known[name].repeated and len(self.query.getlist(name)) > 1:
                self.errors.append(FieldError(name, "given more than once"))

    def get(self, name: str) -> str | None:
        if name not in self.known:
            return None  # already reported as unknown (a builder shared by endpoints may ask for more)
        value = self.query.get(name)
        return value if value not in (None, "") else None

    def getlist(self, name: str) -> list[str]:
        return self.query.getlist(name)

    def attempt(self, work: Callable, default=None):
        """Run one parameter's parsing; a ParamError becomes a field error and `default` is used."""
        try:
            return work()
        except ParamError as exc:
            self.errors.append(FieldError(exc.field, exc.reason))
        except ParamErrors as exc:
            self.errors.extend(FieldError(e.field, e.reason) for e in exc.errors)
        return default

    def choice(self, name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
        value = self.get(name)
        if value is None:
            return default
        if value not in allowed:
            self.errors.append(FieldError(name, f"must be one of {', '.join(allowed)}"))
            return default
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        if not value.isdigit() or not low <= int(value) <= high:
            self.errors.append(FieldError(name, f"must be a whole number from {low} to {high}"))
            return default
        return int(value)

    def duration(self, name: str, default: str, low: int, high: int) -> int:
        text = self.get(name) or default
        try:
            seconds = parse_duration(text)
        except ValueError as exc:
            self.errors.append(FieldError(name, str(exc)))
            return low
        if not low <= seconds <= high:
            self.errors.append(FieldError(name, f"must be from {format_duration(low)} to {format_duration(high)}"))
            return low
        return seconds

    def segment(self) -> Segment:
        """The `filter` parameters, one parser for every endpoint that takes them."""
        return self.attempt(lambda: parse_segment(self.getlist("filter")), ())

    def check(self) -> None:
        if self.errors:
            raise ApiError(400, "invalid_parameters", "some query parameters cannot be used", self.errors)


def wants_csv(request: Request, params: Params) -> bool:
    fmt = params.choice("format", ("json", "csv"), None)
    if fmt is not None:
        return fmt == "csv"
    return "text/csv" in request.headers.get("accept", "")


@dataclass(frozen=True)
class Query:
    """How one endpoint builds its typed query from the parameters, runs it, and flattens it to CSV."""

    build: Callable
    run: Callable
    to_rows: Callable


async def execute(tracker, site: Site, name: str, params: Params) -> dict:
    """The endpoint's answer as a dict, for the API and for the pages (/app); ApiError for bad
    parameters (400) and for a ClickHouse that is unreachable or stopped the query (503)."""
    query = QUERIES[name]
    QUERY_LABEL.set(name)  # this task's queries are logged as the endpoint's (each gathered task has its own context)
    built = query.build(tracker, site, params)
    mode = params.choice("compare", COMPARE_MODES, None)  # None where the endpoint takes no `compare`
    params.check()
    if mode is None:
        result = await offload(tracker, lambda: query.run(tracker, built, params))
        params.check()  # checks that needed the database (unknown step names)
        return result
    return await _compared(tracker, name, built, params, mode)


async def _compared(tracker, name: str, built, params: Params, mode: str) -> dict:
    """The answer with `compare`: both periods' queries at once, each on a query thread."""
    query, comparison = QUERIES[name], COMPARISONS[name]
    if isinstance(built, FunnelRequest):  # its saved funnel is read once, for both periods
        built = await offload(tracker, lambda: _resolved_request(tracker, built, params))
        params.check()
    spec = built.spec if isinstance(built, FunnelRequest) else built
    earlier = replace(spec, range=compared_range(spec.range, mode))
    result, compared = await asyncio.gather(
        offload(tracker, lambda: query.run(tracker, built, params)),
        offload(tracker, lambda: comparison.run(tracker.queries, earlier)),
    )
    params.check()
    bounds = earlier.range.as_dict()
    result["compare"] = {"mode": mode, "from": bounds["from"], "to": bounds["to"], **comparison.combine(result, compared)}
    return result


async def offload(tracker, work: Callable[[], object]):
    """Run query work on the query threads; ClickHouse's limits and absence become 503s."""
    try:
        return await tracker.queries.offload(work)
    except QueryLimit as exc:
        raise ApiError(503, "query_limit", f"the query hit the time or memory limit; ask for a shorter range ({exc})") from None
    except ClickHouseUnavailable:
        raise clickhouse_unavailable() from None


def csv_answer(site: Site, name: str, result: dict) -> Response:
    header, rows = QUERIES[name].to_rows(result)
    return tables.csv_response(header, rows, f"{site.site}-{name}.csv")


async def _answer(request: Request, name: str) -> Response:
    site = await authorize(request, request.path_params["site"])
    params = Params(request.query_params, BY_NAME[name])
    csv = wants_csv(request, params)
    if csv and params.get("compare"):
        params.errors.append(FieldError("compare", "is answered in JSON only: leave out format=csv and Accept: text/csv"))
    result = await execute(request.app.state.tracker, site, name, params)
    return csv_answer(site, name, result) if csv else json_response(result)


# --- funnel ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelRequest:
    """A funnel query before its saved funnel (`funnel`, or the site's default without `step`) is
    read, on the query threads: its steps, window, order and unit replace those of `spec` unless
    the request gave them."""

    spec: funnels.FunnelSpec
    saved: str | None
    given: frozenset[str]
    resolved: dict | None = None  # set with `ready`: the saved funnel already read into spec ({funnel_id, name})
    ready: bool = False


def _funnel_spec(tracker, site: Site, params: Params, trends: bool) -> FunnelRequest | None:
    settings = tracker.settings
    time_range = params.attempt(lambda: parse_range(params.get("from"), params.get("to"), site.timezone))
    steps, step_errors = parse_steps(params.getlist("step"))
    for index, reason in step_errors:
        params.errors.append(FieldError(f"step[{index}]", reason))
    saved = params.get("funnel")
    if saved is not None and params.getlist("step"):
        params.errors.append(FieldError("funnel", "give either a saved funnel or steps, not both"))
    elif saved is not None and not FUNNEL_ID.match(saved):
        params.errors.append(FieldError("funnel", "must be a saved funnel's id (letters a-z and digits)"))
    elif not params.getlist("step"):
        saved = saved or DEFAULT_ID  # the site's default funnel: the shop funnel unless edited
    window = params.duration("window", settings.funnel_default_window, funnels.MIN_WINDOW_S, funnels.MAX_WINDOW_S)
    order = params.choice("order", funnels.ORDERS, "ordered")
    unit = params.choice("unit", funnels.UNITS, "visitor")
    breakdown = None if trends else params.choice("breakdown", funnels.BREAKDOWNS, None)
    interval = params.attempt(lambda: check_interval(params.get("interval"))) if trends else None
    limit = 20 if trends else params.integer("breakdown_limit", 20, 1, 100)
    segment = params.segment()
    if params.errors:
        return None
    spec = funnels.FunnelSpec(
        site.site, time_range, tuple(steps), window, order, unit, settings.session_gap_minutes * 60, breakdown, interval, limit,
        segment,
    )
    return FunnelRequest(spec, saved, frozenset(n for n in ("window", "order", "unit") if params.get(n) is not None))


def _check_names(tracker, spec: funnels.FunnelSpec, params: Params) -> bool:
    errors = unknown_step_names(tracker.queries, spec.site, list(spec.steps))
    params.errors.extend(FieldError(f"step[{i}]", reason) for i, reason in errors)
    return not errors


def _resolve(tracker, request: FunnelRequest, params: Params) -> tuple[funnels.FunnelSpec, dict | None] | None:
    """The spec to run and the saved funnel it came from ({funnel_id, name}; None for `step`s).
    Steps given as `step` must name known events (a typo is a 400); a saved funnel's steps may
    name events never sent: it runs, and missing_events says which."""
    if request.ready:
        return request.spec, request.resolved
    if request.saved is None:
        return (request.spec, None) if _check_names(tracker, request.spec, params) else None
    saved = store.get_funnel(tracker.queries.client(), request.spec.site, request.saved, parse_duration(tracker.settings.funnel_default_window))
    if saved is None:
        params.errors.append(FieldError("funnel", f"this site has no saved funnel {request.saved!r}"))
        return None
    chosen = {"window_s": saved.window_s, "order": saved.order, "unit": saved.unit}
    for name, key in (("window", "window_s"), ("order", "order"), ("unit", "unit")):
        if name in request.given:
            chosen.pop(key)
    spec = replace(request.spec, steps=tuple(saved.parsed_steps()), **chosen)
    return spec, {"funnel_id": saved.funnel_id, "name": saved.name}


def _resolved_request(tracker, request: FunnelRequest, params: Params) -> FunnelRequest | None:
    """The request with its saved funnel read (None with errors in params), for `compare`."""
    resolved = _resolve(tracker, request, params)
    return None if resolved is None else replace(request, spec=resolved[0], resolved=resolved[1], ready=True)


def _describe(spec: funnels.FunnelSpec, saved: dict | None) -> dict:
    return {
        "site": spec.site,
        **spec.range.as_dict(),
        "funnel": saved,
        "window": format_duration(spec.window_s),
        "order": spec.order,
        "unit": spec.unit,
        "filter": describe(spec.segment),
    }


def _run_funnel(tracker, request: FunnelRequest, params: Params):
    resolved = _resolve(tracker, request, params)
    if resolved is None:
        return None
    spec, saved = resolved
    return {**_describe(spec, saved), **funnels.run_funnel(tracker.queries, spec)}


def _run_trends(tracker, request: FunnelRequest, params: Params):
    resolved = _resolve(tracker, request, params)
    if resolved is None:
        return None
    spec, saved = resolved
    return {**_describe(spec, saved), "interval": spec.interval, "steps": [s.label for s in spec.steps],
            "series": funnels.run_trends(tracker.queries, spec)}


# --- carts ----------------------------------------------------------------------------------


def _min_value(params: Params) -> Decimal | None:
    text = params.get("min_value")
    if text is None:
        return None
    try:
        value = Decimal(text)
        if value.is_finite() and 0 <= value < Decimal("1e12"):
            return value
    except InvalidOperation:
        pass
    params.errors.append(FieldError("min_value", "must be a number from 0"))
    return None


def _cart_query(kind: str):
    def build(tracker, site: Site, params: Params) -> carts.CartQuery | None:
        settings = tracker.settings
        time_range = params.attempt(lambda: parse_range(params.get("from"), params.get("to"), site.timezone))
        idle = params.duration("idle", f"{settings.abandoned_idle_minutes}m", carts.MIN_IDLE_S, carts.MAX_IDLE_S)
        min_value = _min_value(params)
        limit = params.integer("limit", carts.DEFAULT_LIMIT, 1, carts.MAX_LIMIT)
        cursor = params.attempt(lambda: carts.decode_cursor(params.get("cursor"))) if params.get("cursor") else None
        if params.errors:
            return None
        return carts.CartQuery(
            site.site, kind, time_range, idle, settings.session_gap_minutes * 60, settings.cart_lookback_days,
            datetime.now(timezone.utc), min_value, limit, cursor,
        )

    return build


def _run_carts(tracker, query: carts.CartQuery, params: Params):
    return _carts_result(query, carts.run_carts(tracker.queries, query))


def _carts_result(query: carts.CartQuery, answer: dict) -> dict:
    return {"site": query.site, "kind": query.kind, **query.range.as_dict(), "idle": format_duration(query.idle_s), **answer}


async def execute_page_carts(tracker, site: Site, cart_params: Params, item_params: Params,
                             recovered_params: Params) -> tuple[dict, dict, dict]:
    """What abandoned_carts (for cart_params), abandoned_products (for item_params) and
    recovered_carts (for recovered_params) answer, evaluated at the same time, from one computation
    of the carts (tracker/queries/page_carts.py): the owner's page shows all three. The parameters
    may differ in `limit` only."""
    QUERY_LABEL.set("page_carts")
    cart_query = QUERIES["abandoned_carts"].build(tracker, site, cart_params)
    item_query = QUERIES["abandoned_products"].build(tracker, site, item_params)
    recovered_query = QUERIES["recovered_carts"].build(tracker, site, recovered_params)
    for params in (cart_params, item_params, recovered_params):
        params.check()
    # The same carts in all three: one evaluation time.
    lists = page_carts.PageCarts(cart_query, replace(item_query, at=cart_query.at), replace(recovered_query, at=cart_query.at))
    cart_answer, item_answer, recovered_answer = await offload(tracker, lambda: page_carts.run_all(tracker.queries, lists))
    return (_carts_result(lists.abandoned, cart_answer), _abandoned_products_result(lists.items, item_answer),
            _carts_result(lists.recovered, recovered_answer))


# --- stats ----------------------------------------------------------------------------------


def _stats_query(tracker, site: Site, params: Params) -> stats.StatsQuery | None:
    time_range = params.attempt(lambda: parse_range(params.get("from"), params.get("to"), site.timezone))
    interval = params.attempt(lambda: check_interval(params.get("interval")))
    segment = params.segment()
    if params.errors:
        return None
    return stats.StatsQuery(site.site, time_range, interval, tracker.settings.session_gap_minutes * 60, segment)


def _run_stats(tracker, query: stats.StatsQuery, params: Params):
    return {"site": query.site, **query.range.as_dict(), "filter": describe(query.segment), **stats.run_stats(tracker.queries, query)}


# --- channels and sales cycle ----------------------------------------------------------------


def _channel_query(tracker, site: Site, params: Params) -> channels.ChannelQuery | None:
    time_range = params.attempt(lambda: parse_range(params.get("from"), params.get("to"), site.timezone))
    by = params.choice("by", channels.DIMENSIONS, "source")
    attribution = params.choice("attribution", channels.ATTRIBUTIONS, "last")
    lookback = params.duration("lookback", channels.DEFAULT_LOOKBACK, channels.MIN_LOOKBACK_S, channels.MAX_LOOKBACK_S)
    limit = params.integer("limit", channels.DEFAULT_LIMIT, 1, channels.MAX_LIMIT)
    segment = params.segment()
    if params.errors:
        return None
    return channels.ChannelQuery(
        site.site, time_range, by, attribution, lookback, tracker.settings.session_gap_minutes * 60, segment, limit
    )


def _describe_channels(query: channels.ChannelQuery) -> dict:
    return {
        "site": query.site, **query.range.as_dict(), "by": query.by, "attribution": query.attribution,
        "lookback": format_duration(query.lookback_s), "filter": describe(query.segment),
    }


def _run_channels(tracker, query: channels.ChannelQuery, params: Params):
    return {**_describe_channels(query), **channels.run_channels(tracker.queries, query)}


def _sales_cycle_query(tracker, site: Site, params: Params) -> sales_cycle.SalesCycleQuery | None:
    from_event = params.choice("from_event", sales_cycle.FROM_EVENTS, "visit")
    channel = _channel_query(tracker, site, params)
    return None if channel is None else sales_cycle.SalesCycleQuery(channel, from_event)


def _run_sales_cycle(tracker, query: sales_cycle.SalesCycleQuery, params: Params):
    return _sales_cycle_result(query, sales_cycle.run_sales_cycle(tracker.queries, query))


def _sales_cycle_result(query: sales_cycle.SalesCycleQuery, answer: dict) -> dict:
    return {**_describe_channels(query.channel), "from_event": query.from_event, **answer}


# --- end channels and sales cycle ------------------------------------------------------------

# --- cohorts and products -------------------------------------------------------------------


def _cohort_query(tracker, site: Site, params: Params) -> cohorts.CohortQuery | None:
    time_range = params.attempt(lambda: parse_range(params.get("from"), params.get("to"), site.timezone))
    period = params.choice("period", cohorts.PERIODS, "month")
    churn_after = params.duration(
        "churn_after", format_duration(cohorts.DEFAULT_CHURN_AFTER_S), cohorts.MIN_CHURN_AFTER_S, cohorts.MAX_CHURN_AFTER_S
    )
    if params.errors:
        return None
    if params.get("from") is None:
        time_range = TimeRange(cohorts.default_start(time_range.end, site.timezone, period), time_range.end, site.timezone)
    as_of = min(time_range.end, datetime.now(timezone.utc))
    return cohorts.CohortQuery(site.site, time_range, period, churn_after, as_of)


def _run_cohorts(tracker, query: cohorts.CohortQuery, params: Params):
    return {
        "site": query.site, **query.range.as_dict(), "period": query.period, "churn_after": format_duration(query.churn_after_s),
        "as_of": query.as_of.astimezone(ZoneInfo(query.range.timezone)).isoformat(timespec="milliseconds"), **cohorts.run_cohorts(tracker.queries, query),
    }


def _product_query(tracker, site: Site, params: Params) -> products.ProductQuery | None:
    time_range = params.attempt(lambda: parse_range(params.get("from"), params.get("to"), site.timezone))
    sort = params.choice("sort", products.SORTS, "units")
    limit = params.integer("limit", products.DEFAULT_LIMIT, 1, products.MAX_LIMIT)
    if params.errors:
        return None
    return products.ProductQuery(site.site, time_range, sort, limit)


def _run_products(tracker, query: products.ProductQuery, params: Params):
    return {"site": query.site, **query.range.as_dict(), **products.run_products(tracker.queries, query)}


def _run_abandoned_products(tracker, query: carts.CartQuery, params: Params):
    return _abandoned_products_result(query, products.run_abandoned(tracker.queries, query))


def _abandoned_products_result(query: carts.CartQuery, answer: dict) -> dict:
    return {"site": query.site, **query.range.as_dict(), "idle": format_duration(query.idle_s), **answer}


# --- end of cohorts and products -----------------------------------------------------------

# --- pages and devices ----------------------------------------------------------------------


def _listing(module, query_class, choice: str, choices: tuple[str, ...], default: str, run):
    """The builder and runner of a ranked list over visits (/pages by `kind`, /devices by `by`):
    range, the list's choice, limit and filter."""
    def build(tracker, site: Site, params: Params):
        time_range = params.attempt(lambda: parse_range(params.get("from"), params.get("to"), site.timezone))
        chosen = params.choice(choice, choices, default)
        limit = params.integer("limit", module.DEFAULT_LIMIT, 1, module.MAX_LIMIT)
        segment = params.segment()
        if params.errors:
            return None
        return query_class(site.site, time_range, chosen, tracker.settings.session_gap_minutes * 60, segment, limit)

    def answer(tracker, query, params: Params):
        return _listing_result(query, run(tracker.queries, query))

    return build, answer


def _listing_result(query, answer: dict) -> dict:
    return {"site": query.site, **query.range.as_dict(), "filter": describe(query.segment), **answer}


_page_query, _run_pages = _listing(pages, pages.PageQuery, "kind", pages.KINDS, "top", pages.run_pages)
_device_query, _run_devices = _listing(devices, devices.DeviceQuery, "by", devices.DIMENSIONS, "device", devices.run_devices)


async def execute_page_visits(tracker, site: Site, device_params: list[Params], channel_params: Params,
                              cycle_params: Params) -> tuple[list[dict], dict, dict]:
    """What devices answers for each of device_params (one per dimension), channels for
    channel_params and sales_cycle for cycle_params, from one pass over the visits
    (tracker/queries/page_visits.py): the owner's page shows all of them. The channels' must be
    last touch with the default lookback, the sales cycle's credited alike, and no `compare`
    (page_visits.serves)."""
    QUERY_LABEL.set("page_visits")
    device_queries = tuple(QUERIES["devices"].build(tracker, site, params) for params in device_params)
    channel_query = QUERIES["channels"].build(tracker, site, channel_params)
    cycle_query = QUERIES["sales_cycle"].build(tracker, site, cycle_params)
    for params in (*device_params, channel_params, cycle_params):
        params.check()
    lists = page_visits.PageVisits(device_queries, channel_query, cycle_query)
    device_answers, channel_answer, cycle_answer = await offload(tracker, lambda: page_visits.run_all(tracker.queries, lists))
    return ([_listing_result(q, a) for q, a in zip(device_queries, device_answers)],
            {**_describe_channels(channel_query), **channel_answer}, _sales_cycle_result(cycle_query, cycle_answer))


# --- end of pages and devices ---------------------------------------------------------------
# --- realtime -------------------------------------------------------------------------------


def _realtime_query(tracker, site: Site, params: Params) -> realtime.RealtimeQuery | None:
    limit = params.integer("limit", realtime.DEFAULT_LIMIT, 1, realtime.MAX_LIMIT)
    if params.errors:
        return None
    return realtime.RealtimeQuery(site.site, site.timezone, datetime.now(timezone.utc), limit)


def _run_realtime(tracker, query: realtime.RealtimeQuery, params: Params):
    return {"site": query.site, "flush_interval_s": tracker.settings.flush_interval_s, **realtime.run_realtime(tracker.queries, query)}


# --- end realtime ---------------------------------------------------------------------------


QUERIES = {
    "funnel": Query(lambda t, s, p: _funnel_spec(t, s, p, False), _run_funnel, tables.funnel_rows),
    "funnel_trends": Query(lambda t, s, p: _funnel_spec(t, s, p, True), _run_trends, tables.trend_rows),
    "abandoned_carts": Query(_cart_query("abandoned"), _run_carts, tables.cart_rows),
    "recovered_carts": Query(_cart_query("recovered"), _run_carts, tables.cart_rows),
    "stats": Query(_stats_query, _run_stats, tables.stats_rows),
    "channels": Query(_channel_query, _run_channels, tables.channel_rows),
    "sales_cycle": Query(_sales_cycle_query, _run_sales_cycle, tables.sales_cycle_rows),
    "cohorts": Query(_cohort_query, _run_cohorts, tables.cohort_rows),
    "products": Query(_product_query, _run_products, tables.product_rows),
    "abandoned_products": Query(_cart_query("abandoned"), _run_abandoned_products, tables.abandoned_product_rows),
    "pages": Query(_page_query, _run_pages, tables.page_rows),
    "devices": Query(_device_query, _run_devices, tables.device_rows),
    "realtime": Query(_realtime_query, _run_realtime, tables.realtime_rows),
}

def _handler(name: str):
    """The Starlette endpoint of one query API endpoint: every one answers through _answer."""
    async def endpoint(request: Request) -> Response:
        return await _answer(request, name)

    endpoint.__name__ = name
    return endpoint


HANDLERS = {name: _handler(name) for name in QUERIES}
