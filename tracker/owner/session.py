"""Sign-in for the pages (/app): a site's query API token, or a shared link's secret (read-only,
tracker/owner/share.py), kept in a cookie.

The token travels once, in the body of a form POST, and is then kept in a cookie that scripts
cannot read (HttpOnly), that the browser sends only to /app pages of this same site
(SameSite=Strict, Path=/app) and only over https when the pages are served over https (Secure).
It is never put in a URL, so it stays out of the history, logs and Referer headers.

Who may do what: viewer_of answers the owner or a shared link's viewer, for pages that only show
figures; signed_in_site answers the owner only (a shared link gets a 403 page), for everything
that changes or exports something. New handlers that change anything must use signed_in_site.

Cross-site request forgery: every change (sign-in, sign-out) is a POST; reading pages changes
nothing. A forged cross-site POST carries no cookie (SameSite=Strict), and on top of that a POST
the browser marks as coming from elsewhere (same_origin_post) is refused, so another site cannot
sign a visitor in with a token of its own choosing either.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from tracker.clickhouse.threads import ClickHouseUnavailable
from tracker.errors import clickhouse_unavailable
from tracker.http.auth import lookup_site, site_of_token
from tracker.owner.share import SHARE_LINKS
from tracker.sites import Site
from tracker.tokens import list_tokens

COOKIE = "fh_app_token"
COOKIE_PATH = "/app"
COOKIE_MAX_AGE_S = 14 * 86400  # a shop owner signs in again every two weeks, or after sign-out
MAX_FORM_BYTES = 4096  # a token is under 100 characters


class SignInNeeded(Exception):
    """No cookie, or one whose token is no longer valid: show the sign-in page (with a reason)."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class PageError(Exception):
    """An answer shown as a page: 403 other site, 404 no such site, 503 ClickHouse away."""

    status: int
    title: str
    message: str
    signed_in_site: str | None = None


def set_token_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE, token, max_age=COOKIE_MAX_AGE_S, path=COOKIE_PATH, httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_token_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict", secure=request.url.scheme == "https")


def same_origin_post(request: Request) -> bool:
    """False for a POST that a browser says came from another site (or a sibling subdomain).

    Sec-Fetch-Site first: current browsers always send it, and it stays right behind a proxy
    that rewrites the Host header (which would make Origin look foreign). Older browsers: Origin."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


async def form_fields(request: Request, max_bytes: int = MAX_FORM_BYTES, max_fields: int = 10) -> dict[str, str]:
    """The fields of a small urlencoded form (the first value of each); {} for anything else."""
    return {name: values[0] for name, values in (await form_values(request, max_bytes, max_fields)).items()}


async def form_values(request: Request, max_bytes: int = MAX_FORM_BYTES, max_fields: int = 10) -> dict[str, list[str]]:
    """Every value of each field of a small urlencoded form (a repeated field: the page's `filter`s); {} for anything else."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            return {}
    try:
        return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=max_fields)
    except ValueError:  # more fields than max_fields
        return {}


@dataclass(frozen=True)
class Viewer:
    """Who looks at a site's page: its owner (a query token) or the holder of a shared link (read-only)."""

    site: Site
    shared: bool


async def cookie_identity(tracker, token: str) -> tuple[str, bool] | None:
    """(site id, shared) of the cookie's secret, a query token or a shared link's; None if not valid."""
    if not token.startswith(SHARE_LINKS.prefix):
        site = await site_of_token(tracker, token)
        return None if site is None else (site, False)
    try:
        site = await tracker.share_links.site_of(
            token, lambda: tracker.run_control(lambda: list_tokens(tracker.control.client(), kind=SHARE_LINKS)))
    except ClickHouseUnavailable:
        raise clickhouse_unavailable() from None
    return None if site is None else (site, True)


async def viewer_of(request: Request, site_id: str) -> Viewer:
    """Who may look at the site's page, from the cookie; the same rules as the API:
    the token first, then the site (404), then whether the token is for that site (403)."""
    tracker = request.app.state.tracker
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignInNeeded()
    identity = await cookie_identity(tracker, token)
    if identity is None:
        raise SignInNeeded("Your token or link is no longer valid (it may have been revoked). Sign in with a current one.")
    token_site, shared = identity
    site = await lookup_site(tracker, site_id)
    if site is None:
        raise PageError(404, "No such site", f"There is no site {site_id!r}.", token_site)
    if token_site != site_id:
        raise PageError(403, "Another site's token", f"You are signed in for {token_site!r}, not for {site_id!r}.", token_site)
    return Viewer(site, shared)


async def signed_in_site(request: Request, site_id: str) -> Site:
    """The site, for its owner only: a shared link's viewer gets a 403 page (read-only: no changes,
    no downloads). Pages that a shared link may see use viewer_of."""
    viewer = await viewer_of(request, site_id)
    if viewer.shared:
        raise PageError(403, "Read-only link", "This shared link shows the site's page only; the site's owner can do more.",
                        viewer.site.site)
    return viewer.site
