"""End to end: POST events → spool → flush → rows in ClickHouse with enriched columns."""

from tests.conftest import count_rows, wait_for


def test_single_event_lands_enriched(client, ch):
    r = client.post(
        "/api/event",
        json={
            "site": "demo",
            "name": "page_view",
            "url": "https://shop.example/shoes?utm_source=Newsletter&utm_medium=email&utm_campaign=winter",
            "referrer": "https://mail.example.net/inbox",
        },
    )
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 1, "dropped": {}, "rejected": []}
    assert wait_for(lambda: count_rows(ch), 1) == 1
    row = ch.query(
        "SELECT name, hostname, path, source, medium, campaign, browser, os, device, referrer_host, visitor_id != 0 FROM events"
    ).result_rows[0]
    assert row == ("page_view", "shop.example", "/shoes", "newsletter", "email", "winter", "Firefox", "Linux", "desktop", "mail.example.net", True)
