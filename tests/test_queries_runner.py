"""Query API SQL runs read-only, with bound parameters, inside time limits."""

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from tests.query_support import db  # noqa: F401 - db is a fixture
from tracker.clickhouse.threads import ClickHouseUnavailable
from tracker.queries.errors import QueryLimit
from tracker.queries.runner import QueryRunner


def test_cannot_write(db):
    with pytest.raises(DatabaseError, match="readonly"):
        db.runner.run("INSERT INTO sites (site, version) VALUES ('x', 1)", {})
    with pytest.raises(DatabaseError, match="readonly"):
        db.runner.run("DROP TABLE events", {})
    assert db.ch.query("SELECT count() FROM events").result_rows == [(0,)]


def test_values_are_bound_not_spliced(db):
    sneaky = "x' OR 1 = 1 --"
    assert db.runner.run("SELECT {v:String}", {"v": sneaky}).rows == [(sneaky,)]


def test_time_limit_becomes_query_limit(db):
    slow = QueryRunner(db.runner.target, max_execution_s=0.2, max_memory_bytes=1 << 30)
    with pytest.raises(QueryLimit):
        slow.run("SELECT sum(sleepEachRow(0.1)) FROM numbers(10) SETTINGS max_block_size = 1", {})


def test_unreachable_clickhouse_is_clickhouse_unavailable(db):
    from dataclasses import replace
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    runner = QueryRunner(replace(db.runner.target, port=port), 5, 1 << 30)
    with pytest.raises(ClickHouseUnavailable):
        runner.run("SELECT 1", {})
