"""`make chaos`: long failure drills under steady load, ending in a table of figures.

1. ClickHouse stopped for --outage seconds while clients keep sending.
2. The tracker killed with SIGKILL mid-load, then restarted.
3. A client resending batches it already sent (same event_ids).
4. ClickHouse hung (SIGSTOP, then SIGCONT) for --hang seconds under load, with 1 and with 2
   workers (bench/hang.py): ingest must answer 202 in under 1 s throughout, /readyz must turn
   not ready, the query API must answer 503 clickhouse_unavailable within its deadline.
After each: every event acknowledged with 202 must be in ClickHouse exactly once.
The short versions of these drills run in `make test` (tests/test_durability.py, tests/test_hung_clickhouse.py).
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness  # noqa: E402
from bench.hang import HangResult, run_hang_drill  # noqa: E402
from tracker.clickhouse import embedded  # noqa: E402
from tracker.clickhouse.client import Target, connect  # noqa: E402
from tracker.tokens import create_token  # noqa: E402

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


class Load:
    """Clients in threads posting batches of 10 with fresh event_ids; records what was acknowledged."""

    def __init__(self, url: str, clients: int = 4) -> None:
        self.url = url
        self.acknowledged: list[str] = []
        self.sent_batches: list[dict] = []
        self.statuses: dict[int | str, int] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def start(self) -> "Load":
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    def _run(self) -> None:
        with httpx.Client(headers={"user-agent": UA}, timeout=10) as http:
            while not self._stop.is_set():
                ids = [str(uuid.uuid4()) for _ in range(10)]
                batch = {"site": "demo", "events": [{"name": "page_view", "url": "https://shop.example/", "event_id": i} for i in ids]}
                try:
                    r = http.post(self.url + "/api/event", json=batch)
                    key: int | str = r.status_code
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                    time.sleep(0.05)
                with self._lock:
                    self.statuses[key] = self.statuses.get(key, 0) + 1
                    if key == 202:
                        self.acknowledged.extend(ids)
                        self.sent_batches.append(batch)
                time.sleep(0.01)


def verify(ch, acknowledged: list[str], timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    want = set(acknowledged)
    while True:
        stored = ch.query("SELECT toString(event_id), count() FROM events GROUP BY event_id").result_rows
        counts = dict(stored)
        missing = len(want - counts.keys())
        if missing == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return {"acknowledged": len(want), "stored": sum(counts.values()), "missing": missing,
            "duplicated": sum(1 for c in counts.values() if c > 1)}


class Acknowledged:
    """What finish() needs of a load that has already stopped (the hang drill's)."""

    def __init__(self, acknowledged: list[str], statuses: dict) -> None:
        self.acknowledged = acknowledged
        self.statuses = statuses

    def stop(self) -> None:
        pass


def finish(name: str, load: Load | Acknowledged, ch, **extra) -> tuple:
    """Stop the load, wait until every acknowledged event is stored (or time runs out), then clear the table."""
    load.stop()
    started = time.monotonic()
    result = {**verify(ch, load.acknowledged), **extra}
    ch.command("TRUNCATE TABLE events")
    return name, result, load.statuses, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage", type=float, default=60.0, help="seconds ClickHouse stays down")
    parser.add_argument("--load", type=float, default=20.0, help="seconds of load before and after each fault")
    parser.add_argument("--hang", type=float, default=60.0, help="seconds ClickHouse stays hung (SIGSTOP)")
    args = parser.parse_args()
    rows = []
    hangs: list[tuple[int, HangResult]] = []
    with tempfile.TemporaryDirectory(prefix="funnelhouse-chaos-") as tmp:
        tmp = Path(tmp)
        port = harness.free_port()
        clickhouse = embedded.start(tmp / "clickhouse", port)
        url = f"{clickhouse.url}/chaos"
        tracker = harness.start_tracker(tmp / "tracker", url, 2, tmp / "tracker.log")
        ch = connect(Target("127.0.0.1", port, database="chaos"))  # the tracker created the database
        try:
            # 1. ClickHouse outage
            say(f"drill 1: ClickHouse down for {args.outage:g} s under load")
            load = Load(tracker.url).start()
            time.sleep(args.load)
            clickhouse.stop()
            time.sleep(args.outage)
            clickhouse = embedded.start(tmp / "clickhouse", port)
            time.sleep(args.load)
            rows.append(finish("ClickHouse outage", load, ch))

            # 2. kill -9 mid-load
            say("drill 2: tracker killed with SIGKILL mid-load, restarted")
            load = Load(tracker.url).start()
            time.sleep(args.load)
            for pid in tracker.worker_pids():
                harness.os.kill(pid, signal.SIGKILL)
            tracker.process.send_signal(signal.SIGKILL)
            tracker.process.wait()
            tracker = harness.start_tracker(tmp / "tracker", url, 2, tmp / "tracker.log")
            load.url = tracker.url
            time.sleep(args.load)
            rows.append(finish("kill -9 mid-load", load, ch))

            # 3. resends: every acknowledged batch is sent again
            say("drill 3: clients resend every batch")
            load = Load(tracker.url).start()
            time.sleep(args.load)
            load.stop()
            with httpx.Client(headers={"user-agent": UA}) as http:
                duplicates = sum(http.post(tracker.url + "/api/event", json=b).json()["dropped"].get("duplicate", 0) for b in load.sent_batches)
            rows.append(finish("resend of every batch", load, ch, resends_dropped=duplicates))
            tracker.stop()

            # 4. ClickHouse hangs
            _, token = create_token(ch, "demo")
            for workers in (1, 2):
                say(f"drill 4: ClickHouse hung (SIGSTOP) for {args.hang:g} s under load, {workers} worker(s)")
                tracker = harness.start_tracker(tmp / f"tracker-hang-{workers}", url, workers, tmp / "tracker.log")
                result = run_hang_drill(tracker.url, clickhouse.process.pid, "demo", token, args.hang,
                                        before_s=args.load, after_s=args.load)
                hangs.append((workers, result))
                print(result.summary(), flush=True)
                rows.append(finish(f"hang, {workers} worker(s)", Acknowledged(result.acknowledged, result.answers), ch))
                tracker.stop()
        finally:
            tracker.stop()
            clickhouse.stop()

    print(f"\n{'drill':<24}{'acknowledged':>13}{'stored':>9}{'missing':>9}{'duplicated':>12}{'drain s':>9}  answers")
    failed = False
    for name, r, statuses, drain in rows:
        print(f"{name:<24}{r['acknowledged']:>13,}{r['stored']:>9,}{r['missing']:>9}{r['duplicated']:>12}{drain:>9.1f}  {statuses}"
              + (f"  resends dropped: {r['resends_dropped']}" if "resends_dropped" in r else ""))
        failed |= r["missing"] > 0 or r["duplicated"] > 0
    print("\nFAIL: acknowledged events lost or duplicated" if failed else "\nPASS: every acknowledged event stored exactly once")
    slow = hang_failures(hangs, args.hang)
    for problem in slow:
        print(f"FAIL: {problem}")
    return 1 if failed or slow else 0


def hang_failures(hangs: list[tuple[int, HangResult]], hang_s: float) -> list[str]:
    """What the hang drills got wrong: answers other than 202, slow answers, no 503 where one is due."""
    problems = []
    for workers, r in hangs:
        name = f"hang with {workers} worker(s)"
        if set(r.answers) != {202}:
            problems.append(f"{name}: ingest answers {r.answers}")
        if max(r.max_ingest_during_hang_s, r.max_ingest_after_hang_s) >= 1.0:
            problems.append(f"{name}: an ingest answer took {max(r.max_ingest_during_hang_s, r.max_ingest_after_hang_s):.2f} s")
        if r.not_ready_after_s is None:
            problems.append(f"{name}: /readyz never said not ready")
        if any((q.status, q.code) != (503, "clickhouse_unavailable") for q in r.queries):
            problems.append(f"{name}: query API answered {[(q.status, q.code) for q in r.queries]}")
    return problems


def say(message: str) -> None:
    print(f"[chaos] {message}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
