"""The deploy stack's parts, run for real on this machine (Docker does not run here):

- `stack_clickhouse`: a ClickHouse server (chdb-core) loading deploy/clickhouse/users.d unchanged,
  with the passwords in the environment variables compose gives the clickhouse service;
- `stack_tracker`: the tracker as compose runs it: a real `python -m tracker serve` process
  connecting as the `tracker` user, with TRACKER_WORKERS from deploy/.env.example;
- `shop_data`: a small set of shop journeys sent through POST /api/event (plus a duplicate, a bot,
  an invalid event and an unknown site, so every labelled metric has series), all stored.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import BROWSER_UA
from tests.processes import TrackerProcess, free_port, start_tracker_process
from tracker.clickhouse.client import Target, connect
from tracker.sites import Site, add_site

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
TRACKER_PASSWORD = "tracker-test-secret"
GRAFANA_PASSWORD = "grafana-test-secret"
DATABASE = "funnelhouse"  # the database in compose's TRACKER_CLICKHOUSE_URL and the grafana grants
SITE = "shop"


def env_example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@dataclass
class StackClickHouse:
    port: int

    def client(self, user: str = "default", password: str = "", database: str = DATABASE):
        return connect(Target("127.0.0.1", self.port, username=user, password=password, database=database))

    def grafana(self):
        return self.client("grafana", GRAFANA_PASSWORD)


@pytest.fixture(scope="package")
def stack_clickhouse(tmp_path_factory) -> StackClickHouse:
    root = tmp_path_factory.mktemp("stack-clickhouse")
    port = free_port()
    env = {**os.environ, "CLICKHOUSE_TRACKER_PASSWORD": TRACKER_PASSWORD, "CLICKHOUSE_GRAFANA_PASSWORD": GRAFANA_PASSWORD}
    with open(root / "server.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.deploy.clickhouse_server", str(root), str(port), str(DEPLOY / "clickhouse" / "users.d")],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"ClickHouse exited:\n{(root / 'server.log').read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as r:
                if r.read().strip() == b"Ok.":
                    break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.1)
    yield StackClickHouse(port)
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="package")
def stack_tracker(stack_clickhouse, tmp_path_factory) -> TrackerProcess:
    env = {
        "TRACKER_CLICKHOUSE_URL": f"http://tracker:{TRACKER_PASSWORD}@127.0.0.1:{stack_clickhouse.port}/{DATABASE}",
        "TRACKER_WORKERS": env_example()["TRACKER_WORKERS"],
        "TRACKER_BUSINESS_METRICS_SITES": env_example()["TRACKER_BUSINESS_METRICS_SITES"],
        "TRACKER_BUSINESS_METRICS_INTERVAL_S": "1",
        "TRACKER_DEMO_SITE": "0",
        "TRACKER_FLUSH_INTERVAL_S": "0.2",
        "TRACKER_SITES_REFRESH_S": "0.2",
        "TRACKER_RATE_LIMIT_IP_PER_S": "0",
    }
    tracker = start_tracker_process(tmp_path_factory.mktemp("stack-tracker"), env)
    yield tracker
    tracker.process.terminate()
    tracker.process.wait(30)


@dataclass
class ShopData:
    accepted: int
    now_ms: int


# (visitor, minutes before now when the visit starts, landing query string, steps). A step is
# (seconds after the start, event name, extra fields). Prices in EUR unless a step says otherwise.
SHOES = {"item_id": "sku-shoes", "item_name": "Trail shoes", "price": 59.9, "quantity": 1}
BAG = {"item_id": "sku-bag", "item_name": "Leather bag", "price": 120, "quantity": 1}
SOCKS = {"item_id": "sku-socks", "item_name": "Wool socks", "price": 4.5, "quantity": 3}
HAT = {"item_id": "sku-hat", "item_name": "Sun hat", "price": 25, "quantity": 1}
JOURNEYS = [
    ("buyer", 300, "?utm_source=google&utm_medium=cpc&utm_campaign=spring", [
        (0, "page_view", {}), (30, "view_item", {"items": [SHOES]}), (60, "add_to_cart", {"items": [SHOES]}),
        (120, "begin_checkout", {}), (180, "purchase", {"transaction_id": "T-1", "value": 59.9, "items": [SHOES]}),
    ]),
    ("newsletter-abandoner", 240, "?utm_source=newsletter&utm_medium=email&utm_campaign=december", [
        (0, "page_view", {}), (40, "view_item", {"items": [BAG]}), (90, "add_to_cart", {"items": [BAG]}),
    ]),
    ("browser", 180, "", [(0, "page_view", {}), (20, "view_item", {"items": [SHOES]})]),
    ("google-abandoner", 170, "?utm_source=google&utm_medium=cpc&utm_campaign=spring", [
        (0, "page_view", {}), (50, "add_to_cart", {"items": [SOCKS]}), (80, "add_to_cart", {"items": [SHOES]}),
    ]),
    ("repeat-buyer", 120, "", [
        (0, "page_view", {}), (15, "view_item", {"items": [SOCKS]}), (30, "add_to_cart", {"items": [SOCKS]}),
        (60, "begin_checkout", {}), (90, "purchase", {"transaction_id": "T-2", "value": 13.5, "items": [SOCKS]}),
        (400, "add_to_cart", {"items": [BAG]}), (430, "begin_checkout", {}),
        (460, "purchase", {"transaction_id": "T-3", "value": 120, "items": [BAG]}),
    ]),
    ("usd-abandoner", 95, "?utm_source=facebook&utm_medium=social", [
        (0, "page_view", {}), (25, "view_item", {"items": [HAT]}), (45, "add_to_cart", {"items": [HAT], "currency": "USD"}),
    ]),
    ("latest", 10, "", [(0, "page_view", {})]),
]


def journey_events(now_ms: int) -> list[dict]:
    events = []
    for visitor, minutes_ago, query, steps in JOURNEYS:
        start = now_ms - minutes_ago * 60_000
        for seconds, name, fields in steps:
            event = {"site": SITE, "name": name, "visitor": visitor, "url": f"https://shop.example/{name}{query}",
                     "ts": start + seconds * 1000, "event_id": str(uuid.uuid4()), **fields}
            if "items" in event or "value" in event:
                event.setdefault("currency", "EUR")
            events.append(event)
    return events


@pytest.fixture(scope="package")
def shop_data(stack_clickhouse, stack_tracker) -> ShopData:
    admin = stack_clickhouse.client()
    add_site(stack_clickhouse.client("tracker", TRACKER_PASSWORD), Site(SITE, "Shop", (), "UTC"))
    now_ms = int(time.time() * 1000)
    events = journey_events(now_ms)
    with httpx.Client(base_url=stack_tracker.base_url, headers={"user-agent": BROWSER_UA}, timeout=10) as http:
        deadline = time.monotonic() + 10
        while http.post("/api/event", json=events[0]).status_code != 202:  # until the workers know the site
            assert time.monotonic() < deadline, "the tracker never learnt the site"
            time.sleep(0.1)
        accepted = 1
        answer = http.post("/api/event", json=events[1:]).json()
        assert answer["rejected"] == [] and answer["dropped"] == {}, answer
        accepted += answer["accepted"]
        # One of each kind of refusal, so the labelled counters have series too.
        assert http.post("/api/event", json=events[0]).json()["dropped"] == {"duplicate": 1}
        assert http.post("/api/event", json={**events[0], "event_id": str(uuid.uuid4())},
                         headers={"user-agent": "curl/8.0"}).json()["dropped"] == {"bot": 1}
        assert http.post("/api/event", json={"site": "no-such-shop", "name": "page_view", "url": "https://x.example/"}).status_code == 400
        assert http.post("/api/event", json={"site": SITE, "name": "page view!", "url": "https://shop.example/"}).status_code == 400
    deadline = time.monotonic() + 30
    while admin.query("SELECT count() FROM events").result_rows[0][0] < accepted:
        assert time.monotonic() < deadline, "events did not reach ClickHouse"
        time.sleep(0.1)
    # The rollup behind the traffic panels refreshes every 5 minutes; run it now.
    admin.command("SYSTEM REFRESH VIEW traffic_rollup_refresh")
    admin.command("SYSTEM WAIT VIEW traffic_rollup_refresh")
    return ShopData(accepted, now_ms)
