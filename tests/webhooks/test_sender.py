"""The sender end to end: the tracker app, a real ClickHouse and a real HTTP receiver on loopback.
Carts are made to become abandoned a moment after the webhook is added (idle 60 s, last activity
58 s ago), as a shop's carts would."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import signal
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import wait_for
from tests.processes import start_tracker_process
from tests.query_support import event, insert
from tests.webhooks.support import FAST, IDLE_S, abandoned_soon, running, start_receiver, stop_receiver
from tracker.clickhouse.client import Target
from tracker.sites import Site, add_site
from tracker.tokens import create_token
from tracker.webhooks import outbox
from tracker.webhooks.registry import add_webhook
from tracker.webhooks.scan import ScanWindow, idempotency_key, new_notices
from tracker.webhooks.sender import WebhookSender

@pytest.fixture
def receiver():
    r = start_receiver()
    yield r
    stop_receiver(r)


def outcomes(ch, visitor: int) -> list[tuple[int, str]]:
    return [tuple(r) for r in ch.query(
        "SELECT attempt, toString(kind) FROM webhook_outbox WHERE visitor_id = {v:UInt64} AND kind != 'claim' ORDER BY attempt, kind",
        parameters={"v": visitor}).result_rows]


def more_rounds(client, n: int = 3) -> None:
    """Wait until the sender has finished n more rounds (each scans, queues and delivers)."""
    sender = client.app.state.tracker.webhooks
    goal = sender.rounds + n
    assert wait_for(lambda: sender.rounds >= goal, True, timeout=60) is True


def delivery_counts(client) -> dict[str, float]:
    """The per-process delivery counters now (earlier tests in this process may have counted)."""
    return {o: metric(client, f'tracker_webhook_deliveries_total{{outcome="{o}"}}') for o in ("http_error", "bought", "timeout")}


def metric(client, line_start: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def valid(secret: str, headers: dict, body: bytes) -> bool:
    fields = dict(part.split("=", 1) for part in headers["funnelhouse-signature"].split(","))
    mac = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, fields["v1"]) and abs(time.time() - int(fields["t"])) < 60


def test_a_newly_abandoned_cart_is_posted_once_signed_with_its_fields(make_settings, ch, receiver):
    with running(make_settings(**FAST)) as client:
        delivered = 'tracker_webhook_deliveries_total{outcome="delivered"}'
        before = metric(client, delivered)  # the counter is per process: earlier tests may have delivered
        hook = add_webhook(ch, "shop", receiver.url, IDLE_S)
        started = abandoned_soon(ch, 1, value=19.9)
        [delivery] = receiver.wait_for(1)
        assert valid(hook.secret, delivery.headers, delivery.body)
        assert delivery.headers["idempotency-key"] == idempotency_key("shop", 1, started[1])
        assert delivery.headers["content-type"] == "application/json"
        assert (delivery.headers["funnelhouse-event"], delivery.headers["funnelhouse-attempt"]) == ("cart.abandoned", "1")
        body = delivery.json
        assert (body["id"], body["site"], body["webhook_id"]) == (delivery.headers["idempotency-key"], "shop", hook.webhook_id)
        cart = body["cart"]
        assert cart["items"] == [{"item_id": "A", "item_name": "Apron", "quantity": 1, "price": 19.9}]
        assert (cart["value"], cart["currency"], cart["customer_id"], cart["last_step"], cart["source"]) == (
            19.9, "EUR", None, "cart", "direct")
        assert wait_for(lambda: outcomes(ch, 1), [(0, "notice"), (1, "delivered")]) == [(0, "notice"), (1, "delivered")]
        assert wait_for(lambda: metric(client, delivered) - before, 1) == 1
        more_rounds(client)
        assert len(receiver.deliveries) == 1
        assert metric(client, "tracker_webhook_outbox_depth") == 0


def test_rounds_after_the_first_scan_only_what_changed_and_still_post_each_cart_once(make_settings, ch, receiver):
    with running(make_settings(**FAST)) as client:
        sender = client.app.state.tracker.webhooks
        add_webhook(ch, "shop", receiver.url, IDLE_S)
        assert wait_for(lambda: sender.scans["full"] >= 1, True) is True  # the webhook's first scan: its whole window
        full = sender.scans["full"]
        abandoned_soon(ch, 7, 8, in_s=1.0)
        deliveries = receiver.wait_for(2)
        assert sorted(d.visitor for d in deliveries) == ["7", "8"]
        more_rounds(client)
        assert len(receiver.deliveries) == 2
        assert sender.scans["full"] == full and sender.scans["incremental"] >= 3  # found by incremental scans


def test_a_failing_receiver_gets_the_same_delivery_again_until_it_answers(make_settings, ch, receiver):
    receiver.plan["2"] = [500, 503]
    with running(make_settings(**FAST)) as client:
        started_with = delivery_counts(client)
        add_webhook(ch, "shop", receiver.url, IDLE_S)
        abandoned_soon(ch, 2)
        deliveries = receiver.wait_for(3, "2")
        assert [d.headers["funnelhouse-attempt"] for d in deliveries] == ["1", "2", "3"]
        assert len({d.headers["idempotency-key"] for d in deliveries}) == 1
        assert len({d.body for d in deliveries}) == 1
        # backoff: 0.3 s after the first failure, 0.6 s after the second (plus up to a round each)
        gaps = [b.received_at - a.received_at for a, b in zip(deliveries, deliveries[1:])]
        assert gaps[0] >= 0.3 and gaps[1] >= 0.6, gaps
        assert wait_for(lambda: outcomes(ch, 2), [(0, "notice"), (1, "failed"), (2, "failed"), (3, "delivered")]) == [(0, "notice"), (1, "failed"), (2, "failed"), (3, "delivered")]
        assert wait_for(lambda: metric(client, 'tracker_webhook_deliveries_total{outcome="http_error"}') - started_with['http_error'], 2) == 2
        more_rounds(client)
        assert len(receiver.deliveries) == 3


def test_a_cart_bought_while_its_delivery_fails_is_not_sent_again(make_settings, ch, receiver):
    receiver.plan["12"] = [500, 500, 500, 500, 500, 500]
    with running(make_settings(**{**FAST, "webhook_retry_first_s": 1.0})) as client:
        started_with = delivery_counts(client)
        add_webhook(ch, "shop", receiver.url, IDLE_S)
        abandoned_soon(ch, 12)
        assert len(receiver.wait_for(1, "12")) == 1
        insert(ch, [event("purchase", datetime.now(timezone.utc), 12, transaction_id="T-12", value=20, currency="EUR")])
        # closed in place of the next attempt
        closed = wait_for(lambda: outcomes(ch, 12)[-1:], [(len(receiver.of("12")) + 1, "bought")])
        tried = len(receiver.of("12"))
        assert closed == [(tried + 1, "bought")] and tried <= 2  # at most the attempt already under way
        assert wait_for(lambda: metric(client, 'tracker_webhook_deliveries_total{outcome="bought"}') - started_with['bought'], 1) == 1
        more_rounds(client)
        assert len(receiver.of("12")) == tried
        assert wait_for(lambda: metric(client, "tracker_webhook_outbox_depth"), 0) == 0


def test_a_hung_receiver_times_out_and_holds_up_no_other_cart(make_settings, ch, receiver):
    receiver.plan["3"] = ["hang"]
    timeout = 20.0  # long, so that on a busy machine the other carts surely go out within it
    with running(make_settings(**{**FAST, "webhook_timeout_s": timeout})) as client:
        started_with = delivery_counts(client)
        add_webhook(ch, "shop", receiver.url, IDLE_S)
        abandoned_soon(ch, 3)
        [hung] = receiver.wait_for(1, "3")
        abandoned_soon(ch, 4, 5, in_s=-0.5)  # abandoned already, while attempt 1 of cart 3 hangs
        others = receiver.wait_for(1, "4") + receiver.wait_for(1, "5")
        assert len(others) == 2 and all(d.received_at < hung.received_at + timeout for d in others)
        assert outcomes(ch, 3) == [(0, "notice")]  # still hanging
        assert client.get("/healthz").status_code == 200
        retried = receiver.wait_for(2, "3", timeout=60)
        assert [d.headers["funnelhouse-attempt"] for d in retried] == ["1", "2"]
        assert retried[1].headers["idempotency-key"] == hung.headers["idempotency-key"]
        assert retried[1].received_at - hung.received_at >= timeout + 0.3  # the timeout, then the backoff
        assert wait_for(lambda: outcomes(ch, 3), [(0, "notice"), (1, "failed"), (2, "delivered")]) == [(0, "notice"), (1, "failed"), (2, "delivered")]
        assert "no answer within 20 s" in ch.query("SELECT error FROM webhook_outbox WHERE visitor_id = 3 AND kind = 'failed'").result_rows[0][0]
        assert wait_for(lambda: metric(client, 'tracker_webhook_deliveries_total{outcome="timeout"}') - started_with['timeout'], 1) == 1


def test_a_restarted_tracker_does_not_send_again(make_settings, ch, receiver):
    settings = make_settings(**FAST)
    with running(settings):
        add_webhook(ch, "shop", receiver.url, IDLE_S)
        abandoned_soon(ch, 6)
        assert len(receiver.wait_for(1, "6")) == 1
    # stopped the moment the receiver had it: the stop let the delivery record its outcome
    assert outcomes(ch, 6) == [(0, "notice"), (1, "delivered")]
    abandoned_soon(ch, 7)  # abandoned while the tracker is down
    with running(settings) as client:
        assert len(receiver.wait_for(1, "7")) == 1  # the restarted sender is at work...
        more_rounds(client)
    assert sorted(d.visitor for d in receiver.deliveries) == ["6", "7"]  # ...and sent cart 6 only once


def test_a_sender_that_died_between_claim_and_send_is_replaced_with_the_same_key(make_settings, ch, clickhouse, database, receiver):
    """At least once: the attempt claimed by a process that died is made again, by the next sender,
    after the claim's lease; it carries the same Idempotency-Key and body, whether or not the dead
    process had already sent it."""
    settings = make_settings(**FAST)
    with running(settings):  # migrations
        pass
    hook = add_webhook(ch, "shop", receiver.url, IDLE_S)
    abandoned_soon(ch, 8)
    time.sleep(2.5)
    claimed = time.monotonic()  # read just before `now`: the lease below ends 2 s after both
    now = datetime.now(timezone.utc)
    [notice] = new_notices(ch, hook, ScanWindow(now, 86400, 14, 1800, 10))
    outbox.add_notice(ch, notice, now)
    [due] = outbox.due(ch, [hook], now, now - timedelta(days=2), 10)
    assert outbox.claim(ch, due, "a sender that is killed now", now, now + timedelta(seconds=2))
    with running(settings) as client:
        [delivery] = receiver.wait_for(1, "8")
        assert delivery.received_at >= claimed + 2  # after the lease
        assert delivery.headers["funnelhouse-attempt"] == "2"
        assert delivery.headers["idempotency-key"] == notice.idempotency_key
        assert delivery.body == notice.payload
        more_rounds(client)
        assert len(receiver.deliveries) == 1


def test_two_nodes_on_one_clickhouse_send_each_cart_once(make_settings, ch, clickhouse, database, receiver, tmp_path):
    """Two senders with data directories of their own (so both are elected, as on two nodes) race
    for the same carts, round after round."""
    with running(make_settings(**FAST)):  # migrations
        pass
    add_webhook(ch, "shop", receiver.url, IDLE_S)
    visitors = list(range(100, 120))
    abandoned_soon(ch, *visitors)
    target = Target("127.0.0.1", clickhouse.port, database=database)

    async def two_nodes() -> None:
        senders = [WebhookSender(make_settings(data_dir=str(tmp_path / f"node{i}"), **FAST), target) for i in range(2)]
        for sender in senders:
            sender.start()
        try:
            while len(receiver.deliveries) < len(visitors) or min(s.rounds for s in senders) < 6:
                await asyncio.sleep(0.1)
        finally:
            for sender in senders:
                await sender.stop()

    asyncio.run(asyncio.wait_for(two_nodes(), 120))
    assert sorted(int(d.visitor) for d in receiver.deliveries) == visitors


def test_a_cart_bought_after_its_notice_is_reported_as_recovered_after_notice(make_settings, ch, receiver):
    with running(make_settings(**FAST)) as client:
        add_site(ch, Site("shop"))
        assert wait_for(lambda: client.app.state.tracker.sites.get("shop") is not None, True)
        _, token = create_token(ch, "shop")
        add_webhook(ch, "shop", receiver.url, IDLE_S)
        abandoned_soon(ch, 9, 10, value=25)
        assert len(receiver.wait_for(2)) == 2
        assert wait_for(lambda: ch.query("SELECT count() FROM webhook_outbox WHERE kind = 'delivered'").result_rows[0][0], 2) == 2
        insert(ch, [event("purchase", datetime.now(timezone.utc), 9, transaction_id="T-9", value=27.5, currency="EUR")])
        today = datetime.now(timezone.utc).date()
        answer = client.get("/api/v1/sites/shop/carts/recovered", headers={"authorization": f"Bearer {token}"},
                            params={"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1)), "idle": "1m"}).json()
        assert [(c["visitor_id"], c["after_notice"], c["notified_at"] is not None) for c in answer["carts"]] == [("9", True, True)]
        assert answer["totals"]["after_notice"] == {"carts": 1, "revenue": [{"currency": "EUR", "value": 27.5}]}


def test_a_tracker_killed_mid_delivery_sends_it_again_with_the_same_key(tmp_path, clickhouse, database, ch, receiver):
    """kill -9 while the receiver holds attempt 1 open (claimed and sent, outcome not recorded): the
    restarted tracker sends attempt 2 after the claim's lease (2 x 2 s + 5 s), same key, same body.
    At least once: this is the one case in which a receiver sees a cart twice."""
    receiver.plan["11"] = ["hang"]
    env = {"TRACKER_CLICKHOUSE_URL": f"{clickhouse.url}/{database}", "TRACKER_WEBHOOK_INTERVAL_S": "0.2",
           "TRACKER_WEBHOOK_TIMEOUT_S": "2", "TRACKER_WEBHOOK_RETRY_FIRST_S": "0.3"}
    tracker = start_tracker_process(tmp_path / "data", env)
    try:
        add_webhook(ch, "shop", receiver.url, IDLE_S)
        abandoned_soon(ch, 11)
        [first] = receiver.wait_for(1, "11")
    finally:
        tracker.process.send_signal(signal.SIGKILL)
        tracker.process.wait()
    killed = time.monotonic()
    receiver.release.set()
    restarted = start_tracker_process(tmp_path / "data", env)
    try:
        deliveries = receiver.wait_for(2, "11", timeout=60)
        assert [d.headers["funnelhouse-attempt"] for d in deliveries] == ["1", "2"]
        assert deliveries[1].headers["idempotency-key"] == first.headers["idempotency-key"]
        assert deliveries[1].body == first.body
        assert deliveries[1].received_at >= first.received_at + 9  # not before the lease ended
        assert wait_for(lambda: outcomes(ch, 11), [(0, "notice"), (2, "delivered")]) == [(0, "notice"), (2, "delivered")]
        time.sleep(max(0.0, killed + 12 - time.monotonic()))
        assert len(receiver.of("11")) == 2
    finally:
        restarted.process.terminate()
        restarted.process.wait(30)
