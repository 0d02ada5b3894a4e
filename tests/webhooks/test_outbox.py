"""The outbox's life cycle and its claims, in a real ClickHouse: one sender per attempt, even when
several race; what is due when; what counts as open."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from tests.query_support import db  # noqa: F401 - a fixture
from tracker.clickhouse.client import connect
from tracker.webhooks import outbox
from tracker.webhooks.outbox import Notice
from tracker.webhooks.registry import Webhook

NOW = datetime.now(timezone.utc).replace(microsecond=0)
HOOK = Webhook("wh1", "shop", "http://127.0.0.1:9/", 3600, NOW - timedelta(days=1))
SINCE = NOW - timedelta(hours=25)


def notice(key: str = "k1", visitor: int = 1) -> Notice:
    return Notice("wh1", key, "shop", visitor, NOW - timedelta(hours=2), b'{"id": "%s"}' % key.encode())


def due_at(ch, when: datetime) -> list[tuple[str, int]]:
    return [(d.notice.idempotency_key, d.attempt) for d in outbox.due(ch, [HOOK], when, SINCE, 100)]


def test_a_notice_goes_through_claim_failure_retry_and_delivery(db):
    ch = db.ch
    outbox.add_notice(ch, notice(), NOW)
    outbox.add_notice(ch, notice(), NOW + timedelta(seconds=1))  # found again by another sender: no-op
    [first] = outbox.due(ch, [HOOK], NOW, SINCE, 100)
    assert (first.attempt, first.notice.payload, first.notice.visitor_id, first.noticed_at) == (1, b'{"id": "k1"}', 1, NOW)
    assert outbox.depth(ch, [HOOK], SINCE) == 1

    assert outbox.claim(ch, first, "me", NOW, NOW + timedelta(seconds=30))
    assert due_at(ch, NOW + timedelta(seconds=29)) == []  # claimed: nobody else starts attempt 1
    outbox.record_failed(ch, first, NOW + timedelta(seconds=2), NOW + timedelta(seconds=60), 500, "boom")
    assert due_at(ch, NOW + timedelta(seconds=59)) == []
    [second] = outbox.due(ch, [HOOK], NOW + timedelta(seconds=60), SINCE, 100)
    assert second.attempt == 2 and second.notice == first.notice

    assert outbox.claim(ch, second, "me", NOW + timedelta(seconds=60), NOW + timedelta(seconds=90))
    outbox.record_delivered(ch, second, NOW + timedelta(seconds=61), 200)
    assert due_at(ch, NOW + timedelta(days=1)) == []
    assert outbox.depth(ch, [HOOK], SINCE) == 0


def test_a_claim_whose_sender_died_is_due_again_after_its_lease(db):
    ch = db.ch
    outbox.add_notice(ch, notice(), NOW)
    [first] = outbox.due(ch, [HOOK], NOW, SINCE, 100)
    assert outbox.claim(ch, first, "dead", NOW, NOW + timedelta(seconds=30))  # ... and nothing more from it
    assert due_at(ch, NOW + timedelta(seconds=29)) == []
    assert due_at(ch, NOW + timedelta(seconds=30)) == [("k1", 2)]


def test_of_racing_claims_exactly_one_wins(db, clickhouse, database):
    from tracker.clickhouse.client import Target

    target = Target("127.0.0.1", clickhouse.port, database=database)
    outbox.add_notice(db.ch, notice(), NOW)
    [first] = outbox.due(db.ch, [HOOK], NOW, SINCE, 100)
    for attempt in range(1, 11):
        due = outbox.Due(first.notice, first.noticed_at, attempt)
        won: list[str] = []
        clients = [connect(target) for _ in range(6)]
        start = threading.Barrier(len(clients))

        def race(i: int) -> None:
            start.wait()
            if outbox.claim(clients[i], due, f"sender-{i}", NOW, NOW + timedelta(seconds=30)):
                won.append(f"sender-{i}")

        threads = [threading.Thread(target=race, args=(i,)) for i in range(len(clients))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1, (attempt, won)


def test_given_up_bought_and_delivered_notices_are_closed_and_old_ones_not_read(db):
    ch = db.ch
    for key in ("k1", "k2", "k3", "k4"):
        outbox.add_notice(ch, notice(key), NOW)
    [d1, d2, d3, _] = outbox.due(ch, [HOOK], NOW, SINCE, 100)
    outbox.record_closed(ch, d1, NOW, "gave_up")
    outbox.record_closed(ch, d2, NOW, "bought")
    assert outbox.claim(ch, d3, "me", NOW, NOW)
    outbox.record_delivered(ch, d3, NOW, 204)
    assert due_at(ch, NOW) == [("k4", 1)]
    assert outbox.depth(ch, [HOOK], SINCE) == 1
    assert outbox.depth(ch, [HOOK], NOW + timedelta(seconds=1)) == 0  # queued before `since`
    assert outbox.depth(ch, [Webhook("wh2", "shop", "", 3600, NOW)], SINCE) == 0  # another webhook's


def test_retry_delays_double_up_to_an_hour():
    assert [outbox.retry_delay(n, 30) for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    delays, total = 0, 0.0
    while total < 24 * 3600:  # attempts in the default retry period of a day
        delays += 1
        total += outbox.retry_delay(delays, 30)
    assert delays == 30
