"""Shared fixtures: a real ClickHouse (the embedded chdb-core server), a database per test, the app."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Callable

import pytest
from starlette.testclient import TestClient

from tracker.app import create_app
from tracker.clickhouse import embedded
from tracker.clickhouse.client import Target, connect, quote_identifier
from tracker.config import Settings

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture(scope="session")
def clickhouse(tmp_path_factory) -> embedded.EmbeddedServer:
    """One embedded ClickHouse server for the whole run; tests isolate themselves by database."""
    server = embedded.start(tmp_path_factory.mktemp("clickhouse"))
    yield server
    server.stop()


@pytest.fixture
def database(request, clickhouse) -> str:
    name = "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]
    yield name
    # Dropped afterwards: each migrated database has a view refreshed every 5 minutes
    # (traffic_rollup_refresh) in the server's background pool, which has 2 threads in chdb-core;
    # hundreds of leftover databases made a test's SYSTEM REFRESH VIEW wait past its 60 s timeout.
    target = Target("127.0.0.1", clickhouse.port, database=name)
    connect(target, database=False).command(f"DROP DATABASE IF EXISTS {quote_identifier(name)} SYNC")


@pytest.fixture
def make_settings(tmp_path: Path, clickhouse, database) -> Callable[..., Settings]:
    def make(**overrides) -> Settings:
        values = dict(
            data_dir=str(tmp_path / "data"),
            clickhouse_url=f"{clickhouse.url}/{database}",
            flush_interval_s=0.2,
            sites_refresh_s=0.2,
            spool_commit_interval_ms=0.5,
            shutdown_flush_deadline_s=5.0,
            rate_limit_ip_per_s=0.0,  # tests post thousands of events from one address; test_ratelimit turns it on
            rate_limit_site_per_s=0.0,
        )
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings) -> Settings:
    return make_settings()


@pytest.fixture
def ch(clickhouse, database):
    """A clickhouse-connect client on the test's database (created by the app's migrations)."""
    target = Target("127.0.0.1", clickhouse.port, database=database)
    connect(target, database=False).command(f"CREATE DATABASE IF NOT EXISTS {database}")
    return connect(target)


@pytest.fixture
def client(settings) -> TestClient:
    with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as test_client:
        yield test_client


@pytest.fixture
def tracker_logs():
    """Records logged under `tracker` during the test (the logger does not propagate to caplog)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    logging.getLogger("tracker").addHandler(handler)
    yield records
    logging.getLogger("tracker").removeHandler(handler)


def wait_for(fetch: Callable[[], object], expected: object, timeout: float = 15.0) -> object:
    """Poll fetch() until it returns expected (flushes are asynchronous); return the last value."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        value = fetch()
    return value


def count_rows(ch, where: str = "1", parameters: dict | None = None) -> int:
    return ch.query(f"SELECT count() FROM events WHERE {where}", parameters=parameters or {}).result_rows[0][0]
