"""The funnel on the site's page (/app/{site}): the saved funnel picked with ?funnel=ID (the picker,
templates/app/_funnel_picker.html, is a GET form), else the site's default funnel, as the funnel
API answers it for the page's range, and the picker's choices. The forms are tracker/owner/funnels.py.
"""

from __future__ import annotations

from starlette.datastructures import QueryParams
from starlette.requests import Request

from tracker.http.query import BY_NAME, Params, execute, offload
from tracker.http.saved_funnels import default_window_s
from tracker.owner.view import PageView
from tracker.saved_funnels import store
from tracker.saved_funnels.definition import DEFAULT_ID
from tracker.sites import Site


async def dashboard_funnel(request: Request, site: Site, days: dict[str, str], view: PageView | None = None) -> dict:
    """The page's funnel (the one picked with ?funnel=ID, else the site's default) as the funnel
    API answers it, and the picker's choices. A funnel removed meanwhile falls back to the default."""
    tracker = request.app.state.tracker
    window = default_window_s(tracker)
    saved = await offload(tracker, lambda: store.list_funnels(tracker.queries.client(), site.site, window))
    chosen, notice = request.query_params.get("funnel", "").strip() or DEFAULT_ID, ""
    if chosen not in {f.funnel_id for f in saved}:
        notice = f"There is no saved funnel {chosen[:64]!r} (it may have been deleted); this is the default funnel."
        chosen = DEFAULT_ID
    pairs = [*days.items(), ("funnel", chosen), *(view.api_params("funnel") if view else ())]  # the page's filters and comparison
    funnel = await execute(tracker, site, "funnel", Params(QueryParams(pairs), BY_NAME["funnel"]))
    return {"funnel": funnel, "funnels": [(f.funnel_id, f.name) for f in saved], "chosen_funnel": chosen, "funnel_notice": notice}
