"""The Shopify signing secret of each site, set with `python -m tracker shopify secret SITE` (table shopify_shops).

Shopify signs every webhook with HMAC-SHA256 under a secret it shows in its admin (Settings >
Notifications > Webhooks for webhooks made there; an app's client secret for an app's). Checking a
signature needs the secret itself, so it is stored; nothing prints it back. Each site also gets a
random customer key of our own, for hashing Shopify customer ids (shopify_orders.py), made once
and kept when the secret changes.

Workers cache the table like tokens (tracker/tokens.py): a site not in the copy, or a copy older
than CACHE_S, reloads it, at most once a second, in a thread (the caller passes the control pool).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

CACHE_S = 30.0
RELOAD_AT_MOST_EVERY_S = 1.0
MAX_SECRET = 256


@dataclass(frozen=True)
class ShopSecrets:
    site: str
    webhook_secret: str = field(repr=False)  # kept out of reprs and so out of logs
    customer_key: str = field(repr=False)


def check_secret(secret: str) -> str:
    secret = secret.strip()
    if not secret or len(secret) > MAX_SECRET or any(c.isspace() for c in secret):
        raise ValueError(f"the secret must be 1-{MAX_SECRET} characters without spaces, as Shopify shows it")
    return secret


def set_secret(client, site: str, secret: str) -> ShopSecrets:
    """Store the site's webhook secret; its customer key is kept if it has one, else made."""
    existing = load_one(client, site)
    key = existing.customer_key if existing else secrets.token_hex(32)
    shop = ShopSecrets(site, check_secret(secret), key)
    client.insert(
        "shopify_shops",
        [[shop.site, shop.webhook_secret, shop.customer_key, datetime.now(timezone.utc), time.time_ns()]],
        column_names=["site", "webhook_secret", "customer_key", "updated_at", "version"],
    )
    return shop


def load_all(client) -> dict[str, ShopSecrets]:
    rows = client.query("SELECT site, webhook_secret, customer_key FROM shopify_shops FINAL").result_rows
    return {r[0]: ShopSecrets(*r) for r in rows}


def load_one(client, site: str) -> ShopSecrets | None:
    rows = client.query("SELECT site, webhook_secret, customer_key FROM shopify_shops FINAL WHERE site = {site:String}",
                        parameters={"site": site}).result_rows
    return ShopSecrets(*rows[0]) if rows else None


@dataclass
class SecretCache:
    """The worker's copy of shopify_shops."""

    shops: dict[str, ShopSecrets] = field(default_factory=dict)
    loaded_at: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def cached(self, site: str) -> ShopSecrets | None:
        """From memory alone (the event loop may call it); None: unknown or stale, ask lookup()."""
        if time.monotonic() - self.loaded_at > CACHE_S:
            return None
        return self.shops.get(site)

    def lookup(self, site: str, connect, fresh: bool = False) -> ShopSecrets | None:
        """The site's secrets, reloading a stale copy, or one without the site (or, with `fresh`,
        one that failed to verify a signature: the secret may just have changed). Blocking: run it in a thread."""
        age = time.monotonic() - self.loaded_at
        if age > CACHE_S or ((fresh or site not in self.shops) and age > RELOAD_AT_MOST_EVERY_S):
            with self._lock:
                if time.monotonic() - self.loaded_at > RELOAD_AT_MOST_EVERY_S:
                    self.shops = load_all(connect())
                    self.loaded_at = time.monotonic()
        return self.shops.get(site)
