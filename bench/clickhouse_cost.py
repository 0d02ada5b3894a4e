"""Where ClickHouse's CPU per inserted row goes: each spool-segment insert as the flusher sends it,
broken down by ClickHouse's own accounting (system.query_log and system.query_views_log
ProfileEvents, system.part_log), and the server process's CPU over the same run, merges included.

    python bench/clickhouse_cost.py [--rows 200000] [--segment-rows 20000] [--formats JSONCompactEachRow,Native]
    python bench/clickhouse_cost.py --interleaved --table "MODIFY COLUMN source LowCardinality(String)"

Deterministic enough for a loaded machine: the per-query figures are the server's own CPU
accounting of that query's threads (UserTimeMicroseconds + SystemTimeMicroseconds), not wall time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson  # noqa: E402

from bench.flush import as_tuple, sample_rows, stored_rows  # noqa: E402
from bench.harness import process_cpu_s  # noqa: E402
from tracker.clickhouse import embedded  # noqa: E402
from tracker.clickhouse.client import Target, connect  # noqa: E402
from tracker.clickhouse.migrate import migrate  # noqa: E402
from tracker.events import COLUMN_NAMES, JSON_ROW_FORMAT, ROW_FORMAT  # noqa: E402
from tracker.flusher import INSERT_SETTINGS  # noqa: E402

IDLE_S = 10.0  # the server's own background work (system logs, the sleeping keep-alive query) is measured alone first
SETTLE_TIMEOUT_S = 120.0
# chdb-core's server writes no system logs by default (so the embedded tracker pays for none);
# these three are turned on here to see the costs, and cost a little themselves.
LOGS = "".join(f"<{t}><database>system</database><table>{t}</table><flush_interval_milliseconds>1000</flush_interval_milliseconds></{t}>"
               for t in ("query_log", "query_views_log", "part_log"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--segment-rows", type=int, default=20_000, help="rows per insert (TRACKER_FLUSH_MAX_ROWS)")
    parser.add_argument("--live", type=float, default=0.0, metavar="SECONDS",
                        help="instead: a real tracker (2 workers) under wrk with batches of 20 for SECONDS; every query of the window broken down")
    parser.add_argument("--formats", default=f"{JSON_ROW_FORMAT},{ROW_FORMAT},Native",
                        help="comma-separated: RowBinary (the flusher's), JSONCompactEachRow (the previous version's), JSONEachRow, Native (clickhouse-connect's encoder)")
    parser.add_argument("--settings", action="append", default=[], metavar="K=V[,K=V]",
                        help="insert settings of one more run per option, after the run without (e.g. input_format_parallel_parsing=0)")
    parser.add_argument("--rollup", action="store_true",
                        help="instead: --rows events spread over 30 days, and the CPU of one refresh of each rollup view")
    parser.add_argument("--no-refresh", action="store_true", help="skip the traffic_rollup refresh (a minute or more over millions of rows)")
    parser.add_argument("--table", action="append", default=[], metavar="ALTER",
                        help="one more run per option with `ALTER TABLE events <ALTER>` applied first (e.g. MODIFY SETTING merge_selector_base = 10)")
    parser.add_argument("--interleaved", action="store_true",
                        help="instead: the same RowBinary inserts into one table per --table variant and one without, taking turns"
                             " (a noisy moment hits every variant alike); INSERT CPU only, merges stopped until the end")
    args = parser.parse_args()
    rows = sample_rows(args.rows)
    with tempfile.TemporaryDirectory(prefix="funnelhouse-chcost-") as tmp:
        server = embedded.start(Path(tmp), extra_config=LOGS)
        try:
            if args.rollup:
                print_rollup(rollup(server, rows))
                return 0
            if args.interleaved:
                print_interleaved(interleaved(server, rows, args.segment_rows, args.table))
                return 0
            if args.live:
                for alter in ["", *args.table]:  # --table: the same live run again with that ALTER applied
                    print_live(live(server, Path(tmp), args.live, alter))
                return 0
            idle = idle_cpu_us_per_s(server)
            print(f"server idle: {idle:.0f} us CPU per second (subtracted below)")
            for fmt in args.formats.split(","):
                for extra in ["", *args.settings]:
                    chosen = dict(kv.split("=", 1) for kv in extra.split(",") if kv)
                    print_report(measure(server, rows, args.segment_rows, fmt.strip(), idle, chosen, refresh=not args.no_refresh))
                for alter in args.table:
                    print_report(measure(server, rows, args.segment_rows, fmt.strip(), idle, alter=alter, refresh=not args.no_refresh))
        finally:
            server.stop()
    return 0


def fresh_database(server, alter: str = ""):
    """A client of a new database with the schema migrated, the rollup views stopped (they are
    measured on their own) and `ALTER TABLE events <alter>` applied, if given."""
    target = Target("127.0.0.1", server.port, database="cost_" + uuid.uuid4().hex[:8])
    migrate(target)
    client = connect(target)
    for view in ROLLUP_VIEWS:
        client.command(f"SYSTEM STOP VIEW {view}")
    if alter:
        client.command(f"ALTER TABLE events {alter}", settings={"mutations_sync": 2})
    return client


def interleaved(server, rows: list[dict], segment_rows: int, alters: list[str]) -> dict[str, tuple[float, float]]:
    """Per variant ('' = the schema as migrated, else an ALTER TABLE events): INSERT CPU (us a row)
    while every variant gets each segment in turn, then the CPU of merging all of its parts."""
    bodies = [encode(rows[i:i + segment_rows], ROW_FORMAT) for i in range(0, len(rows), segment_rows)]
    marker = uuid.uuid4().hex
    clients = {}
    for alter in ["", *alters]:
        client = fresh_database(server, alter)
        client.command("SYSTEM STOP MERGES events")
        clients[alter] = client
    for i, body in enumerate(bodies):
        order = list(clients.items())
        for alter, client in (order if i % 2 == 0 else reversed(order)):  # neither goes first every time
            client.raw_insert("events", column_names=COLUMN_NAMES, insert_block=body, fmt=ROW_FORMAT,
                              settings=INSERT_SETTINGS | {"insert_deduplication_token": f"{marker}:{i}", "log_comment": f"{marker}:{alter}"})
    for client in clients.values():
        client.command("SYSTEM START MERGES events")
        client.command("OPTIMIZE TABLE events FINAL")
    out = {}
    for alter, client in clients.items():
        client.command("SYSTEM FLUSH LOGS")
        insert_us = client.query(
            "SELECT sum(ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds']) FROM system.query_log"
            " WHERE type = 'QueryFinish' AND log_comment = {m:String}", parameters={"m": f"{marker}:{alter}"}).result_rows[0][0]
        merge_us = client.query(
            "SELECT sum(ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds']) FROM system.part_log"
            " WHERE database = currentDatabase() AND table = 'events' AND event_type = 'MergeParts'").result_rows[0][0]
        out[alter] = (insert_us / len(rows), merge_us / len(rows))
    return out


def print_interleaved(r: dict[str, tuple[float, float]]) -> None:
    for alter, (insert_us, merge_us) in r.items():
        print(f"{alter[:70] or 'as migrated':72} INSERT {insert_us:5.2f} us/row, merging all parts {merge_us:5.2f} us/row")


def idle_cpu_us_per_s(server) -> float:
    before = process_cpu_s(server.process.pid)
    time.sleep(IDLE_S)
    return (process_cpu_s(server.process.pid) - before) * 1e6 / IDLE_S


def measure(server, rows: list[dict], segment_rows: int, fmt: str, idle_us_per_s: float, extra: dict | None = None,
            alter: str = "", refresh: bool = True) -> dict:
    extra = extra or {}
    client = fresh_database(server, alter)
    segments = [rows[i:i + segment_rows] for i in range(0, len(rows), segment_rows)]
    bodies = [encode(segment, fmt) for segment in segments]
    marker = uuid.uuid4().hex
    started_cpu, started = process_cpu_s(server.process.pid), time.monotonic()
    for i, (segment, body) in enumerate(zip(segments, bodies)):
        settings = INSERT_SETTINGS | {"insert_deduplication_token": f"{marker}:{i}", "log_comment": marker} | extra
        if fmt == "Native":
            client.insert("events", [as_tuple(r) for r in segment], column_names=list(COLUMN_NAMES), settings=settings)
        else:
            client.raw_insert("events", column_names=COLUMN_NAMES, insert_block=body, fmt=fmt, settings=settings)
    inserted_s = time.monotonic() - started
    settle(client)
    elapsed = time.monotonic() - started
    process_us = (process_cpu_s(server.process.pid) - started_cpu) * 1e6 - idle_us_per_s * elapsed
    client.command("SYSTEM FLUSH LOGS")
    n = len(rows)
    inserts = client.query(
        "SELECT count(), sum(ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds']),"
        " sum(ProfileEvents['OSCPUVirtualTimeMicroseconds']), sum(ProfileEvents['RealTimeMicroseconds']),"
        " sum(query_duration_ms), sum(written_rows), sum(ProfileEvents['DuplicatedInsertedBlocks'])"
        " FROM system.query_log WHERE type = 'QueryFinish' AND log_comment = {m:String} AND query_kind = 'Insert'",
        parameters={"m": marker}).result_rows[0]
    views = client.query(
        "SELECT view_name, count(), sum(ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds']),"
        " sum(view_duration_ms) FROM system.query_views_log"
        " WHERE initial_query_id IN (SELECT query_id FROM system.query_log WHERE log_comment = {m:String})"
        " GROUP BY view_name", parameters={"m": marker}).result_rows
    parts = client.query(
        "SELECT event_type, count(), sum(rows), sum(duration_ms), avg(rows),"
        " sum(ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds'])"
        " FROM system.part_log WHERE database = currentDatabase() AND table = 'events' GROUP BY event_type ORDER BY event_type").result_rows
    active_parts = client.query("SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = 'events' AND active").result_rows[0][0]
    refresh = refresh_cost(client) if refresh else None
    return {"format": fmt + "".join(f" {k}={v}" for k, v in extra.items()) + (f" + ALTER TABLE events {alter[:60]}" if alter else ""), "rows": n, "segment_rows": segment_rows, "bytes_per_row": sum(map(len, bodies)) / n if fmt != "Native" else None,
            "inserts": inserts, "views": views, "active_parts": active_parts, "parts": parts, "refresh": refresh,
            "process_cpu_us_per_row": process_us / n, "inserted_s": inserted_s, "elapsed_s": elapsed}


def encode(segment: list[dict], fmt: str) -> bytes:
    if fmt == "RowBinary":
        return b"".join(stored_rows(segment))
    if fmt == "JSONCompactEachRow":
        return b"".join(orjson.dumps([r[c] for c in COLUMN_NAMES]) + b"\n" for r in segment)
    if fmt == "JSONEachRow":
        return b"".join(orjson.dumps({c: r[c] for c in COLUMN_NAMES}) + b"\n" for r in segment)
    return b""


def settle(client) -> None:
    """Wait until no merge of the database runs and the parts stop changing."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    last = None
    while time.monotonic() < deadline:
        now = client.query("SELECT count(), (SELECT count() FROM system.merges WHERE database = currentDatabase())"
                           " FROM system.parts WHERE database = currentDatabase() AND active").result_rows[0]
        if now == last and now[1] == 0:
            return
        last = now
        time.sleep(1.0)


def rollup(server, rows: list[dict]) -> dict:
    import random

    target = Target("127.0.0.1", server.port, database="cost_rollup")
    migrate(target)
    client = connect(target)
    for view in ROLLUP_VIEWS:
        client.command(f"SYSTEM STOP VIEW {view}")
    rnd, now = random.Random(3), time.time()
    for r in rows:  # a month of history, as a shop's database holds
        r["ts"] = round(now - rnd.random() * 30 * 86400, 3)
    for i in range(0, len(rows), 20_000):
        client.raw_insert("events", column_names=COLUMN_NAMES, insert_block=encode(rows[i:i + 20_000], JSON_ROW_FORMAT), fmt=JSON_ROW_FORMAT)
    settle(client)
    return {"rows": len(rows), "costs": {view: refresh_cost(client, view) for view in ROLLUP_VIEWS}}


ROLLUP_VIEWS = ("traffic_rollup_recent", "traffic_rollup_refresh")


def print_rollup(r: dict) -> None:
    (recent, _), (full, _) = r["costs"]["traffic_rollup_recent"], r["costs"]["traffic_rollup_refresh"]
    print(f"\n== rollup refreshes over {r['rows']:,} events spread over 30 days")
    for view, (cpu_ms, wall_ms) in r["costs"].items():
        print(f"  {view}: {cpu_ms:.0f} ms CPU, {wall_ms} ms")
    print(f"  CPU per hour: before (the 31 days every 5 minutes) {12 * full:.0f} ms;"
          f" now (2 days every 5 minutes + 31 days hourly) {12 * recent + full:.0f} ms: {(12 * recent + full) / (12 * full):.2f}x")


def refresh_cost(client, view: str = "traffic_rollup_refresh") -> tuple[float, float]:
    """One refresh of a rollup view over the inserted rows: (CPU ms, wall ms). Waited for by
    polling system.view_refreshes (SYSTEM WAIT VIEW would outlast an HTTP read timeout on big data)."""
    state = "SELECT last_success_time FROM system.view_refreshes WHERE database = currentDatabase() AND view = {v:String}"
    before = client.query(state, parameters={"v": view}).result_rows[0][0]
    since = client.query("SELECT now64(6)").result_rows[0][0]
    client.command(f"SYSTEM START VIEW {view}")
    client.command(f"SYSTEM REFRESH VIEW {view}")
    deadline = time.monotonic() + 900
    while client.query(state, parameters={"v": view}).result_rows[0][0] == before and time.monotonic() < deadline:
        time.sleep(0.5)
    client.command(f"SYSTEM STOP VIEW {view}")
    client.command("SYSTEM FLUSH LOGS")
    row = client.query(
        "SELECT sum(ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds']) / 1000, max(query_duration_ms)"
        " FROM system.query_log WHERE type = 'QueryFinish' AND current_database = currentDatabase()"
        " AND query_kind = 'Insert' AND query LIKE '%traffic_rollup%' AND event_time_microseconds >= {since:DateTime64(6)}",
        parameters={"since": since}).result_rows[0]
    return row


def live(server, tmp: Path, seconds: float, alter: str = "", batch: int = 20) -> dict:
    from bench import harness

    database = "cost_live_" + uuid.uuid4().hex[:8]
    tracker = harness.start_tracker(tmp / database, f"{server.url}/{database}", 2, tmp / f"{database}.log")
    client = connect(Target("127.0.0.1", server.port, database=database))
    try:
        if alter:
            client.command(f"ALTER TABLE events {alter}")
        harness.wrk(tracker.url, 2, 32, batch=batch)  # warm-up
        settle(client)
        client.command("SYSTEM FLUSH LOGS")
        since = client.query("SELECT now64(6)").result_rows[0][0]
        before_rows = client.query("SELECT count() FROM events").result_rows[0][0]
        idle = idle_cpu_us_per_s(server)
        ch_cpu, workers_cpu, started = process_cpu_s(server.process.pid), tracker.cpu_s(), time.monotonic()
        run = harness.wrk(tracker.url, seconds, 32, batch=batch)
        acknowledged = (run.requests - run.non_2xx) * batch
        deadline = time.monotonic() + 120
        while client.query("SELECT count() FROM events").result_rows[0][0] < before_rows + acknowledged and time.monotonic() < deadline:
            time.sleep(0.2)
        settle(client)
        elapsed = time.monotonic() - started
        process_us = (process_cpu_s(server.process.pid) - ch_cpu) * 1e6
        worker_us = (tracker.cpu_s() - workers_cpu) * 1e6
    finally:
        tracker.stop()
    client.command("SYSTEM FLUSH LOGS")
    kinds = client.query(
        "SELECT query_kind, substring(replaceRegexpAll(query, '\\s+', ' '), 1, 70) AS q, count(),"
        " sum(ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds']), sum(written_rows), avg(written_rows)"
        " FROM system.query_log WHERE type = 'QueryFinish' AND event_time_microseconds >= {since:DateTime64(6)}"
        " AND query NOT LIKE '%system.query_log%' GROUP BY query_kind, q ORDER BY 4 DESC LIMIT 12",
        parameters={"since": since}).result_rows
    views = client.query(
        "SELECT view_name, count(), sum(ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds'])"
        " FROM system.query_views_log WHERE event_time_microseconds >= {since:DateTime64(6)} GROUP BY view_name",
        parameters={"since": since}).result_rows
    parts = client.query(
        "SELECT table, event_type, count(), sum(rows), avg(rows), sum(duration_ms),"
        " sum(ProfileEvents['UserTimeMicroseconds'] + ProfileEvents['SystemTimeMicroseconds'])"
        " FROM system.part_log WHERE event_time_microseconds >= {since:DateTime64(6)} GROUP BY table, event_type ORDER BY table, event_type",
        parameters={"since": since}).result_rows
    return {"alter": alter, "rows": acknowledged, "seconds": elapsed, "idle_us_per_s": idle, "process_us": process_us, "worker_us": worker_us,
            "kinds": kinds, "views": views, "parts": parts}


def print_live(r: dict) -> None:
    n = r["rows"]
    print(f"\n== live{' + ALTER TABLE events ' + r['alter'] if r['alter'] else ''}: {n:,} events acknowledged (batches of 20, 2 workers), {r['seconds']:.1f} s until stored and merged")
    print(f"  ClickHouse process CPU: {r['process_us'] / n:.2f} us/row, of which idle background {r['idle_us_per_s'] * r['seconds'] / n:.2f};"
          f" workers {r['worker_us'] / n:.2f} us/event")
    print("  per query (query_log, CPU of each query's threads):")
    for kind, q, count, cpu, written, avg_written in r["kinds"]:
        print(f"    {kind or '-':8} {count:5} x  {cpu / n:6.2f} us/row  written {written:>9,} (avg {avg_written:,.0f})  {q}")
    for view, count, cpu in r["views"]:
        print(f"  view {view}: {count} runs, {cpu / n:.2f} us/row")
    for table, kind, count, prows, avg_rows, ms, cpu in r["parts"]:
        print(f"  part_log {table} {kind}: {count} x, {prows:,} rows (avg {avg_rows:,.0f}), {ms} ms, {cpu / n:.2f} us CPU/row")


def print_report(r: dict) -> None:
    n = r["rows"]
    count, cpu, oscpu, real, ms, written, dup = r["inserts"]
    print(f"\n== {r['format']}: {n:,} rows in {count} inserts of {r['segment_rows']:,}"
          + (f", {r['bytes_per_row']:.0f} bytes a row" if r["bytes_per_row"] else ""))
    print(f"  INSERT queries (query_log, CPU of the query's threads, views included): {cpu / n:.2f} us/row"
          f" (OSCPUVirtual {oscpu / n:.2f}, Real {real / n:.2f}); {ms / max(count, 1):.0f} ms per insert; written {written:,}, deduplicated blocks {dup}")
    for view, vcount, vcpu, vms in r["views"]:
        print(f"  view {view}: {vcount} runs, {vcpu / n:.2f} us/row, {vms / max(vcount, 1):.0f} ms per run")
    for kind, pcount, prows, pms, avg_rows, pcpu in r["parts"]:
        print(f"  part_log {kind}: {pcount} x, {prows:,} rows (avg {avg_rows:,.0f}), {pms} ms, {pcpu / n:.2f} us CPU per inserted row")
    print(f"  active parts of events at the end: {r['active_parts']}")
    print(f"  server process CPU over the run, merges included, idle subtracted: {r['process_cpu_us_per_row']:.2f} us/row"
          f" (inserts took {r['inserted_s']:.1f} s, settled after {r['elapsed_s']:.1f} s)")
    if r["refresh"] is None:
        return
    cpu_ms, wall_ms = r["refresh"]
    print(f"  one traffic_rollup refresh over these rows: {cpu_ms:.0f} ms CPU, {wall_ms} ms; every 5 minutes")


if __name__ == "__main__":
    sys.exit(main())
