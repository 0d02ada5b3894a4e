import time

from tests.conftest import count_rows, wait_for
from tracker.dedupe import SeenIds

from starlette.testclient import TestClient
from tracker.app import create_app
from tests.conftest import BROWSER_UA


def test_claim_reports_ids_seen_within_the_horizon(tmp_path):
    seen = SeenIds(tmp_path / "d.sqlite", horizon_s=3600)
    assert seen.claim(["a", "b"], now=1000.0) == set()
    assert seen.claim(["b", "c"], now=1001.0) == {"b"}
    assert seen.claim(["a"], now=1000.0 + 3601) == set()  # outside the horizon: new again
    seen.release(["c"])
    assert seen.claim(["c"], now=1002.0) == set()


def test_workers_and_restarts_share_the_list(tmp_path):
    one, two = SeenIds(tmp_path / "d.sqlite", 3600), SeenIds(tmp_path / "d.sqlite", 3600)
    one.claim(["x"])
    assert two.claim(["x"]) == {"x"}
    one.close()
    assert SeenIds(tmp_path / "d.sqlite", 3600).claim(["x"]) == {"x"}


def test_resent_batch_after_a_restart_counts_once(make_settings, ch):
    settings = make_settings()
    batch = {"site": "demo", "events": [
        {"name": "add_to_cart", "event_id": f"3f0c8a52-6a0e-4c1b-9f3e-00000000000{i}", "currency": "EUR",
         "items": [{"item_id": "sku", "price": 5, "quantity": 1}]} for i in range(5)
    ]}
    with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as client:
        assert client.post("/api/event", json=batch).json()["accepted"] == 5
    with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as client:
        again = client.post("/api/event", json=batch).json()
        assert again == {"accepted": 0, "dropped": {"duplicate": 5}, "rejected": []}
        half_new = {"site": "demo", "events": batch["events"][:2] + [{"name": "view_cart", "event_id": "3f0c8a52-6a0e-4c1b-9f3e-0000000000ff"}]}
        assert client.post("/api/event", json=half_new).json() == {"accepted": 1, "dropped": {"duplicate": 2}, "rejected": []}
    assert wait_for(lambda: count_rows(ch), 6) == 6
