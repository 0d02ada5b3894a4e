"""The opt-in business gauges on /metrics (tracker/business_metrics.py): exact values on seeded
events, only for the chosen sites, one computing worker with two workers (never a sum), and a
scrape that does not wait for a round stuck in ClickHouse."""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import BROWSER_UA, wait_for
from tests.processes import start_tracker_process
from tests.query_support import db, event, insert  # noqa: F401 - db is a fixture (the migrated schema)
from tests.test_ingest_http import metric_values
from tracker import business_metrics, metrics
from tracker.app import create_app
from tracker.business_metrics import chosen_sites
from tracker.sites import Site, add_site

GAUGES = (metrics.SHOP_VISITORS, metrics.SHOP_ORDERS, metrics.SHOP_REVENUE, metrics.SHOP_CHECKOUTS, metrics.SHOP_CHECKOUT_CONVERSION)


def minutes_ago(n: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(minutes=n)


def seed(ch) -> None:
    """Last hour: visitors 1-4; 2, 3, 4 reach checkout (each through another event), 2 and 3 buy.
    Outside the hour: visitor 5's visit and visitor 6's order. Site `other` is not chosen."""
    insert(ch, [
        event("page_view", minutes_ago(10), 1),
        event("page_view", minutes_ago(21), 2),
        event("begin_checkout", minutes_ago(20.5), 2),
        event("purchase", minutes_ago(20), 2, value=30, currency="EUR", transaction_id="T-2"),
        event("page_view", minutes_ago(31), 3),
        event("add_shipping_info", minutes_ago(30.5), 3),
        event("purchase", minutes_ago(30), 3, value=100, currency="SEK", transaction_id="T-3"),
        event("purchase", minutes_ago(29), 3, value=100, currency="SEK", transaction_id="T-3"),  # resent: one order
        event("page_view", minutes_ago(40), 4),
        event("add_payment_info", minutes_ago(39), 4),
        event("page_view", minutes_ago(70), 5),
        event("purchase", minutes_ago(90), 6, value=12.5, currency="EUR", transaction_id="T-6"),
        event("page_view", minutes_ago(5), 7, site="other"),
    ])


EXPECTED = {
    'tracker_shop_visitors{site="shop"}': 4.0,
    'tracker_shop_orders{site="shop"}': 2.0,
    'tracker_shop_revenue{currency="EUR",site="shop"}': 30.0,
    'tracker_shop_revenue{currency="SEK",site="shop"}': 100.0,
    'tracker_shop_checkouts{site="shop"}': 3.0,
    'tracker_shop_checkout_conversion{site="shop"}': 2 / 3,
}


def shop_gauges(text: str) -> dict[str, float]:
    return {k: v for k, v in metric_values(text).items() if k.startswith("tracker_shop_") and "updated" not in k}


@pytest.fixture
def fresh_gauges():
    for gauge in GAUGES:
        gauge.clear()  # the registry is the process's: earlier tests' values go


def test_the_gauges_are_exact_for_the_chosen_sites(make_settings, db, ch, fresh_gauges):
    add_site(ch, Site("shop"))
    add_site(ch, Site("other"))
    seed(ch)
    settings = make_settings(business_metrics_sites="shop", business_metrics_interval_s=0.2)
    with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as client:
        assert wait_for(lambda: shop_gauges(client.get("/metrics").text), EXPECTED) == EXPECTED
        values = metric_values(client.get("/metrics").text)
        assert abs(values["tracker_shop_metrics_updated_timestamp_seconds"] - time.time()) < 30
        # A new order in EUR only: SEK's hour has no orders now, but T-3 is still in it.
        insert(ch, [event("purchase", minutes_ago(1), 1, value=5.5, currency="EUR", transaction_id="T-1")])
        changed = {**EXPECTED, 'tracker_shop_orders{site="shop"}': 3.0, 'tracker_shop_revenue{currency="EUR",site="shop"}': 35.5,
                   'tracker_shop_checkouts{site="shop"}': 4.0, 'tracker_shop_checkout_conversion{site="shop"}': 3 / 4}
        assert wait_for(lambda: shop_gauges(client.get("/metrics").text), changed) == changed


def test_without_checkouts_the_conversion_is_nan_and_revenue_of_a_gone_currency_0(make_settings, db, ch, fresh_gauges):
    add_site(ch, Site("shop"))
    settings = make_settings(business_metrics_sites="*", business_metrics_interval_s=0.2)
    with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as client:
        gauges = lambda: shop_gauges(client.get("/metrics").text)  # noqa: E731
        assert wait_for(lambda: 'tracker_shop_visitors{site="shop"}' in gauges(), True)
        assert gauges()['tracker_shop_visitors{site="shop"}'] == 0 and gauges()['tracker_shop_orders{site="shop"}'] == 0
        assert math.isnan(gauges()['tracker_shop_checkout_conversion{site="shop"}'])
        assert 'tracker_shop_visitors{site="demo"}' in gauges()  # `*`: every site, the demo site too

        computer = business_metrics.BusinessMetrics(client.app.state.tracker)
        now = datetime.now(timezone.utc)
        computer.publish({"shop": business_metrics.HourFigures(orders=1, revenue={"USD": 9.0})}, now)
        computer.publish({"shop": business_metrics.HourFigures()}, now)
        assert metric_values(client.get("/metrics").text)['tracker_shop_revenue{currency="USD",site="shop"}'] == 0.0


def test_chosen_sites():
    assert chosen_sites("", ["a", "b"]) == []
    assert chosen_sites("*", ["b", "a"]) == ["a", "b"]
    assert chosen_sites(" b , nope,", ["a", "b"]) == ["b"]  # a site that does not exist is skipped


def test_a_scrape_does_not_wait_for_a_round_stuck_in_clickhouse(make_settings, db, ch, fresh_gauges, monkeypatch):
    add_site(ch, Site("shop"))
    stuck, release, returned = threading.Event(), threading.Event(), threading.Event()

    def hangs(runner, sites, now):  # what a hung ClickHouse does to the query thread
        stuck.set()
        release.wait(30)
        returned.set()
        raise TimeoutError("ClickHouse did not answer")

    monkeypatch.setattr(business_metrics, "last_hour", hangs)
    settings = make_settings(business_metrics_sites="shop", business_metrics_interval_s=0.2)
    try:
        with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as client:
            assert stuck.wait(30)
            started = time.monotonic()
            r = client.get("/metrics")
            # The stuck round holds its thread for 30 s: a scrape that waited for it would take that
            # long. The margin is wide because a scrape reads every multiprocess file the session's
            # earlier apps left (over a second late in a full run on a loaded machine).
            assert r.status_code == 200 and time.monotonic() - started < 15.0
            assert "tracker_shop_visitors{" not in r.text
            release.set()
            assert returned.wait(30)  # the app stops with its query thread free, as after a real hang ends
    finally:
        release.set()


def test_two_workers_publish_the_figures_once(tmp_path, clickhouse, database, ch):
    env = {"TRACKER_CLICKHOUSE_URL": f"{clickhouse.url}/{database}", "TRACKER_WORKERS": "2",
           "TRACKER_BUSINESS_METRICS_SITES": "shop", "TRACKER_BUSINESS_METRICS_INTERVAL_S": "0.5"}
    tracker = start_tracker_process(tmp_path / "data", env)
    try:
        add_site(ch, Site("shop"))
        seed(ch)
        scrape = lambda: shop_gauges(httpx.get(f"{tracker.base_url}/metrics").text)  # noqa: E731
        assert wait_for(scrape, EXPECTED, timeout=30) == EXPECTED
        for _ in range(6):  # a new connection each time: the kernel spreads the scrapes over both workers
            assert scrape() == EXPECTED
        assert (tmp_path / "data" / business_metrics.LOCK_FILE).exists()
    finally:
        tracker.process.terminate()
        tracker.process.wait(30)
