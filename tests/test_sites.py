"""The site list: `site add` works at once in a running tracker, and unknown ids share one reload."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import BROWSER_UA, count_rows, wait_for
from tests.processes import start_tracker_process
from tracker.clickhouse.client import Target
from tracker.clickhouse.migrate import migrate
from tracker.sites import Site, SiteCache, add_site, list_sites


@pytest.mark.parametrize("workers", [1, 2])
def test_site_add_then_events_at_once_are_accepted(tmp_path, clickhouse, database, ch, workers):
    # The periodic refresh is pushed out of reach: only the reload an unknown id triggers can help.
    env = {"TRACKER_CLICKHOUSE_URL": f"{clickhouse.url}/{database}", "TRACKER_WORKERS": str(workers),
           "TRACKER_FLUSH_INTERVAL_S": "0.2", "TRACKER_SITES_REFRESH_S": "3600"}
    tracker = start_tracker_process(tmp_path / "data", env)
    try:
        add = subprocess.run([sys.executable, "-m", "tracker", "site", "add", "new-shop"], env={**os.environ, **env},
                             capture_output=True, text=True, timeout=60)
        assert add.returncode == 0, add.stderr
        for i in range(10):  # a new connection each time, so both workers meet the new id
            r = httpx.post(f"{tracker.base_url}/api/event", json={"site": "new-shop", "name": "page_view", "props": {"i": i}},
                           headers={"user-agent": BROWSER_UA})
            assert (r.status_code, r.json()["accepted"]) == (202, 1), r.text
        assert wait_for(lambda: count_rows(ch, "site = 'new-shop'"), 10, timeout=30) == 10

        # A site that does not exist is still refused, once a list loaded after the request lacks it.
        r = httpx.post(f"{tracker.base_url}/api/event", json={"site": "no-such-shop", "name": "page_view"},
                       headers={"user-agent": BROWSER_UA})
        assert r.status_code == 400
        assert r.json()["error"]["fields"] == [{"path": "events[0].site", "reason": "unknown site"}]
    finally:
        tracker.process.terminate()
        tracker.process.wait(30)


def test_requests_with_unknown_ids_share_one_reload(clickhouse, database, ch):
    migrate(Target("127.0.0.1", clickhouse.port, database=database), 30)
    loads = []

    async def load() -> list[Site]:
        loads.append(1)
        return await asyncio.to_thread(list_sites, ch)

    async def scenario() -> tuple[list, Site | None, list, int]:
        cache = SiteCache(load)
        await cache.refresh()
        many = await asyncio.gather(*(cache.lookup("shop-x") for _ in range(50)))
        after_many = len(loads)
        add_site(ch, Site("shop-x", "X"))
        found = await cache.lookup("shop-x")
        arrived = time.monotonic()  # one request with twenty events for a site that does not exist
        batch = [await cache.lookup("shop-y", arrived) for _ in range(20)]
        return many, found, batch, after_many

    many, found, batch, after_many = asyncio.run(scenario())
    assert many == [None] * 50
    assert after_many == 2  # the start-up load, then one reload for all fifty requests
    assert found == Site("shop-x", "X")  # the next reload (a second later at the earliest) finds it
    assert batch == [None] * 20
    assert len(loads) == 4  # one reload for the whole batch
