"""The ingest endpoint's contract as a client sees it: status codes, the one error shape, CORS."""

import orjson

from tests.conftest import count_rows, wait_for


def error_fields(response):
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return {f["path"]: f["reason"] for f in body["error"]["fields"]}


def test_batch_with_some_bad_events_accepts_the_good_ones(client, ch):
    r = client.post(
        "/api/event",
        json={"site": "demo", "events": [
            {"name": "page_view", "url": "https://shop.example/"},
            {"name": "purchase", "value": 10},
            {"name": "view_item", "site": "nope"},
        ]},
    )
    assert r.status_code == 202
    body = r.json()
    assert body["accepted"] == 1
    assert body["rejected"] == [
        {"index": 1, "fields": [{"path": "events[1].currency", "reason": "is required when value or item prices are given"}]},
        {"index": 2, "fields": [{"path": "events[2].site", "reason": "unknown site"}]},
    ]
    assert wait_for(lambda: count_rows(ch), 1) == 1


def test_all_bad_is_a_400_with_every_field(client):
    r = client.post("/api/event", json=[{"site": "demo"}, {"site": "demo", "name": "x", "items": "no"}])
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_events"
    assert error_fields(r) == {"events[0].name": "is required", "events[1].items": "must be an array of objects"}


def test_unknown_site_is_refused(client):
    r = client.post("/api/event", json={"site": "unknown-shop", "name": "page_view"})
    assert r.status_code == 400
    assert error_fields(r) == {"site": "unknown site"} or error_fields(r) == {"events[0].site": "unknown site"}


def test_malformed_json_and_wrong_types(client):
    r = client.post("/api/event", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = client.post("/api/event", content=b"42", headers={"content-type": "application/json"})
    assert r.status_code == 400 and error_fields(r) == {"body": "must be an object or an array"}
    r = client.post("/api/event", content=b"a=b", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    r = client.post("/api/event", json=[])
    assert r.status_code == 400 and error_fields(r) == {"events": "must not be empty"}


def test_limits(client, settings):
    big = orjson.dumps({"site": "demo", "name": "x", "props": {"a": "x" * 300_000}})
    r = client.post("/api/event", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    many = [{"site": "demo", "name": "x"}] * (settings.max_events_per_request + 1)
    r = client.post("/api/event", json=many)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_events"


def test_send_beacon_text_plain_is_accepted(client, ch):
    body = orjson.dumps({"site": "demo", "events": [{"name": "page_view", "url": "https://shop.example/"}]})
    r = client.post("/api/event", content=body, headers={"content-type": "text/plain;charset=UTF-8"})
    assert r.status_code == 202
    assert wait_for(lambda: count_rows(ch), 1) == 1


def test_cors_preflight_and_response_headers(client):
    r = client.options(
        "/api/event",
        headers={"origin": "https://shop.example", "access-control-request-method": "POST",
                 "access-control-request-headers": "content-type"},
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] in ("*", "https://shop.example")
    r = client.post("/api/event", json={"site": "demo", "name": "x"}, headers={"origin": "https://shop.example"})
    assert r.status_code == 202 and r.headers["access-control-allow-origin"] in ("*", "https://shop.example")


def test_site_origin_allow_list(client, ch):
    from tracker.sites import Site, add_site

    add_site(ch, Site("locked", allowed_origins=("https://locked.example",)))
    wait_for(lambda: client.post("/api/event", json={"site": "locked", "name": "x"}).status_code, 202)
    ok = client.post("/api/event", json={"site": "locked", "name": "x"}, headers={"origin": "https://locked.example"})
    bad = client.post("/api/event", json={"site": "locked", "name": "x"}, headers={"origin": "https://evil.example"})
    assert ok.status_code == 202
    assert bad.status_code == 400
    assert error_fields(bad) == {"events[0].site": "origin https://evil.example is not allowed to send events for this site"}


def test_resent_event_ids_are_counted_once(client, ch):
    event = {"site": "demo", "name": "page_view", "event_id": "8b5c4f8e-2f1e-4f7e-9a51-6a1b2c3d4e5f"}
    assert client.post("/api/event", json=event).json()["accepted"] == 1
    assert client.post("/api/event", json=event).json() == {"accepted": 0, "dropped": {"duplicate": 1}, "rejected": []}
    assert wait_for(lambda: count_rows(ch), 1) == 1


def test_unknown_route_uses_the_error_shape(client):
    r = client.get("/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_metrics_count_what_happened(client):
    bot, invalid = 'tracker_events_dropped_total{reason="bot"}', 'tracker_events_rejected_total{reason="invalid"}'
    before = metric_values(client.get("/metrics").text)
    client.post("/api/event", json=[{"site": "demo", "name": "x"}, {"site": "demo"}])
    client.post("/api/event", json={"site": "demo", "name": "x"}, headers={"user-agent": "Googlebot/2.1"})
    after = metric_values(client.get("/metrics").text)
    assert after[bot] - before.get(bot, 0) == 1
    assert after[invalid] - before.get(invalid, 0) == 1
    assert after['tracker_http_requests_total{route="/api/event",status="202"}'] >= 2


def metric_values(text: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def test_a_bug_in_ingest_is_a_logged_500_in_the_error_shape(client, monkeypatch, tracker_logs):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(client.app.state.tracker.pipeline, "run", broken)
    r = client.post("/api/event", json={"site": "demo", "name": "page_view"})
    assert r.status_code == 500
    assert r.json() == {"error": {"code": "internal_error", "message": "the tracker failed to handle this request", "fields": []}}
    assert any(rec.getMessage() == "unhandled error" and rec.exc_info for rec in tracker_logs)
    metrics = metric_values(client.get("/metrics").text)
    assert metrics['tracker_http_requests_total{route="/api/event",status="500"}'] >= 1
