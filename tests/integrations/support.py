"""Helpers of the GA4 Measurement Protocol tests: send a hit, read an error, wait for what was stored."""

from __future__ import annotations

from tests.conftest import count_rows, wait_for


def send(client, body, site="shop", secret=None, path="/mp/collect", **kwargs):
    params = {"measurement_id": site, "api_secret": client.key if secret is None else secret}
    return client.post(path, params={k: v for k, v in params.items() if v}, json=body, **kwargs)


def error(response) -> tuple[int, str, dict[str, str]]:
    body = response.json()["error"]
    return response.status_code, body["code"], {f["path"]: f["reason"] for f in body["fields"]}


def mark_and_wait(client, ch) -> None:
    """A last valid hit, then wait until it is stored: whatever was stored before it is in ClickHouse too."""
    assert send(client, {"client_id": "marker", "events": [{"name": "marker"}]}).status_code == 204
    assert wait_for(lambda: count_rows(ch, "name = 'marker'"), 1) == 1
