"""Shared links: a read-only view of one site's page for an agency or a colleague, created and
revoked by the owner (`python -m tracker share create SITE`, or on the page).

A link is `<base>/app/_share#<secret>`; the secret is a token of its own kind (tracker/tokens.py:
table share_links, prefix fhs_, only its SHA-256 stored). It travels in the URL's fragment, which
browsers never send: no request line carries it, so no access log (uvicorn's, a proxy's), no
metric label and no Referer can hold it. The landing page's script reads the fragment, strips it
from the address bar and history, and POSTs it once in a form body; the answer keeps it in the
pages' HttpOnly cookie (tracker/owner/session.py) and redirects to the site's page.

A link opens the page read-only: figures, chart, funnel, channels, carts and realtime, but no
CSV download (the cart lists hold customer ids: a bulk export is for token holders) and none of
the owner's management (shared links, anything that changes the site). A revoked link stops
working at once in the worker that revoked it, and within TOKEN_CACHE_S in the others.
"""

from __future__ import annotations

from tracker.clickhouse.threads import ClickHouseUnavailable
from tracker.errors import clickhouse_unavailable
from tracker.tokens import Kind, TokenInfo, create_token, list_tokens, revoke_token

SHARE_LINKS = Kind("share_links", "fhs_")
LANDING = "/app/_share"
MAX_NOTE = 200


def link(base_url: str, secret: str) -> str:
    """The link to hand out: the secret in the fragment, never in the path or query."""
    return f"{base_url.rstrip('/')}{LANDING}#{secret}"


def create_link(client, site: str, note: str = "") -> tuple[str, str]:
    """(link id, secret) of a new shared link; the secret is shown once, only its hash is stored."""
    return create_token(client, site, note[:MAX_NOTE], SHARE_LINKS)


def list_links(client, site: str | None = None) -> list[TokenInfo]:
    return list_tokens(client, site, SHARE_LINKS)


def revoke_link(client, link_id: str, site: str | None = None) -> bool:
    """Revoke a link by id; with `site`, only one of that site's (the page may not revoke another's)."""
    if site is not None and link_id not in {t.token_id for t in list_links(client, site)}:
        return False
    return revoke_token(client, link_id, SHARE_LINKS)


async def active_links(tracker, site_id: str) -> list[TokenInfo]:
    """The site's shared links that work, for the owner's list on the page (on the control threads)."""
    try:
        return await tracker.run_control(lambda: list_links(tracker.control.client(), site_id))
    except ClickHouseUnavailable:
        raise clickhouse_unavailable() from None
