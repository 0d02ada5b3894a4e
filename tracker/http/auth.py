"""Bearer-token check of the query API: which site a request may read.

No or unknown token: 401. A valid token and an unknown site: 404. A token of another site: 403.
The token is checked before the site, so without a token nobody learns which sites exist.
"""

from __future__ import annotations

from starlette.requests import Request

from tracker.clickhouse.threads import ClickHouseUnavailable
from tracker.errors import ApiError, clickhouse_unavailable
from tracker.sites import Site, SitesUnavailable
from tracker.tokens import list_tokens

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="funnelhouse"'}


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def site_of_token(tracker, token: str) -> str | None:
    """The site a query token belongs to (None: not a valid token); the 503 ApiError when the
    token list cannot be loaded. The pages' sign-in (tracker/owner/session.py) checks here too."""
    try:
        # A token the worker does not know yet reloads the token list: on the control threads.
        return await tracker.tokens.site_of(token, lambda: tracker.run_control(lambda: list_tokens(tracker.control.client(), kind=tracker.tokens.kind)))
    except ClickHouseUnavailable:  # the list could not be loaded: not the client's fault
        raise clickhouse_unavailable() from None


async def lookup_site(tracker, site_id: str) -> Site | None:
    """The site, or None; the 503 ApiError when the site list cannot be loaded."""
    try:
        return await tracker.sites.lookup(site_id)
    except (ClickHouseUnavailable, SitesUnavailable):
        raise clickhouse_unavailable() from None


async def authorize(request: Request, site_id: str) -> Site:
    tracker = request.app.state.tracker
    token = bearer_token(request)
    if token is None:
        raise ApiError(401, "unauthorized", "send a query API token: Authorization: Bearer <token>", headers=_CHALLENGE)
    token_site = await site_of_token(tracker, token)
    if token_site is None:
        raise ApiError(401, "unauthorized", "the token is not valid (create one with: python -m tracker token create SITE)", headers=_CHALLENGE)
    site = await lookup_site(tracker, site_id)
    if site is None:
        raise ApiError(404, "unknown_site", f"there is no site {site_id!r}")
    if token_site != site_id:
        raise ApiError(403, "forbidden", f"this token is for another site, not {site_id!r}")
    return site
