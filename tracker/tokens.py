"""Bearer tokens of the query API: created by `python -m tracker token create SITE`, one site each.

A token is `fh_<id>_<secret>` with 32 random bytes of secret; only its SHA-256 is stored
(table api_tokens), which is enough for a high-entropy secret and lets a worker check a token
without ClickHouse on every request. Workers cache the table and reload it when they meet a
token they do not know (at most once a second), so a new token works at once and a revoked one
stops working within TOKEN_CACHE_S.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

PREFIX = "fh_"
TOKEN_CACHE_S = 30.0
RELOAD_AT_MOST_EVERY_S = 1.0


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    site: str
    sha256: str
    note: str = ""
    created_at: object = None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(client, site: str, note: str = "") -> tuple[str, str]:
    """Store a new token for site; returns (token_id, token). The token is not stored, only shown."""
    token_id = secrets.token_hex(6)
    token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    client.insert(
        "api_tokens",
        [[token_id, site, digest(token), note, time.time_ns()]],
        column_names=["token_id", "site", "sha256", "note", "version"],
    )
    return token_id, token


def revoke_token(client, token_id: str) -> bool:
    rows = client.query(
        "SELECT site, sha256, note FROM api_tokens FINAL WHERE token_id = {id:String} AND revoked = 0", parameters={"id": token_id}
    ).result_rows
    if not rows:
        return False
    site, sha256, note = rows[0]
    client.insert(
        "api_tokens",
        [[token_id, site, sha256, note, 1, time.time_ns()]],
        column_names=["token_id", "site", "sha256", "note", "revoked", "version"],
    )
    return True


def list_tokens(client, site: str | None = None) -> list[TokenInfo]:
    rows = client.query(
        "SELECT token_id, site, sha256, note, created_at FROM api_tokens FINAL WHERE revoked = 0"
        " AND ({site:String} = '' OR site = {site:String}) ORDER BY site, created_at",
        parameters={"site": site or ""},
    ).result_rows
    return [TokenInfo(*row) for row in rows]


@dataclass
class TokenCache:
    """The worker's copy of the active tokens, keyed by token id."""

    tokens: dict[str, TokenInfo] = field(default_factory=dict)
    loaded_at: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reload(self, client) -> None:
        self.tokens = {t.token_id: t for t in list_tokens(client)}
        self.loaded_at = time.monotonic()

    def site_of(self, token: str, connect) -> str | None:
        """The site the token belongs to, or None. connect() gives a ClickHouse client for reloads."""
        if time.monotonic() - self.loaded_at > TOKEN_CACHE_S:
            self._reload_once(connect)
        found = self._match(token)
        if found is None and time.monotonic() - self.loaded_at > RELOAD_AT_MOST_EVERY_S:
            self._reload_once(connect)
            found = self._match(token)
        return found

    def _reload_once(self, connect) -> None:
        with self._lock:
            if time.monotonic() - self.loaded_at > RELOAD_AT_MOST_EVERY_S:
                self.reload(connect())

    def _match(self, token: str) -> str | None:
        if not token.startswith(PREFIX) or token.count("_") < 2:
            return None
        token_id = token[len(PREFIX):].split("_", 1)[0]
        info = self.tokens.get(token_id)
        # Compared in constant time, so response timing says nothing about how close a guess was.
        if info is not None and hmac.compare_digest(info.sha256, digest(token)):
            return info.site
        return None
