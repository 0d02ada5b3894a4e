"""Runs the query API's SQL: read-only, bounded in time and memory, values only as bound parameters.

readonly=2 (not 1) because over HTTP the query settings themselves must still be accepted.
clickhouse-connect clients are not thread-safe and handlers run in a thread pool, so each
thread keeps its own client.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from tracker.clickhouse.client import Target, connect
from tracker.queries.errors import QueryLimit, QueryUnavailable

# ClickHouse error codes that mean "this query is too big", not "the tracker is broken".
_LIMIT_CODES = ("Code: 159.", "Code: 241.", "Code: 158.", "Code: 396.")


@dataclass(frozen=True)
class Rows:
    columns: tuple[str, ...]
    rows: list[tuple]

    def dicts(self) -> list[dict]:
        return [dict(zip(self.columns, row)) for row in self.rows]


class QueryRunner:
    def __init__(self, target: Target, max_execution_s: float, max_memory_bytes: int) -> None:
        self.target = target
        self.settings = {
            "readonly": 2,
            "max_execution_time": max_execution_s,
            "max_memory_usage": max_memory_bytes,
            # On a cluster, IN/JOIN subqueries over the Distributed events table read each shard's
            # local table: events are sharded by visitor and every such subquery joins per visitor,
            # so each shard has all it needs (tests/test_cluster_queries.py compares with one server;
            # the default, deny, refuses these queries). A single server has no Distributed table.
            "distributed_product_mode": "local",
        }
        self._local = threading.local()

    def _client(self):
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = connect(self.target)
        return client

    def run(self, sql: str, parameters: dict) -> Rows:
        try:
            result = self._client().query(sql, parameters=parameters, settings=self.settings)
        except OperationalError as exc:
            self._local.client = None  # reconnect next time
            raise QueryUnavailable(str(exc)[:300]) from None
        except DatabaseError as exc:
            if any(code in str(exc) for code in _LIMIT_CODES):
                raise QueryLimit(str(exc)[:300]) from None
            raise
        return Rows(tuple(result.column_names), result.result_rows)
