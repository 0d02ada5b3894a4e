"""The shop owner's pages, /app/{site}: totals, a chart over time, the shop funnel, channels,
carts and the breakdown panels (breakdowns.py) for a date range, server-rendered (templates/app/) for owners who have no Grafana.

Every figure comes from the query API's own code path (tracker/http/query.py execute(), which
runs tracker/queries/* off the event loop), so the pages show exactly what the API answers for
the same `from` and `to` (the channels table is /channels: last touch, by source), and for the
page's `compare` and `filter` (tracker/owner/view.py) where the endpoint takes them.

Paths beside /app/{site} start with `_`, which no site id can (tracker/sites.py SITE_ID), and
{site} matches site ids only, so /app/_sign-out is never taken for a site.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Awaitable, Callable
from zoneinfo import ZoneInfo

from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from tracker.errors import ApiError
from tracker.owner import breakdowns, compare as page_compare, filters as page_filters, format as app_format
from tracker.owner.funnel_choice import dashboard_funnel
from tracker.owner.session import (
    COOKIE,
    PageError,
    SignInNeeded,
    clear_token_cookie,
    form_fields,
    cookie_identity,
    same_origin_post,
    set_token_cookie,
    signed_in_site,
    viewer_of,
)
from tracker.owner.view import PageView
from tracker.http.auth import site_of_token
from tracker.owner.share import active_links
from tracker.http.query import BY_NAME, Params, csv_answer, execute, execute_page_carts, execute_page_visits, offload
from tracker.queries.carts import MAX_LIMIT
from tracker.queries.errors import ParamErrors
from tracker.queries.runner import QUERY_NICENESS, shared_answers
from tracker.queries.timerange import DEFAULT_DAYS, TimeRange, parse_range
from tracker.sites import SITE_ID, Site

APP_UI_DIST = Path(__file__).resolve().parents[2] / "app-ui" / "dist"
TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
app_format.install(TEMPLATES.env)
page_compare.install(TEMPLATES.env)
page_filters.install(TEMPLATES.env)

SIGN_IN = "/app/_sign-in"
CARTS_SHOWN = 10  # the newest carts listed on the page; the CSV has all of them
PANEL_NICENESS = 10  # os_thread_priority of the page's queries besides the carts' (see dashboard)
CSV_MAX_CARTS = 50_000  # one CSV download reads at most this many carts (100 pages of the API)
# No inline script or style, nothing from elsewhere, no framing: the CSP the issue asks for and a bit more.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",  # a shop's figures stay out of shared caches and the back-forward cache
}


def render(request: Request, template: str, context: dict, status: int = 200, headers: dict | None = None) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request, f"app/{template}", context, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})}
    )


def _sign_in_page(request: Request, status: int = 200, error: str = "", notice: str = "") -> HTMLResponse:
    return render(request, "sign_in.html", {"error": error, "notice": notice}, status)


def page(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Turns the pages' exceptions into pages: sign-in, 403/404, 400 and a friendly 503."""

    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except SignInNeeded as exc:
            if not exc.reason:
                return RedirectResponse(SIGN_IN, 303, headers=SECURITY_HEADERS)
            response = _sign_in_page(request, 401, notice=exc.reason)
            clear_token_cookie(request, response)
            return response
        except PageError as exc:
            return render(request, "error.html", {**vars(exc), "fields": []}, exc.status)
        except ApiError as exc:
            if exc.status == 503:
                title, message = "The numbers are not available right now", "The database does not answer at the moment."
                if exc.code == "query_limit":
                    message = "The query took too long or needed too much memory; choose a shorter date range."
            else:
                title, message = "These parameters cannot be used", exc.message
            return render(request, "error.html", {"status": exc.status, "title": title, "message": message, "fields": exc.fields},
                          exc.status, exc.headers)

    return run


# --- sign-in ----------------------------------------------------------------------------------


@page
async def home(request: Request) -> Response:
    token = request.cookies.get(COOKIE)
    identity = await cookie_identity(request.app.state.tracker, token) if token else None
    return RedirectResponse(f"/app/{identity[0]}" if identity else SIGN_IN, 303, headers=SECURITY_HEADERS)


@page
async def sign_in(request: Request) -> Response:
    if request.method == "GET":
        notice = "You are signed out." if "signed_out" in request.query_params else ""
        return _sign_in_page(request, notice=notice)
    if not same_origin_post(request):
        raise PageError(403, "Sign-in refused", "This form was sent from another site.")
    token = (await form_fields(request)).get("token", "").strip()
    if not token:
        return _sign_in_page(request, 400, error="Enter the token.")
    site = await site_of_token(request.app.state.tracker, token)
    if site is None:
        return _sign_in_page(request, 401, error="That token is not valid. Check it, or create a new one with python -m tracker token create SITE.")
    response = RedirectResponse(f"/app/{site}", 303, headers=SECURITY_HEADERS)
    set_token_cookie(request, response, token)
    return response


@page
async def sign_out(request: Request) -> Response:
    if not same_origin_post(request):
        raise PageError(403, "Sign-out refused", "This form was sent from another site.")
    response = RedirectResponse(f"{SIGN_IN}?signed_out", 303, headers=SECURITY_HEADERS)
    clear_token_cookie(request, response)
    return response


# --- the site's page ---------------------------------------------------------------------------


def chosen_days(request: Request, site: Site, today: date | None = None) -> dict[str, str]:
    """The form's dates: as given, else the last 30 local days up to today (the API's default span)."""
    today = today or datetime.now(timezone.utc).astimezone(ZoneInfo(site.timezone)).date()
    given = {name: request.query_params.get(name, "").strip() for name in ("from", "to")}
    to_day = given["to"] or today.isoformat()
    if given["from"]:
        return {"from": given["from"], "to": to_day}
    try:
        from_day = (date.fromisoformat(to_day) - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    except ValueError:
        from_day = ""  # parse_range reports the bad `to`
    return {"from": from_day, "to": to_day}


def interval_for(time_range: TimeRange) -> str:
    """Periods for the chart: days up to about three months, then weeks up to about a year, then months."""
    days = (time_range.end - time_range.start).days
    return "day" if days <= 92 else "week" if days <= 400 else "month"


async def query_api(request: Request, site: Site, name: str, days: dict[str, str], view: PageView | None = None, **extra: str) -> dict:
    """What GET /api/v1/sites/{site}/<endpoint>?from=..&to=..&extra.. answers, as a dict; with the
    page's filters and comparison (`view`) where the endpoint takes them."""
    return await execute(request.app.state.tracker, site, name, api_params(days, view, name, **extra))


def api_params(days: dict[str, str], view: PageView | None, name: str, **extra: str | int) -> Params:
    """The endpoint's parameters for the page's days, `extra` and view (where the endpoint takes them)."""
    pairs = [*days.items(), *((k, str(v)) for k, v in extra.items()), *(view.api_params(name) if view else ())]
    return Params(QueryParams(pairs), BY_NAME[name])


def chart_data(stats: dict) -> dict:
    """The series the chart draws (app-ui/src/app.js): one value per period, revenue per currency."""
    currencies = sorted({r["currency"] for r in stats["totals"]["revenue"]})
    return {
        "periods": [p["period"] for p in stats["series"]],
        "visitors": [p["visitors"] for p in stats["series"]],
        "orders": [p["orders"] for p in stats["series"]],
        "revenue": {c: [app_format.revenue_in(p, c) for p in stats["series"]] for c in currencies},
    }


async def _panels(request: Request, site: Site, days: dict[str, str], view: PageView, time_range: TimeRange) -> tuple:
    """Every panel's answers: stats, the funnel, abandoned and recovered carts, channels, the breakdowns.

    Lists are computed together: the abandoned carts, the items left in them and the recovered
    carts from one computation of the carts; devices, browsers, OS, channels and the sales cycle
    from one pass over the visits (with `compare`, the channels are asked on their own: their
    comparison reads the earlier period too). The carts' query is the page's longest and least
    parallel, and the page is CPU-bound: the other queries yield the CPU to it (PANEL_NICENESS),
    which takes about a tenth off the page's time on 10M events (bench/page.py; ClickHouse honours
    it where it has CAP_SYS_NICE, docs/operations.md)."""
    tracker = request.app.state.tracker
    with shared_answers():  # panels asking the same query (the three lists of pages) share one run of it
        cart_lists = asyncio.ensure_future(execute_page_carts(
            tracker, site, api_params(days, view, "abandoned_carts", limit=CARTS_SHOWN),
            api_params(days, view, "abandoned_products", limit=breakdowns.SHOWN), api_params(days, view, "recovered_carts", limit=CARTS_SHOWN)))
        niceness = QUERY_NICENESS.set(PANEL_NICENESS)  # for the tasks started from here on
        try:
            visit_lists = asyncio.ensure_future(execute_page_visits(
                tracker, site, [api_params(days, view, "devices", by=by, limit=breakdowns.SHOWN) for by in breakdowns.DEVICE_DIMENSIONS],
                api_params(days, view, "channels"), api_params(days, view, "sales_cycle", limit=breakdowns.SHOWN)))

            async def part(lists: asyncio.Future, index: int):
                return (await lists)[index]

            return await asyncio.gather(
                query_api(request, site, "stats", days, view, interval=interval_for(time_range)),
                dashboard_funnel(request, site, days, view),  # the picked saved funnel, and the picker's choices
                part(cart_lists, 0),
                part(cart_lists, 2),
                query_api(request, site, "channels", days, view) if view.compare else part(visit_lists, 1),
                breakdowns.gather(functools.partial(query_api, request, site, view=view), days, abandoned_products=part(cart_lists, 1),
                                  devices=part(visit_lists, 0), sales_cycle=part(visit_lists, 2)),
            )
        finally:
            QUERY_NICENESS.reset(niceness)


@page
async def dashboard(request: Request) -> Response:
    viewer = await viewer_of(request, request.path_params["site"])  # the owner, or a shared link (read-only)
    site = viewer.site
    days = chosen_days(request, site)
    view = PageView.of(request, site.site, days)  # the comparison and the filters
    context = {"site": site, "signed_in_site": site.site, "days": days, "view": view, "errors": dict(view.errors), "stats": None,
               "read_only": viewer.shared, "shared_links": None if viewer.shared else await active_links(request.app.state.tracker, site.site)}
    try:
        time_range = parse_range(days["from"], days["to"], site.timezone)
    except ParamErrors as exc:
        context["errors"].update({e.field: e.reason for e in exc.errors})
    if context["errors"]:
        return render(request, "dashboard.html", context, 400)
    stats, funnel, abandoned, recovered, channels, context["breakdowns"] = await _panels(request, site, days, view, time_range)
    chart = chart_data(stats)
    chart["compare"] = page_compare.chart(stats)
    context.update(stats=stats, **funnel, abandoned=abandoned, recovered=recovered, channels=channels,
                   chart=chart, currencies=list(chart["revenue"]))
    return render(request, "dashboard.html", context)


@page
async def carts_csv(request: Request) -> Response:
    """All carts of the range as the API's CSV (tracker/http/tables.py), read page by page."""
    site = await signed_in_site(request, request.path_params["site"])
    kind = request.path_params["kind"]
    if kind not in ("abandoned", "recovered"):
        raise PageError(404, "Not found", "There are abandoned and recovered carts only.", site.site)
    name, days = f"{kind}_carts", chosen_days(request, site)
    carts: list[dict] = []
    cursor: dict[str, str] = {}
    while True:
        result = await query_api(request, site, name, days, limit=str(MAX_LIMIT), **cursor)
        carts += result["carts"]
        if not result["next_cursor"] or len(carts) >= CSV_MAX_CARTS:
            break
        cursor = {"cursor": result["next_cursor"]}
    response = csv_answer(site, name, {**result, "carts": carts})
    response.headers["cache-control"] = "no-store"
    return response


class SiteIdConvertor(Convertor):
    regex = SITE_ID.pattern.strip("^$")

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("site_id", SiteIdConvertor())


def routes() -> list[BaseRoute]:
    return [
        Route("/app", home),
        Route(SIGN_IN, sign_in, methods=["GET", "POST"]),
        Route("/app/_sign-out", sign_out, methods=["POST"]),
        Mount("/app/_static", StaticFiles(directory=APP_UI_DIST), name="app-static"),
        Route("/app/{site:site_id}", dashboard),
        Route("/app/{site:site_id}/carts/{kind}.csv", carts_csv),
    ]
