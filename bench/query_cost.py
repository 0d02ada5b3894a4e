"""What a query cost ClickHouse by its own accounting (system.query_log): rows read, the
deterministic figure, and CPU time, noisy on a shared machine. For the benchmarks that compare
two SQL versions of one answer (bench/webhook_scan.py, bench/cohorts.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

# chdb-core's server writes no query log by default (the embedded tracker pays for none):
# pass this as embedded.start(..., extra_config=QUERY_LOG) to have one.
QUERY_LOG = ("<query_log><database>system</database><table>query_log</table>"
             "<flush_interval_milliseconds>1000</flush_interval_milliseconds></query_log>")


@dataclass(frozen=True)
class Cost:
    rows_read: int
    bytes_read: int
    cpu_s: float
    queries: int


def tag() -> str:
    """A fresh log_comment: settings={"log_comment": tag} marks the queries to account for."""
    return f"bench-{uuid.uuid4()}"


def cost(ch, comment: str) -> Cost:
    """The summed cost of the finished queries marked with `comment`."""
    ch.command("SYSTEM FLUSH LOGS")
    rows, read_bytes, cpu_us, n = ch.query(
        "SELECT sum(read_rows), sum(read_bytes),"
        " sum(ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds']), count()"
        " FROM system.query_log WHERE log_comment = {c:String} AND type = 'QueryFinish'", parameters={"c": comment}
    ).result_rows[0]
    return Cost(int(rows), int(read_bytes), cpu_us / 1e6, int(n))
