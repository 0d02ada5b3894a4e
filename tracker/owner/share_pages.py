"""The shared links on the pages: the landing page a link opens (/app/_share#secret), and the
owner's create and revoke forms on /app/{site} (tracker/owner/share.py explains the design).

Every change is a same-origin POST (tracker/owner/session.py); the new link's secret is shown once,
in the answer to the create form, never in a URL of ours.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from tracker.clickhouse.threads import ClickHouseUnavailable
from tracker.errors import clickhouse_unavailable
from tracker.owner.pages import SECURITY_HEADERS, page, render
from tracker.owner.session import PageError, cookie_identity, form_fields, same_origin_post, set_token_cookie, signed_in_site
from tracker.owner.share import LANDING, MAX_NOTE, SHARE_LINKS, create_link, link, list_links, revoke_link


def _refused(what: str) -> PageError:
    return PageError(403, f"{what} refused", "This form was sent from another site.")


@page
async def landing(request: Request) -> Response:
    """GET: the page whose script posts the fragment's secret; POST: the secret for the cookie."""
    if request.method == "GET":
        return render(request, "share_landing.html", {"error": ""})
    if not same_origin_post(request):
        raise _refused("Opening the link")
    secret = (await form_fields(request)).get("secret", "").strip()
    identity = await cookie_identity(request.app.state.tracker, secret) if secret.startswith(SHARE_LINKS.prefix) else None
    if identity is None:
        return render(request, "share_landing.html",
                      {"error": "This link is not valid: it may have been revoked, or it was not copied whole. Ask for a new one."}, 401)
    response = RedirectResponse(f"/app/{identity[0]}", 303, headers=SECURITY_HEADERS)
    set_token_cookie(request, response, secret)
    return response


@page
async def create(request: Request) -> Response:
    site = await signed_in_site(request, request.path_params["site"])
    if not same_origin_post(request):
        raise _refused("Creating a link")
    note = (await form_fields(request)).get("note", "").strip()[:MAX_NOTE]
    tracker = request.app.state.tracker
    try:
        link_id, secret = await tracker.run_control(lambda: create_link(tracker.control.client(), site.site, note))
    except ClickHouseUnavailable:
        raise clickhouse_unavailable() from None
    base = f"{request.url.scheme}://{request.url.netloc}"
    context = {"site": site, "signed_in_site": site.site, "link": link(base, secret), "link_id": link_id, "note": note}
    return render(request, "share_created.html", context, 201)


@page
async def revoke(request: Request) -> Response:
    site = await signed_in_site(request, request.path_params["site"])
    if not same_origin_post(request):
        raise _refused("Revoking a link")
    tracker = request.app.state.tracker
    link_id = request.path_params["link_id"]

    try:
        revoked = await tracker.run_control(lambda: revoke_link(tracker.control.client(), link_id, site.site))
    except ClickHouseUnavailable:
        raise clickhouse_unavailable() from None
    tracker.share_links.forget(link_id)  # this worker refuses it from now on, not after TOKEN_CACHE_S
    if not revoked:
        raise PageError(404, "No such link", f"Site {site.site} has no active shared link {link_id!r}.", site.site)
    return RedirectResponse(f"/app/{site.site}#shared-links", 303, headers=SECURITY_HEADERS)


def routes() -> list[BaseRoute]:
    return [
        Route(LANDING, landing, methods=["GET", "POST"]),
        Route("/app/{site:site_id}/shared-links", create, methods=["POST"]),
        Route("/app/{site:site_id}/shared-links/{link_id}/revoke", revoke, methods=["POST"]),
    ]
