import gc
import uuid

from starlette.testclient import TestClient

from tests.conftest import BROWSER_UA, count_rows, wait_for
from tracker.app import create_app
from tracker.dedupe import RecentIds

NOW = 1_790_000_000.0


def ids(n):
    return [str(uuid.uuid4()) for _ in range(n)]


def test_workers_learn_each_others_ids_through_the_logs(tmp_path):
    one = RecentIds(tmp_path, tmp_path / "slot-0", 86400, 10**6)
    two = RecentIds(tmp_path, tmp_path / "slot-1", 86400, 10**6)
    (tmp_path / "slot-0").mkdir()
    (tmp_path / "slot-1").mkdir()
    batch = ids(3)
    one.remember(batch, now=NOW)
    assert batch[0] in one and batch[0] not in two
    one.sync(now=NOW)
    two.sync(now=NOW + 0.2)
    assert all(i in two for i in batch)


def test_a_restarted_worker_reads_its_own_log_back(tmp_path):
    (tmp_path / "slot-0").mkdir()
    before = RecentIds(tmp_path, tmp_path / "slot-0", 86400, 10**6)
    batch = ids(5)
    before.remember(batch, now=NOW)
    before.sync(now=NOW)
    after = RecentIds(tmp_path, tmp_path / "slot-0", 86400, 10**6)
    after.load(now=NOW + 60)
    assert all(i in after for i in batch)


def test_ids_past_the_horizon_are_forgotten_and_their_logs_deleted(tmp_path):
    (tmp_path / "slot-0").mkdir()
    recent = RecentIds(tmp_path, tmp_path / "slot-0", 2 * 3600, 10**6)
    old, new = ids(2), ids(2)
    recent.remember(old, now=NOW)
    recent.sync(now=NOW)
    recent.remember(new, now=NOW + 4 * 3600)
    recent.sync(now=NOW + 4 * 3600)
    assert old[0] not in recent and new[0] in recent
    assert len(list((tmp_path / "slot-0").glob("ids-*.log"))) == 1


def test_memory_is_bounded_by_max_ids(tmp_path):
    (tmp_path / "slot-0").mkdir()
    recent = RecentIds(tmp_path, tmp_path / "slot-0", 86400, max_ids=100)
    first = ids(80)
    recent.remember(first, now=NOW)
    recent.remember(ids(80), now=NOW + 3600)
    recent.sync(now=NOW + 3600)
    assert first[0] not in recent  # the oldest hour went early to stay under the cap


def test_reaching_the_cap_forgets_the_oldest_ids_not_the_latest(tmp_path):
    (tmp_path / "slot-0").mkdir()
    recent = RecentIds(tmp_path, tmp_path / "slot-0", 86400, max_ids=100)
    batches = [ids(10) for _ in range(30)]  # 300 ids in one busy hour, three times the cap
    for batch in batches:
        recent.remember(batch, now=NOW)
        recent.sync(now=NOW)
        assert all(i in recent for i in batch)
    remembered = sum(i in recent for batch in batches for i in batch)
    assert 75 <= remembered <= 100
    assert all(i in recent for batch in batches[-7:] for i in batch)  # the latest 70 are all known
    assert batches[0][0] not in recent


def collector_workload() -> int:
    """How many references a full garbage collection has to follow."""
    return sum(len(gc.get_referents(o)) for o in gc.get_objects())


def test_remembered_ids_add_nothing_for_the_garbage_collector_to_walk(tmp_path):
    (tmp_path / "slot-0").mkdir()
    recent = RecentIds(tmp_path, tmp_path / "slot-0", 86400, max_ids=10**6)
    gc.collect()
    before = collector_workload()
    recent.remember(ids(50_000), now=NOW)
    recent.sync(now=NOW)  # writes the ids log, which held them until then
    assert collector_workload() - before < 1_000  # with the ids in sets it grew by 50,000


def test_resent_batch_after_a_restart_counts_once(make_settings, ch):
    settings = make_settings()
    batch = {"site": "demo", "events": [{"name": "add_to_cart", "event_id": i} for i in ids(5)]}
    with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as client:
        assert client.post("/api/event", json=batch).json()["accepted"] == 5
    with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as client:
        assert client.post("/api/event", json=batch).json() == {"accepted": 0, "dropped": {"duplicate": 5}, "rejected": []}
        half_new = {"site": "demo", "events": batch["events"][:2] + [{"name": "view_cart", "event_id": ids(1)[0]}]}
        assert client.post("/api/event", json=half_new).json() == {"accepted": 1, "dropped": {"duplicate": 2}, "rejected": []}
    assert wait_for(lambda: count_rows(ch), 6) == 6
