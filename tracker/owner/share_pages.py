"""The shared links on the pages: the landing page a link opens (/app/_share#secret), and the
owner's create and revoke forms on /app/{site} (tracker/owner/share.py explains the design).

Every change is a same-origin POST (tracker/owner/session.py); the new link's secret is shown once,
never in a URL of ours.

Shown once, and a reload creates nothing: the create form's POST answers 303 to
/app/{site}/shared-links/created (Post/Redirect/Get), and the fresh secret goes along in a cookie
made for that one page: HttpOnly, SameSite=Strict, Path of that page only, a minute long, Secure
over https. That GET shows the link if the secret is still one of the site's active links, and
clears the cookie in the same answer; a reload, or the page opened later, finds no cookie and
says the link was shown once. The secret so travels only in Set-Cookie and Cookie headers, which
no access log or metric of ours records. (Several workers serve the pages, so the secret cannot
wait in one worker's memory; the cookie needs no store at all.)
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from tracker.clickhouse.threads import ClickHouseUnavailable
from tracker.errors import clickhouse_unavailable
from tracker.owner.pages import SECURITY_HEADERS, page, render
from tracker.owner.session import PageError, cookie_identity, form_fields, same_origin_post, set_token_cookie, signed_in_site
from tracker.owner.share import LANDING, MAX_NOTE, SHARE_LINKS, active_links, create_link, link, revoke_link
from tracker.tokens import digest

NEW_LINK_COOKIE = "fh_new_link"
NEW_LINK_MAX_AGE_S = 60  # the redirect is followed at once; a link not seen by then is revoked and made again


def _created_page(site_id: str) -> str:
    return f"/app/{site_id}/shared-links/created"


def _new_link_cookie(request: Request, site_id: str) -> dict:
    """The new-link cookie's attributes: the same when it is set and when it is cleared."""
    return {"path": _created_page(site_id), "httponly": True, "samesite": "strict", "secure": request.url.scheme == "https"}


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
        _, secret = await tracker.run_control(lambda: create_link(tracker.control.client(), site.site, note))
    except ClickHouseUnavailable:
        raise clickhouse_unavailable() from None
    response = RedirectResponse(_created_page(site.site), 303, headers=SECURITY_HEADERS)
    response.set_cookie(NEW_LINK_COOKIE, secret, max_age=NEW_LINK_MAX_AGE_S, **_new_link_cookie(request, site.site))
    return response


@page
async def created(request: Request) -> Response:
    """The new link, once: from the create form's cookie, cleared by this same answer."""
    site = await signed_in_site(request, request.path_params["site"])
    secret = request.cookies.get(NEW_LINK_COOKIE, "")
    shown = None
    if secret.startswith(SHARE_LINKS.prefix):  # still one of this site's links (not revoked meanwhile, not another's)
        sha256 = digest(secret)
        shown = next((s for s in await active_links(request.app.state.tracker, site.site) if hmac.compare_digest(s.sha256, sha256)), None)
    base = f"{request.url.scheme}://{request.url.netloc}"
    context = {"site": site, "signed_in_site": site.site, "link": link(base, secret) if shown else None,
               "link_id": shown.token_id if shown else "", "note": shown.note if shown else ""}
    response = render(request, "share_created.html", context)
    response.delete_cookie(NEW_LINK_COOKIE, **_new_link_cookie(request, site.site))
    return response


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
        Route("/app/{site:site_id}/shared-links/created", created),
        Route("/app/{site:site_id}/shared-links/{link_id}/revoke", revoke, methods=["POST"]),
    ]
