"""Both ways to reach ClickHouse: the embedded server the tracker manages, and a server URL."""

import subprocess
import sys

import os

from starlette.testclient import TestClient

from tests.conftest import BROWSER_UA, wait_for
from tracker.app import create_app
from tracker.clickhouse import embedded
from tracker.clickhouse.client import Target, connect
from tracker.config import Settings
from tracker.tokens import create_token


def test_embedded_server_is_started_shared_with_the_cli_and_stopped(tmp_path):
    data = tmp_path / "data"
    settings = Settings(data_dir=str(data), clickhouse_url="", flush_interval_s=0.2)
    with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as client:
        server = embedded.running(data)
        assert server is not None, "the tracker should have started the embedded ClickHouse"
        assert client.post("/api/event", json={"site": "demo", "name": "page_view"}).status_code == 202
        ch = connect(Target("127.0.0.1", server.port, database="funnelhouse"))
        assert wait_for(lambda: ch.query("SELECT count() FROM events").result_rows[0][0], 1) == 1

        # The CLI connects to the running server instead of opening the data directory a second time.
        env = {**os.environ, "TRACKER_DATA_DIR": str(data), "TRACKER_CLICKHOUSE_URL": ""}
        out = subprocess.run([sys.executable, "-m", "tracker", "events", "--site", "demo"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "page_view" in out.stdout
    assert embedded.running(data) is None, "the embedded ClickHouse should stop with the tracker"


def test_cli_starts_an_embedded_server_for_its_own_duration(tmp_path):
    env = {**os.environ, "TRACKER_DATA_DIR": str(tmp_path), "TRACKER_CLICKHOUSE_URL": ""}
    add = subprocess.run([sys.executable, "-m", "tracker", "site", "add", "my-shop", "--timezone", "Europe/Berlin"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert add.returncode == 0, add.stderr
    listed = subprocess.run([sys.executable, "-m", "tracker", "site", "list"], env=env, capture_output=True, text=True, timeout=120)
    assert "my-shop" in listed.stdout and "Europe/Berlin" in listed.stdout
    assert embedded.running(tmp_path) is None


def test_server_url_mode_never_starts_an_embedded_server(client, settings, ch):
    assert client.post("/api/event", json={"site": "demo", "name": "page_view"}).status_code == 202
    assert wait_for(lambda: ch.query("SELECT count() FROM events").result_rows[0][0], 1) == 1
    assert not (settings.data_path / "clickhouse").exists()


def test_bad_site_id_is_refused_by_the_cli(tmp_path, clickhouse, database):
    env = {**os.environ, "TRACKER_DATA_DIR": str(tmp_path), "TRACKER_CLICKHOUSE_URL": f"{clickhouse.url}/{database}"}
    out = subprocess.run([sys.executable, "-m", "tracker", "site", "add", "Bad Site!"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "site id must be" in out.stderr


def test_the_embedded_server_keeps_what_the_query_api_reads_decompressed(tmp_path):
    data = tmp_path / "data"
    settings = Settings(data_dir=str(data), clickhouse_url="", flush_interval_s=0.2,
                        clickhouse_uncompressed_cache_bytes=64 * 1024 * 1024)
    with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as client:
        ch = connect(Target("127.0.0.1", embedded.running(data).port, database="funnelhouse"))
        assert ch.query("SELECT value FROM system.server_settings WHERE name = 'uncompressed_cache_size'").result_rows == [
            (str(64 * 1024 * 1024),)]
        events = [{"site": "demo", "name": "page_view", "url": f"https://demo.example/p{i}"} for i in range(50)]
        assert client.post("/api/event", json=events).status_code == 202
        assert wait_for(lambda: ch.query("SELECT count() FROM events").result_rows[0][0], 50) == 50

        def cached_bytes() -> int:
            return ch.query("SELECT value FROM system.metrics WHERE metric = 'UncompressedCacheBytes'").result_rows[0][0]

        before = cached_bytes()
        _, token = create_token(ch, "demo", "test")
        r = client.get("/api/v1/sites/demo/stats", headers={"authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["totals"]["page_views"] == 50, r.text
        assert cached_bytes() > before
