"""Webhooks stored in a real ClickHouse: add, list, remove, URL checks, the secret kept out of reprs."""

from __future__ import annotations

import pytest

from tests.query_support import db  # noqa: F401 - a fixture
from tracker.webhooks.registry import add_webhook, check_url, list_webhooks, remove_webhook


def test_add_list_remove(db):
    first = add_webhook(db.ch, "shop", "https://crm.example/hooks", 3600)
    second = add_webhook(db.ch, "other", "http://10.0.0.5:8080/carts", 600)
    assert first.secret.startswith("whsec_") and first.secret != second.secret and first.webhook_id != second.webhook_id
    assert first.secret not in repr(first)
    assert list_webhooks(db.ch) == sorted([first, second], key=lambda h: h.site)  # every field read back, secret too
    assert list_webhooks(db.ch, "shop") == [first]
    assert remove_webhook(db.ch, first.webhook_id)
    assert not remove_webhook(db.ch, first.webhook_id)
    assert list_webhooks(db.ch) == [second]


@pytest.mark.parametrize("url", ["ftp://crm.example/", "crm.example/hooks", "https:///nohost", ""])
def test_urls_must_be_http_with_a_host(url):
    with pytest.raises(ValueError, match="http:// or https://"):
        check_url(url)
