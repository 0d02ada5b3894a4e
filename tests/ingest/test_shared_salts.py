"""The visitor salts in ClickHouse: one per day for every node, created once, the past days' deleted,
and never waited for on the event loop (a node without ClickHouse uses its own salt)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tracker.clickhouse.client import Target, connect
from tracker.clickhouse.migrate import migrate
from tracker.clickhouse.threads import ClickHouseUnavailable
from tracker.ingest.salts import DailySalts
from tracker.ingest.shared_salts import SharedSalts, day_number, fetch

MIDNIGHT = 1_795_478_400  # 2026-11-24 00:00:00 UTC
DAY = day_number(MIDNIGHT)


@pytest.fixture
def target(clickhouse, database) -> Target:
    target = Target("127.0.0.1", clickhouse.port, database=database)
    migrate(target)
    return target


def stored(ch) -> list[tuple[int, int]]:
    """(day number, candidates stored) per day in the table."""
    rows = ch.query("SELECT toUInt32(day), count() FROM visitor_salts GROUP BY day ORDER BY day").result_rows
    return [(day, n) for day, n in rows]


def test_nodes_creating_the_salt_at_once_agree_on_one(target, ch):
    clients = [connect(target) for _ in range(6)]
    results: list[dict[int, bytes]] = [{} for _ in clients]
    start = threading.Barrier(len(clients))

    def node(i: int) -> None:
        start.wait()
        results[i] = fetch(clients[i], MIDNIGHT + 10)

    threads = [threading.Thread(target=node, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == results[0] for r in results)
    assert sorted(results[0]) == [DAY, DAY + 1] and len(set(results[0].values())) == 2
    assert all(len(salt) == 32 for salt in results[0].values())
    assert stored(ch) == [(DAY, 1), (DAY + 1, 1)]  # created once, whoever came first


def test_every_node_reads_the_same_salt_and_none_of_its_own(target, tmp_path):
    a = SharedSalts(DailySalts(tmp_path / "a"))
    b = SharedSalts(DailySalts(tmp_path / "b"))
    a.load(connect(target))
    b.load(connect(target))
    assert a.current() == b.current()
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # no node-local salt was made


def test_two_stored_candidates_still_give_every_node_the_same_winner(target, ch):
    fetch(ch, MIDNIGHT)
    # A second candidate that got past deduplication (e.g. nodes on ClickHouse servers that do not share it):
    ch.command("INSERT INTO visitor_salts VALUES ({day:Date}, {salt:String}, '2000-01-01 00:00:00')",
               parameters={"day": "2026-11-24", "salt": "ab" * 32})
    assert fetch(connect(target), MIDNIGHT)[DAY] == bytes.fromhex("ab" * 32)  # the earliest created
    assert fetch(connect(target), MIDNIGHT + 5)[DAY] == bytes.fromhex("ab" * 32)


def test_the_salt_changes_at_midnight_and_yesterdays_is_deleted(target, ch, tmp_path):
    salts = SharedSalts(DailySalts(tmp_path / "own"))
    salts.learn(fetch(ch, MIDNIGHT - 3600), MIDNIGHT - 3600)
    evening = salts.current(MIDNIGHT - 3600)
    assert salts.current(MIDNIGHT - 0.001) == evening
    morning = salts.current(MIDNIGHT)  # tomorrow's was created a day ahead: no ClickHouse call needed
    assert morning not in (evening, b"") and not (tmp_path / "own").exists()
    assert DAY - 1 not in salts._shared  # the worker forgot yesterday's

    after = fetch(ch, MIDNIGHT + 1)  # the first refresh of the day, by any node
    assert after[DAY] == morning
    assert stored(ch) == [(DAY, 1), (DAY + 1, 1)]
    partitions = ch.query("SELECT DISTINCT partition FROM system.parts WHERE database = currentDatabase()"
                          " AND table = 'visitor_salts' AND active ORDER BY partition").result_rows
    assert partitions == [("2026-11-24",), ("2026-11-25",)]  # yesterday's part is gone, not masked


def test_a_node_whose_clock_runs_behind_does_not_recreate_a_past_day(target, ch):
    fetch(ch, MIDNIGHT + 1)  # the others are on the 24th: the 23rd is dropped
    late = fetch(connect(target), MIDNIGHT - 2)  # this node still thinks it is the 23rd
    assert DAY - 1 not in late and stored(ch) == [(DAY, 1), (DAY + 1, 1)]


def test_a_worker_keeps_the_salt_it_needs_until_its_own_midnight(target, ch, tmp_path):
    salts = SharedSalts(DailySalts(tmp_path / "own"))
    salts.learn(fetch(ch, MIDNIGHT - 60), MIDNIGHT - 60)
    evening = salts.current(MIDNIGHT - 2)
    salts.learn(fetch(ch, MIDNIGHT - 1), MIDNIGHT - 1)
    fetch(ch, MIDNIGHT + 1)  # another node, its clock ahead, dropped the 23rd
    salts.learn(fetch(connect(target), MIDNIGHT - 0.5), MIDNIGHT - 0.5)
    assert salts.current(MIDNIGHT - 0.5) == evening


def test_without_clickhouse_a_node_uses_its_own_salt_then_moves_to_the_shared_one(target, tmp_path, tracker_logs):
    own = DailySalts(tmp_path / "own")
    salts = SharedSalts(own)

    async def unreachable(work):
        raise ClickHouseUnavailable("ClickHouse did not answer within 3 s")

    assert asyncio.run(salts.refresh(unreachable, lambda: None)) is False
    assert salts.current() == own.current()  # events still get a visitor id: the node's own salt
    assert any("visitor salts not refreshed" in r.getMessage() for r in tracker_logs)
    assert any("this node's own" in r.getMessage() for r in tracker_logs)

    async def reachable(work):
        return await asyncio.to_thread(work)

    assert asyncio.run(salts.refresh(reachable, lambda: connect(target))) is True
    now = time.time()
    assert salts.current(now) == fetch(connect(target), now)[day_number(now)] != own.current(now)


def test_one_browser_split_over_two_ingest_nodes_is_one_visitor_in_the_funnel(tmp_path, clickhouse, database, target):
    import httpx

    from tests.conftest import BROWSER_UA, count_rows, wait_for
    from tests.processes import start_tracker_process
    from tracker.tokens import create_token

    env = {"TRACKER_CLICKHOUSE_URL": f"{clickhouse.url}/{database}", "TRACKER_FLUSH_INTERVAL_S": "0.2"}
    nodes = [start_tracker_process(tmp_path / f"node-{i}", env) for i in range(2)]
    try:
        steps = ["page_view", "view_item", "add_to_cart", "begin_checkout", "purchase", "page_view"]
        for i, name in enumerate(steps):  # the same address and User-Agent, alternately on each node
            event = {"site": "demo", "name": name, **({"transaction_id": "T-1", "value": 9.5, "currency": "EUR"} if name == "purchase" else {})}
            r = httpx.post(f"{nodes[i % 2].base_url}/api/event", json=event, headers={"user-agent": BROWSER_UA})
            assert r.json()["accepted"] == 1
        ch = connect(target)
        assert wait_for(lambda: count_rows(ch), len(steps), timeout=60) == len(steps)
        _, token = create_token(ch, "demo")
        funnel = httpx.get(f"{nodes[1].base_url}/api/v1/sites/demo/funnel", headers={"authorization": f"Bearer {token}"}).json()
        assert [s["count"] for s in funnel["steps"]] == [1, 1, 1, 1, 1, 0]
        assert ch.query("SELECT uniqExact(visitor_id) FROM events").result_rows[0][0] == 1
        assert not any((tmp_path / f"node-{i}" / "salts").exists() for i in range(2))  # neither used a salt of its own
    finally:
        for node in nodes:
            node.process.terminate()
        for node in nodes:
            node.process.wait(30)
