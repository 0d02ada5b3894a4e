"""Several uvicorn workers: each has its own spool slot, all events land once, /metrics sums the workers."""

import httpx

from tests.conftest import BROWSER_UA, count_rows, wait_for
from tests.processes import start_tracker_process


def test_two_workers_share_clickhouse_and_keep_separate_spools(tmp_path, clickhouse, database, ch):
    env = {"TRACKER_CLICKHOUSE_URL": f"{clickhouse.url}/{database}", "TRACKER_WORKERS": "2", "TRACKER_FLUSH_INTERVAL_S": "0.2"}
    tracker = start_tracker_process(tmp_path / "data", env)
    try:
        for i in range(60):
            # A new connection each time, so the kernel spreads requests over both workers.
            r = httpx.post(f"{tracker.base_url}/api/event", json={"site": "demo", "name": "page_view", "props": {"i": i}},
                           headers={"user-agent": BROWSER_UA})
            assert r.status_code == 202
        assert wait_for(lambda: count_rows(ch), 60) == 60
        assert sorted(p.name for p in (tmp_path / "data" / "spool").iterdir()) == ["slot-0", "slot-1"]
        # Each worker applies its metric tallies twice a second (tracker/tally.py).
        assert wait_for(lambda: "tracker_events_accepted_total 60.0" in httpx.get(f"{tracker.base_url}/metrics").text, True)
    finally:
        tracker.process.terminate()
        tracker.process.wait(30)


def test_a_resend_reaching_the_other_worker_is_still_dropped(tmp_path, clickhouse, database, ch):
    import time
    import uuid

    env = {"TRACKER_CLICKHOUSE_URL": f"{clickhouse.url}/{database}", "TRACKER_WORKERS": "2", "TRACKER_FLUSH_INTERVAL_S": "0.2"}
    tracker = start_tracker_process(tmp_path / "data", env)
    try:
        batches = [{"site": "demo", "events": [{"name": "page_view", "event_id": str(uuid.uuid4())}]} for _ in range(40)]
        for batch in batches:  # a new connection per request: the kernel spreads them over both workers
            assert httpx.post(f"{tracker.base_url}/api/event", json=batch, headers={"user-agent": BROWSER_UA}).json()["accepted"] == 1
        time.sleep(1)  # the workers share acknowledged ids a few times a second
        for batch in batches:
            again = httpx.post(f"{tracker.base_url}/api/event", json=batch, headers={"user-agent": BROWSER_UA}).json()
            assert again == {"accepted": 0, "dropped": {"duplicate": 1}, "rejected": []}
        assert wait_for(lambda: count_rows(ch), 40) == 40
    finally:
        tracker.process.terminate()
        tracker.process.wait(30)
