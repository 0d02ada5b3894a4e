"""Abuse limits at the edge: rate limits (429), slow bodies (408), compressed bodies (415)."""

import socket
import time

from starlette.testclient import TestClient

from tests.conftest import BROWSER_UA
from tests.processes import start_tracker_process
from tracker.app import create_app


def test_client_ip_over_its_rate_gets_429_with_retry_after(make_settings):
    settings = make_settings(rate_limit_ip_per_s=5, rate_limit_ip_burst=10)
    with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as client:
        assert client.post("/api/event", json=[{"site": "demo", "name": "x"}] * 10).status_code == 202
        r = client.post("/api/event", json=[{"site": "demo", "name": "x"}] * 5)
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "rate_limited"
        assert int(r.headers["retry-after"]) >= 1


def test_site_over_its_rate_gets_429(make_settings):
    settings = make_settings(rate_limit_site_per_s=1, rate_limit_site_burst=3)
    with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as client:
        assert client.post("/api/event", json=[{"site": "demo", "name": "x"}] * 3).status_code == 202
        r = client.post("/api/event", json={"site": "demo", "name": "x"})
        assert r.status_code == 429 and "site demo" in r.json()["error"]["message"]


def test_gzip_bodies_are_refused(client):
    r = client.post("/api/event", content=b"\x1f\x8b...", headers={"content-type": "application/json", "content-encoding": "gzip"})
    assert r.status_code == 415


def test_a_slow_body_times_out_with_408(tmp_path, clickhouse, database):
    tracker = start_tracker_process(
        tmp_path / "data",
        {"TRACKER_CLICKHOUSE_URL": f"{clickhouse.url}/{database}", "TRACKER_BODY_TIMEOUT_S": "1"},
    )
    try:
        port = int(tracker.base_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"POST /api/event HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"site\":")
            started = time.monotonic()
            answer = s.recv(4096)
            waited = time.monotonic() - started
            while b"}}" not in answer:
                answer += s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b'"request_timeout"' in answer
        assert waited < 8
    finally:
        tracker.process.terminate()
        tracker.process.wait(30)


def test_full_spool_answers_503_and_keeps_what_it_acknowledged(make_settings, ch, tracker_logs):
    # Flushing is held back (interval of an hour), so the spool only grows.
    settings = make_settings(spool_max_bytes=3000, flush_interval_s=3600)
    acknowledged = 0
    with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as client:
        for _ in range(50):
            r = client.post("/api/event", json={"site": "demo", "name": "page_view", "url": "https://shop.example/"})
            if r.status_code == 503:
                break
            assert r.status_code == 202
            acknowledged += r.json()["accepted"]
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "spool_full"
        assert r.headers["retry-after"] == str(settings.spool_retry_after_s)
        assert client.get("/readyz").status_code == 503
        assert "tracker_spool_full_total" in client.get("/metrics").text
        assert [r.getMessage() for r in tracker_logs].count(
            "spool full: answering 503 until the flusher frees space (is ClickHouse down?)") == 1
    # Shutdown flushes the spool: every acknowledged event is stored.
    assert acknowledged > 0
    assert ch.query("SELECT count() FROM events").result_rows[0][0] == acknowledged
