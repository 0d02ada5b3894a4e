"""Nothing acknowledged is lost: crash replay, ClickHouse outages, graceful shutdown."""

import signal
import uuid

import httpx

from tests.conftest import BROWSER_UA, count_rows, wait_for
from tests.processes import free_port, start_tracker_process
from tracker.clickhouse import embedded
from tracker.clickhouse.client import Target, connect


def post_events(base_url: str, n: int, start: int = 0) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(n)]
    events = [{"name": "page_view", "url": f"https://shop.example/p/{start + i}", "event_id": ids[i]} for i in range(n)]
    r = httpx.post(f"{base_url}/api/event", json={"site": "demo", "events": events}, headers={"user-agent": BROWSER_UA})
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == n
    return ids


def test_kill_9_before_flush_then_restart_replays_exactly_once(tmp_path, clickhouse, database, ch):
    env = {"TRACKER_CLICKHOUSE_URL": f"{clickhouse.url}/{database}", "TRACKER_FLUSH_INTERVAL_S": "3600"}
    tracker = start_tracker_process(tmp_path / "data", env)
    for batch in range(5):
        post_events(tracker.base_url, 20, batch * 20)
    tracker.process.send_signal(signal.SIGKILL)
    tracker.process.wait()
    assert count_rows(ch) == 0  # acknowledged, but only in the spool

    # A torn write at the end of the spool (the crash hit mid-record) must not stop the replay.
    # (The slot also holds the next segment, zeros prepared ahead: not the one written to.)
    [segment] = [p for p in (tmp_path / "data" / "spool" / "slot-0").glob("*.active") if p.read_bytes()[:4] != bytes(4)]
    with open(segment, "ab") as f:
        f.write(b"\x40\x00\x00\x00\x01\x02\x03\x04{\"half\": ")

    restarted = start_tracker_process(tmp_path / "data", {**env, "TRACKER_FLUSH_INTERVAL_S": "0.2"})
    try:
        assert wait_for(lambda: count_rows(ch), 100) == 100
        assert ch.query("SELECT uniqExact(event_id) FROM events").result_rows[0][0] == 100
        assert "torn spool record skipped" in restarted.log()  # logged when the segment was read
    finally:
        restarted.process.terminate()
        restarted.process.wait(30)


def test_sigterm_flushes_before_exit(tmp_path, clickhouse, database, ch):
    env = {"TRACKER_CLICKHOUSE_URL": f"{clickhouse.url}/{database}", "TRACKER_FLUSH_INTERVAL_S": "3600"}
    tracker = start_tracker_process(tmp_path / "data", env)
    post_events(tracker.base_url, 30)
    tracker.process.send_signal(signal.SIGTERM)
    assert tracker.process.wait(30) == 0
    assert count_rows(ch) == 30
    assert not list((tmp_path / "data" / "spool").rglob("*.seg"))


def test_clickhouse_outage_keeps_events_and_retries_without_duplicates(tmp_path, make_settings, database):
    # A ClickHouse of its own, so this test can stop and restart it.
    ch_dir, port = tmp_path / "ch", free_port()
    server = embedded.start(ch_dir, port)
    target = Target("127.0.0.1", port, database=database)
    env = {"TRACKER_CLICKHOUSE_URL": f"http://127.0.0.1:{port}/{database}", "TRACKER_FLUSH_INTERVAL_S": "0.2"}
    tracker = start_tracker_process(tmp_path / "data", env)
    try:
        post_events(tracker.base_url, 10)
        assert wait_for(lambda: count_rows(connect(target)), 10) == 10

        server.stop()
        assert httpx.get(f"{tracker.base_url}/readyz").status_code == 503
        for batch in range(3):
            post_events(tracker.base_url, 10, 10 + batch * 10)  # still acknowledged: they wait in the spool
        wait_for(lambda: "flush failed, will retry" in tracker.log(), True)
        assert "flush failed, will retry" in tracker.log()

        server = embedded.start(ch_dir, port)
        assert wait_for(lambda: count_rows(connect(target)), 40, timeout=60) == 40
        assert connect(target).query("SELECT uniqExact(event_id) FROM events").result_rows[0][0] == 40
        assert httpx.get(f"{tracker.base_url}/readyz").status_code == 200
        metrics = httpx.get(f"{tracker.base_url}/metrics").text
        assert "tracker_flush_failures_total 0.0" not in metrics
    finally:
        tracker.process.terminate()
        tracker.process.wait(30)
        server.stop()
