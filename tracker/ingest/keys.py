"""Events from a shop's backend: the `authenticate` intake step and the fields only a backend may send.

A backend sends a per-site ingest key (`python -m tracker key create SITE`) as `Authorization:
Bearer <key>`. Its requests are one IP for every shopper, so the per-IP rate limit does not apply
to them (the per-site one does), and their events may carry the shopper's `client_ip` and
`user_agent` for the visitor hash and the device columns (never stored). Without a valid key those
fields are refused: a browser must not choose another visitor's identity.

Keys are stored and cached like query tokens (tracker/tokens.py, table ingest_keys). The worker
checks a key in memory; only an unknown key or a stale copy reloads the table, in a thread.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

from tracker.errors import FieldError
from tracker.ingest.event import Event
from tracker.ingest.refusal import Refused
from tracker.tokens import Kind, TokenCache

INGEST_KEYS = Kind("ingest_keys", "fhk_")
SERVER_FIELDS = ("client_ip", "user_agent")
AUTH_FIELD = "Authorization"

log = logging.getLogger("tracker.ingest")


def bearer(authorization: str) -> str | None:
    """The ingest key of an `Authorization: Bearer fhk_...` header, else None. Other credentials (a
    query token, a proxy's) are not ours to judge here: such a request is treated as a browser's."""
    scheme, _, key = authorization.partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key.startswith(INGEST_KEYS.prefix) else None


async def authenticate(keys: TokenCache, key: str | None, look_up: Callable[[str], Awaitable[str | None]]) -> str | None:
    """The site of a backend's key; None for a request without one (a browser's). A bad key: 401."""
    if key is None:
        return None
    site = keys.cached_site(key)
    if site is None:
        try:
            site = await look_up(key)
        except Exception as exc:  # noqa: BLE001 - ClickHouse is away: the sender should retry, not fix its key
            log.warning("ingest key list could not be loaded", extra={"cause": str(exc)[:300]})
            raise Refused("keys_unavailable", "the ingest keys cannot be checked right now; retry later",
                          retry_after_s=5) from None
    if site is None:
        raise Refused("unauthorized", "the ingest key is not valid (create one with: python -m tracker key create SITE)",
                      [FieldError(AUTH_FIELD, "unknown or revoked ingest key")])
    return site


def refuse_server_fields(events: list[Event], indexes: list[int]) -> None:
    """A request without a key may not carry the shopper's IP or User-Agent: 401 naming each field."""
    if not any(e.client_ip or e.user_agent for e in events):
        return
    fields = [FieldError(f"events[{i}].{name}", "may only be sent with an ingest key (Authorization: Bearer <key>)")
              for event, i in zip(events, indexes) for name in SERVER_FIELDS if getattr(event, name)]
    raise Refused("unauthorized", "client_ip and user_agent are for a shop's backend with an ingest key", fields)
