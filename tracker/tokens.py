"""Bearer secrets, one site each: query API tokens (`python -m tracker token create SITE`, table
api_tokens) and ingest keys for a shop's backend (`python -m tracker key create SITE`, table
ingest_keys, see tracker/ingest/keys.py). A Kind names the table and the secret's prefix.

A token is `<prefix><id>_<secret>` with 32 random bytes of secret; only its SHA-256 is stored,
which is enough for a high-entropy secret and lets a worker check a token
without ClickHouse on every request. Workers cache the table and reload it when they meet a
token they do not know, so a new token works at once and a revoked one stops working within
TOKEN_CACHE_S.

Reloads happen at most once every RELOAD_AT_MOST_EVERY_S, so a flood of wrong tokens cannot hammer
ClickHouse, and a token is only called unknown by a list whose load began after it was asked
about: while the throttle holds, the asker waits for the next allowed reload, shared by every
asker of that moment (tracker/reloads.py). Otherwise a key created just after a reload would be
refused until the next one, though valid.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from tracker.clickhouse.client import quote_identifier
from tracker.clickhouse.threads import ClickHouseUnavailable
from tracker.reloads import ReloadFailed, SharedReload

PREFIX = "fh_"
TOKEN_CACHE_S = 30.0
RELOAD_AT_MOST_EVERY_S = 1.0


@dataclass(frozen=True)
class Kind:
    """Which secrets: the table that stores their hashes and the prefix that tells them apart."""

    table: str
    prefix: str


QUERY_TOKENS = Kind("api_tokens", PREFIX)


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    site: str
    sha256: str
    note: str = ""
    created_at: object = None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(client, site: str, note: str = "", kind: Kind = QUERY_TOKENS) -> tuple[str, str]:
    """Store a new token for site; returns (token_id, token). The token is not stored, only shown."""
    token_id = secrets.token_hex(6)
    token = f"{kind.prefix}{token_id}_{secrets.token_urlsafe(32)}"
    client.insert(
        kind.table,
        [[token_id, site, digest(token), note, time.time_ns()]],
        column_names=["token_id", "site", "sha256", "note", "version"],
    )
    return token_id, token


def revoke_token(client, token_id: str, kind: Kind = QUERY_TOKENS) -> bool:
    rows = client.query(
        f"SELECT site, sha256, note FROM {quote_identifier(kind.table)} FINAL"
        " WHERE token_id = {id:String} AND revoked = 0", parameters={"id": token_id}
    ).result_rows
    if not rows:
        return False
    site, sha256, note = rows[0]
    client.insert(
        kind.table,
        [[token_id, site, sha256, note, 1, time.time_ns()]],
        column_names=["token_id", "site", "sha256", "note", "revoked", "version"],
    )
    return True


def list_tokens(client, site: str | None = None, kind: Kind = QUERY_TOKENS) -> list[TokenInfo]:
    rows = client.query(
        f"SELECT token_id, site, sha256, note, created_at FROM {quote_identifier(kind.table)} FINAL WHERE revoked = 0"
        " AND ({site:String} = '' OR site = {site:String}) ORDER BY site, created_at",
        parameters={"site": site or ""},
    ).result_rows
    return [TokenInfo(*row) for row in rows]


class TokenCache:
    """The worker's copy of the active tokens of one kind, keyed by token id. Used from one event loop."""

    def __init__(self, kind: Kind = QUERY_TOKENS) -> None:
        self.kind = kind
        self.tokens: dict[str, TokenInfo] = {}
        self.reloads = SharedReload(self._reload, RELOAD_AT_MOST_EVERY_S, f"{kind.table} list")
        self._load: Callable[[], Awaitable[list[TokenInfo]]] | None = None

    @property
    def loaded_at(self) -> float:
        """When the query that gave `tokens` began (time.monotonic())."""
        return self.reloads.good_from

    def cached_site(self, token: str) -> str | None:
        """The token's site from memory alone, or None when unknown or the copy is stale: never any I/O,
        so the event loop may call it; on None, site_of reloads (off the event loop) and decides."""
        if time.monotonic() - self.loaded_at > TOKEN_CACHE_S:
            return None
        return self._match(token)

    async def site_of(self, token: str, load: Callable[[], Awaitable[list[TokenInfo]]]) -> str | None:
        """The site the token belongs to, or None. load() gives the active tokens off the event loop,
        within its own deadline; ClickHouseUnavailable when no list loaded since the question can be had."""
        asked = time.monotonic()
        if not self._well_formed(token):
            return None  # no reload makes such a token valid
        self._load = load  # every caller's load() is the same query: the shared reload runs the latest
        try:
            if asked - self.loaded_at > TOKEN_CACHE_S:  # stale: revocations must take effect
                await self.reloads.loaded_since(asked)
            found = self._match(token)
            if found is None and self.loaded_at < asked:  # the copy may predate the token: wait for a newer one
                await self.reloads.loaded_since(asked)
                found = self._match(token)
        except ReloadFailed as exc:
            raise ClickHouseUnavailable(str(exc)) from None
        return found

    def forget(self, token_id: str) -> None:
        """Drop a token this worker has just revoked, so it is refused here at once."""
        self.tokens.pop(token_id, None)

    async def _reload(self) -> None:
        self.tokens = {t.token_id: t for t in await self._load()}

    def _well_formed(self, token: str) -> bool:
        return token.startswith(self.kind.prefix) and token.count("_") >= 2

    def _match(self, token: str) -> str | None:
        if not self._well_formed(token):
            return None
        token_id = token[len(self.kind.prefix):].split("_", 1)[0]
        info = self.tokens.get(token_id)
        # Compared in constant time, so response timing says nothing about how close a guess was.
        if info is not None and hmac.compare_digest(info.sha256, digest(token)):
            return info.site
        return None
