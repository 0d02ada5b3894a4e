"""The query API on a two-shard cluster answers exactly as on one server.

The same random shop journeys are sent through POST /api/event to a tracker on one server and to
a tracker whose ClickHouse is two real shards (Distributed events sharded by visitor); every
funnel, cart, stats, cohort and product answer must be the same JSON, and the traffic rollup the
same rows.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from tests.cluster_support import shards  # noqa: F401 - the module's fixture
from tests.conftest import BROWSER_UA, count_rows, wait_for
from tests.test_random_journeys import SITE, journeys, payload, span
from tracker.app import create_app
from tracker.sites import Site, add_site
from tracker.tokens import create_token

DB = "journeys"


@contextmanager
def fed(settings, bodies: list[dict], clickhouse: Callable[[], object]) -> Iterator[TestClient]:
    """A tracker on these settings with every body ingested over HTTP; yields its client with a token.
    clickhouse() is a client on the tracker's database (which exists once the tracker migrated)."""
    with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as client:
        ch = clickhouse()
        add_site(ch, Site(SITE))
        assert wait_for(lambda: client.app.state.tracker.sites.get(SITE) is not None, True)
        for i in range(0, len(bodies), 500):
            r = client.post("/api/event", json={"site": SITE, "events": bodies[i : i + 500]})
            assert r.status_code == 202 and r.json()["accepted"] == len(bodies[i : i + 500]), r.text
        assert wait_for(lambda: count_rows(ch), len(bodies)) == len(bodies)
        _, token = create_token(ch, SITE)
        client.headers["authorization"] = f"Bearer {token}"
        yield client


def answers(client, now_ms: int) -> dict:
    base = span(now_ms)
    requests = {
        "funnel by session": ("/funnel", {"window": "1h", "unit": "session", "breakdown": "source"}),
        "funnel by visitor": ("/funnel", {"window": "1h", "unit": "visitor", "breakdown": "source"}),
        "custom strict funnel": ("/funnel", {"window": "1h", "order": "strict", "step": ["view_item", "add_to_cart|view_cart", "purchase"]}),
        "any-order funnel": ("/funnel", {"window": "30m", "order": "any", "unit": "session", "step": ["*", "begin_checkout", "purchase"]}),
        "funnel trends": ("/funnel/trends", {"window": "1h", "interval": "day"}),
        "abandoned carts": ("/carts/abandoned", {"idle": "1h", "limit": 500}),
        "recovered carts": ("/carts/recovered", {"idle": "1h", "limit": 500}),
        "daily stats": ("/stats", {"interval": "day"}),
        "weekly stats": ("/stats", {"interval": "week"}),
        # channels, sales cycle and segments
        "channels": ("/channels", {}),
        "channels first touch": ("/channels", {"attribution": "first", "lookback": "7d", "by": "medium"}),
        "sales cycle": ("/sales-cycle", {"attribution": "first"}),
        "sales cycle from view_item": ("/sales-cycle", {"from_event": "view_item", "by": "device"}),
        "filtered stats": ("/stats", {"filter": ["source!=direct", "device==desktop"]}),
        "filtered funnel": ("/funnel", {"window": "1h", "unit": "session", "filter": "source==google|newsletter"}),
        # Up to the test's start, not now: as_of is then the same on both.
        "weekly cohorts": ("/cohorts", {"period": "week", "churn_after": "3d",
                                        "to": datetime.fromtimestamp(now_ms / 1000, timezone.utc).isoformat()}),
        "products": ("/products", {"sort": "views", "limit": 1000}),
        "abandoned products": ("/products/abandoned", {"idle": "1h", "limit": 500}),
    }
    out = {}
    for label, (path, params) in requests.items():
        r = client.get(f"/api/v1/sites/{SITE}{path}", params={**base, **params})
        assert r.status_code == 200, (label, r.text)
        out[label] = r.json()
    return out


def daily_traffic(ch, now_ms: int) -> list[tuple]:
    """The traffic rollup (a refreshable materialized view over the sessions and orders views).
    Rows of zeros are left out: they mark keys seen by an earlier refresh, so they depend on whether
    a scheduled refresh (every 5 minutes on the clock) ran while events were still arriving."""
    ch.command("SYSTEM REFRESH VIEW traffic_rollup_refresh")
    ch.command("SYSTEM WAIT VIEW traffic_rollup_refresh")
    return ch.query(
        "SELECT day, source, visitors, sessions, page_views, purchase, orders, revenue"
        " FROM daily_traffic(site = {site:String}, from = {from:Date}, to = {to:Date}, timezone = 'UTC')"
        " WHERE sessions > 0 OR orders > 0 ORDER BY day, source",
        parameters={"site": SITE, **span(now_ms)},
    ).result_rows


def test_funnel_carts_and_stats_on_two_shards_equal_one_server(shards, make_settings, ch, tmp_path):
    now_ms = int(time.time() * 1000)
    data = journeys(seed=77, visitors=300, start_ms=now_ms - 14 * 86400 * 1000)
    bodies = [payload(v, e) for v, evs in data.items() for e in evs]

    with fed(make_settings(), bodies, lambda: ch) as client:
        expected = answers(client, now_ms)
        expected["daily traffic"] = daily_traffic(ch, now_ms)

    # Another data directory: a tracker of its own, whose dedupe memory has not seen these events.
    on_cluster = make_settings(data_dir=str(tmp_path / "cluster-tracker"), **shards.settings_overrides(DB))
    with fed(on_cluster, bodies, lambda: shards.client(0, DB)) as client:
        found = answers(client, now_ms)
        found["daily traffic"] = daily_traffic(shards.client(0, DB), now_ms)
        per_shard = [shards.client(s, DB).query("SELECT count(), uniqExact(visitor_id) FROM events_local").result_rows[0]
                     for s in range(2)]

    assert expected["abandoned carts"]["totals"]["carts"] > 5 and expected["funnel by session"]["steps"][4]["count"] > 0
    assert expected["channels first touch"]["totals"]["orders"] > 0 and expected["sales cycle"]["totals"]["orders"] > 0
    assert 0 < expected["filtered stats"]["totals"]["sessions"] < expected["daily stats"]["totals"]["sessions"]
    assert len(expected["weekly cohorts"]["cohorts"]) >= 2 and expected["products"]["items"] and expected["abandoned products"]["items"]
    for label in expected:
        assert found[label] == expected[label], label
    assert sum(rows for rows, _ in per_shard) == len(bodies)
    assert sum(visitors for _, visitors in per_shard) == len(data)  # each visitor on exactly one shard
    assert min(rows for rows, _ in per_shard) > len(bodies) / 4
