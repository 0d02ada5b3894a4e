"""Webhooks, created by `python -m tracker webhook add SITE URL`: one site and one URL each.

Each webhook has its own secret, `whsec_` and 32 random bytes. Signing with HMAC-SHA256 needs
the secret itself (a hash of it would not do), so the table keeps it; `webhook add` prints it
once and nothing else ever shows it (`list` prints ids and URLs only).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

from tracker.clickhouse.client import as_utc

SECRET_PREFIX = "whsec_"


@dataclass(frozen=True)
class Webhook:
    webhook_id: str
    site: str
    url: str
    idle_s: int  # a cart idle for longer is abandoned and announced
    created_at: datetime
    secret: str = field(repr=False, default="")  # kept out of reprs and so out of logs


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the webhook URL must be http:// or https:// with a host name, got {url!r}")
    return url


def add_webhook(client, site: str, url: str, idle_s: int) -> Webhook:
    """Store a new webhook with a fresh secret; the returned Webhook is the only place the secret is shown."""
    now = datetime.now(timezone.utc)
    created_at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as stored: DateTime64(3)
    hook = Webhook(secrets.token_hex(6), site, check_url(url), idle_s, created_at, SECRET_PREFIX + secrets.token_urlsafe(32))
    client.insert(
        "webhooks",
        [[hook.webhook_id, hook.site, hook.url, hook.secret, hook.idle_s, hook.created_at, time.time_ns()]],
        column_names=["webhook_id", "site", "url", "secret", "idle_s", "created_at", "version"],
    )
    return hook


def list_webhooks(client, site: str | None = None) -> list[Webhook]:
    rows = client.query(
        "SELECT webhook_id, site, url, idle_s, created_at, secret FROM webhooks FINAL WHERE deleted = 0"
        " AND ({site:String} = '' OR site = {site:String}) ORDER BY site, created_at",
        parameters={"site": site or ""},
    ).result_rows
    return [Webhook(r[0], r[1], r[2], r[3], as_utc(r[4]), r[5]) for r in rows]


def remove_webhook(client, webhook_id: str) -> bool:
    """Stop announcing carts to this webhook (deliveries not yet made are not made)."""
    found = [h for h in list_webhooks(client) if h.webhook_id == webhook_id]
    if not found:
        return False
    hook = found[0]
    client.insert(
        "webhooks",
        [[hook.webhook_id, hook.site, hook.url, hook.secret, hook.idle_s, hook.created_at, 1, time.time_ns()]],
        column_names=["webhook_id", "site", "url", "secret", "idle_s", "created_at", "deleted", "version"],
    )
    return True
