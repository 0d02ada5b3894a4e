"""A Shopify orders/paid webhook as Shopify sends it: the documented order shape, signed with the shop's secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

ORDER_FILE = Path(__file__).resolve().parents[1] / "data" / "shopify" / "orders_paid.json"
SECRET = "shpss_0123456789abcdef0123456789abcdef"


def order(order_id: int = 5678901234567, **changes) -> dict:
    """The example order (tests/data/shopify/orders_paid.json), placed a minute ago, with `changes`."""
    created = (datetime.now(timezone.utc) - timedelta(minutes=1)).astimezone(timezone(timedelta(hours=1)))
    data = json.loads(ORDER_FILE.read_text().replace("__CREATED_AT__", created.isoformat(timespec="seconds")))
    data["id"], data["admin_graphql_api_id"] = order_id, f"gid://shopify/Order/{order_id}"
    data.update(changes)
    return data


def sign(body: bytes, secret: str) -> str:
    """Shopify's signature as its docs describe it, written here apart from the tracker's own code."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook_headers(body: bytes, secret: str = SECRET, webhook_id: str = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
                    topic: str = "orders/paid") -> dict[str, str]:
    return {"content-type": "application/json", "x-shopify-topic": topic, "x-shopify-hmac-sha256": sign(body, secret),
            "x-shopify-shop-domain": "funnel-linen.myshopify.com", "x-shopify-webhook-id": webhook_id,
            "x-shopify-api-version": "2025-07", "x-shopify-triggered-at": datetime.now(timezone.utc).isoformat(),
            "user-agent": "Shopify-Captain-Hook"}
