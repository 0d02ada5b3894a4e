"""A ClickHouse that hangs (SIGSTOP: connections are accepted, nothing answers) never stalls ingest.

The tracker runs as a real process against an embedded ClickHouse this test starts itself, so the
test can stop and resume it. The drill itself (load, probes, SIGSTOP/SIGCONT) is bench/hang.py,
which `make chaos` runs for longer.
"""

from __future__ import annotations

import pytest

from bench.hang import run_hang_drill, stored_counts
from tests.conftest import wait_for
from tests.processes import free_port, start_tracker_process
from tracker.clickhouse import embedded
from tracker.clickhouse.client import Target, connect
from tracker.tokens import create_token

HANG_S = 15.0
QUERY_MAX_EXECUTION_S = 3  # so the query API's deadline is 3 + 3 s (tracker/queries/runner.py GRACE_S)


@pytest.mark.parametrize("workers", [1, 2])
def test_ingest_keeps_answering_while_clickhouse_hangs(tmp_path, database, workers):
    server = embedded.start(tmp_path / "ch", free_port())
    target = Target("127.0.0.1", server.port, database=database)
    env = {"TRACKER_CLICKHOUSE_URL": f"{server.url}/{database}", "TRACKER_WORKERS": str(workers),
           "TRACKER_FLUSH_INTERVAL_S": "0.2", "TRACKER_QUERY_MAX_EXECUTION_S": str(QUERY_MAX_EXECUTION_S),
           "TRACKER_RATE_LIMIT_IP_PER_S": "0",
           # The business gauges' rounds meet the hang too; /metrics must not wait for them.
           "TRACKER_BUSINESS_METRICS_SITES": "*", "TRACKER_BUSINESS_METRICS_INTERVAL_S": "1"}
    tracker = start_tracker_process(tmp_path / "data", env)
    try:
        _, token = create_token(connect(target), "demo")
        result = run_hang_drill(tracker.base_url, server.process.pid, "demo", token, HANG_S)
        print(result.summary())  # the figures, for -s runs and failure reports

        assert result.answers == {202: len(result.acknowledged) // 5}
        assert result.requests_during_hang > 100
        # From SIGSTOP on (a worker's very first requests are slow on a busy machine, hang or not):
        assert result.max_ingest_during_hang_s < 1.0
        assert result.max_ingest_after_hang_s < 1.0
        assert result.not_ready_after_s is not None and result.not_ready_after_s < 5
        assert result.slowest_readyz_s < 2.5
        assert result.slowest_metrics_s < 1.0
        assert result.ready_again_after_s is not None
        for query in result.queries:
            assert (query.status, query.code) == (503, "clickhouse_unavailable")
            assert query.seconds < QUERY_MAX_EXECUTION_S + 3 + 1.5
        assert (result.unknown_site.status, result.unknown_site.code) == (503, "site_list_unavailable")
        assert result.unknown_site.seconds < 3

        ch = connect(target)
        want = set(result.acknowledged)
        assert wait_for(lambda: want <= stored_counts(ch).keys(), True, timeout=90)
        counts = stored_counts(ch)
        assert sum(counts.values()) == len(want)  # exactly once: nothing lost, nothing doubled
    finally:
        tracker.process.terminate()
        tracker.process.wait(30)
        server.stop()
