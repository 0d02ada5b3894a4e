"""Saved funnels on the owner's pages: server-rendered forms to create, edit and delete funnels
(templates/app/funnel_form.html); the picker on /app/{site} is tracker/owner/funnel_choice.py.

    GET  /app/{site}/funnels/new                 the form for a new funnel
    POST /app/{site}/funnels                     save it, then back to the site's page showing it
    GET  /app/{site}/funnels/{funnel_id}/edit    the form, filled in (`shop`: the default funnel)
    POST /app/{site}/funnels/{funnel_id}         save the changes
    POST /app/{site}/funnels/{funnel_id}/delete  remove it (`shop`: back to the built-in shop funnel)

The checks are the API's (tracker/saved_funnels/edits.py); their field errors are shown next to
the fields. The forms carry what the page was looking at (days, comparison, filters: its PageView,
tracker/owner/view.py) in hidden fields, so Back, Save and Delete return to that same view. Every
POST passes same_origin_post (tracker/owner/session.py), and the store's calls run on the query
threads (tracker/http/query.py offload).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from tracker.errors import ApiError
from tracker.http.query import offload
from tracker.http.saved_funnels import default_window_s
from tracker.owner.pages import SECURITY_HEADERS, page, render
from tracker.owner.session import PageError, form_values, same_origin_post, signed_in_site
from tracker.owner.view import PageView
from tracker.queries import funnels as funnel_queries
from tracker.queries.durations import format_duration
from tracker.queries.segments import MAX_FILTERS
from tracker.queries.steps import MAX_STEPS
from tracker.saved_funnels import edits
from tracker.saved_funnels.definition import DEFAULT_ID, SavedFunnel
from tracker.sites import Site

MAX_FORM_BYTES = 128 * 1024  # 20 steps of filters; the API takes 64 KB of JSON
SPARE_ROWS = 2  # empty step rows under a funnel's steps, to add some without a script
MIN_ROWS = 4
VIEW_FIELDS = 4 + MAX_FILTERS  # from, to, compare, funnel and the filters: what the page was looking at


def _back(view: PageView, funnel_id: str | None) -> str:
    """The site's page as the form came from it (days, comparison, filters), showing the funnel."""
    return replace(view, funnel="" if funnel_id in (None, DEFAULT_ID) else funnel_id).url()


def _form_values(funnel: SavedFunnel | None) -> dict:
    if funnel is None:
        return {"name": "", "window": "", "order": "ordered", "unit": "visitor", "rows": []}
    rows = [{"step": text, "label": label} for text, label in funnel.steps]
    return {"name": funnel.name, "window": format_duration(funnel.window_s), "order": funnel.order, "unit": funnel.unit, "rows": rows}


def _show_form(request: Request, site: Site, funnel: SavedFunnel | None, funnel_id: str | None, values: dict, view: PageView,
               errors: dict | None = None, status: int = 200) -> Response:
    rows = values["rows"]
    shown = min(MAX_STEPS, max(MIN_ROWS, len(rows) + SPARE_ROWS))
    rows = rows + [{"step": "", "label": ""}] * (shown - len(rows))
    context = {
        "site": site, "signed_in_site": site.site, "funnel_id": funnel_id, "funnel": funnel, "values": {**values, "rows": rows},
        "errors": errors or {}, "days": view.days, "view": view,
        "back": _back(view, funnel_id) if funnel_id else view.url(), "orders": funnel_queries.ORDERS, "units": funnel_queries.UNITS,
        "default_window": request.app.state.tracker.settings.funnel_default_window, "max_steps": MAX_STEPS,
    }
    return render(request, "funnel_form.html", context, status)


def _view(site: Site, values: Callable[[str], list[str]]) -> PageView:
    """The page's view from the editor's query string or a form (values: a name's every value), checked as the page checks it."""
    days = {k: (values(k) or [""])[0].strip()[:32] for k in ("from", "to")}
    return PageView.read(values, site.site, days)


async def _posted(request: Request, site: Site, max_fields: int) -> tuple[dict[str, str], PageView]:
    """The form's fields (the first value of each) and the page's view it carries."""
    values = await form_values(request, MAX_FORM_BYTES, max_fields)
    return {name: v[0] for name, v in values.items()}, _view(site, lambda name: values.get(name, []))


async def _find(request: Request, site: Site, funnel_id: str) -> SavedFunnel:
    tracker = request.app.state.tracker
    window = default_window_s(tracker)
    try:
        return await offload(tracker, lambda: edits.find(tracker.queries.client(), site.site, funnel_id, window))
    except ApiError as exc:
        if exc.status == 404:
            raise PageError(404, "No such funnel", f"This site has no saved funnel {funnel_id[:64]!r}; it may have been deleted.",
                            site.site) from None
        raise


@page
async def new_form(request: Request) -> Response:
    site = await signed_in_site(request, request.path_params["site"])
    return _show_form(request, site, None, None, _form_values(None), _view(site, request.query_params.getlist))


@page
async def edit_form(request: Request) -> Response:
    site = await signed_in_site(request, request.path_params["site"])
    funnel = await _find(request, site, request.path_params["funnel_id"])
    return _show_form(request, site, funnel, funnel.funnel_id, _form_values(funnel), _view(site, request.query_params.getlist))


def _definition(fields: dict[str, str]) -> tuple[dict, list[int]]:
    """The form as a definition for edits.create/update, and the form row of each step."""
    steps, rows = [], []
    for i in range(MAX_STEPS):
        step, label = fields.get(f"step_{i}", "").strip(), fields.get(f"label_{i}", "").strip()
        if step or label:
            steps.append({"step": step, "label": label})
            rows.append(i)
    definition = {"name": fields.get("name", ""), "steps": steps}
    definition.update({k: fields[k].strip() for k in ("window", "order", "unit") if fields.get(k, "").strip()})
    return definition, rows


def _errors_by_field(error: ApiError, rows: list[int]) -> dict[str, str]:
    """Field paths (steps[2].step) as the form's field names (step_5: the form row of step 2)."""
    out = {}
    for f in error.fields:
        path = f.path
        if path.startswith("steps[") and "]" in path:
            index, rest = path[6:].split("]", 1)
            if index.isdigit() and int(index) < len(rows):
                path = f"{rest.lstrip('.') or 'step'}_{rows[int(index)]}"
        out.setdefault(path, f.reason)
    return out


async def _save(request: Request, funnel_id: str | None) -> Response:
    site = await signed_in_site(request, request.path_params["site"])
    if not same_origin_post(request):
        raise PageError(403, "Not saved", "This form was sent from another site.", site.site)
    fields, view = await _posted(request, site, 4 * MAX_STEPS + 10 + MAX_FILTERS)
    previous = await _find(request, site, funnel_id) if funnel_id else None
    definition, rows = _definition(fields)
    tracker = request.app.state.tracker
    window = default_window_s(tracker)

    def save():
        client = tracker.queries.client()
        if funnel_id is None:
            return edits.create(client, site.site, definition, window)
        return edits.update(client, site.site, funnel_id, definition, window)

    try:
        saved = await offload(tracker, save)
    except ApiError as exc:
        if exc.status not in (400, 409):
            raise
        errors = _errors_by_field(exc, rows) if exc.fields else {"form": exc.message}
        values = {"name": definition["name"], "window": fields.get("window", ""), "order": fields.get("order", "ordered"),
                  "unit": fields.get("unit", "visitor"),
                  "rows": [{"step": fields.get(f"step_{i}", ""), "label": fields.get(f"label_{i}", "")} for i in range(MAX_STEPS)
                           if i <= max(rows, default=-1)]}
        return _show_form(request, site, previous, funnel_id, values, view, errors, exc.status)
    return RedirectResponse(_back(view, saved.funnel_id), 303, headers=SECURITY_HEADERS)


@page
async def create(request: Request) -> Response:
    return await _save(request, None)


@page
async def update(request: Request) -> Response:
    return await _save(request, request.path_params["funnel_id"])


@page
async def delete(request: Request) -> Response:
    site = await signed_in_site(request, request.path_params["site"])
    if not same_origin_post(request):
        raise PageError(403, "Not deleted", "This form was sent from another site.", site.site)
    _, view = await _posted(request, site, VIEW_FIELDS)
    funnel = await _find(request, site, request.path_params["funnel_id"])
    tracker = request.app.state.tracker
    window = default_window_s(tracker)
    await offload(tracker, lambda: edits.remove(tracker.queries.client(), site.site, funnel.funnel_id, window))
    return RedirectResponse(_back(view, None), 303, headers=SECURITY_HEADERS)


def routes() -> list[BaseRoute]:
    return [
        Route("/app/{site:site_id}/funnels/new", new_form),
        Route("/app/{site:site_id}/funnels", create, methods=["POST"]),
        Route("/app/{site:site_id}/funnels/{funnel_id}/edit", edit_form),
        Route("/app/{site:site_id}/funnels/{funnel_id}", update, methods=["POST"]),
        Route("/app/{site:site_id}/funnels/{funnel_id}/delete", delete, methods=["POST"]),
    ]
