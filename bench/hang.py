"""The hung-ClickHouse drill: ClickHouse stopped with SIGSTOP (it hangs; connections are not
refused) under steady ingest load, then resumed with SIGCONT.

Run by tests/test_hung_clickhouse.py (short) and `make chaos` (long). While ClickHouse hangs,
ingest must keep answering 202 fast (events wait in the spool), /readyz must say not ready, the
query API must answer 503 clickhouse_unavailable within its deadline, and an event for a site the
worker does not know must get a retryable 503, not a hang. The caller checks afterwards that every
acknowledged event reached ClickHouse exactly once.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
# No keep-alive: each request opens a connection, so with several workers all of them get load.
NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)


@dataclass
class Probe:
    status: int | str
    code: str
    seconds: float


@dataclass
class HangResult:
    hang_s: float
    answers: dict[int | str, int] = field(default_factory=dict)  # ingest: status -> requests
    acknowledged: list[str] = field(default_factory=list)  # event_ids answered with 202
    max_ingest_s: float = 0.0  # slowest ingest answer over the whole drill, cold workers included
    max_ingest_sent_s: float = 0.0  # when that request was sent, from SIGSTOP (negative: before)
    max_ingest_during_hang_s: float = 0.0
    max_ingest_after_hang_s: float = 0.0  # while the spool's backlog goes into ClickHouse
    requests_during_hang: int = 0
    not_ready_after_s: float | None = None  # from SIGSTOP to the first 503 of /readyz
    slowest_readyz_s: float = 0.0
    queries: list[Probe] = field(default_factory=list)  # query API during the hang
    unknown_site: Probe | None = None  # an event for a site no worker knows, during the hang
    ready_again_after_s: float | None = None  # from SIGCONT to the first 200 of /readyz
    slowest_metrics_s: float = 0.0  # GET /metrics during the hang (business gauges on or not)

    def summary(self) -> str:
        def seconds(value: float | None) -> str:
            return "never" if value is None else f"{value:.2f} s"

        queries = ", ".join(f"{q.status} {q.code} in {q.seconds:.2f} s" for q in self.queries)
        unknown = self.unknown_site
        return "\n".join([
            f"ingest answers {self.answers}; slowest {self.max_ingest_s * 1000:.0f} ms overall,"
            f" (sent {self.max_ingest_sent_s:+.1f} s from SIGSTOP), {self.max_ingest_during_hang_s * 1000:.0f} ms during the hang"
            f" ({self.requests_during_hang} requests), {self.max_ingest_after_hang_s * 1000:.0f} ms after it",
            f"/readyz not ready {seconds(self.not_ready_after_s)} after SIGSTOP (slowest answer {self.slowest_readyz_s:.2f} s),"
            f" ready again {seconds(self.ready_again_after_s)} after SIGCONT",
            f"query API during the hang: {queries}; slowest /metrics {self.slowest_metrics_s:.2f} s",
            f"unknown site during the hang: {unknown.status} {unknown.code} in {unknown.seconds:.2f} s" if unknown else "",
        ])


class IngestLoad:
    """One client thread posting batches of 5 events with fresh event_ids, timing every answer."""

    def __init__(self, url: str, site: str, pause_s: float = 0.02) -> None:
        self.url = url + "/api/event"
        self.site = site
        self.pause_s = pause_s
        self.timings: list[tuple[float, float]] = []  # (sent at, seconds to answer)
        self.answers: dict[int | str, int] = {}
        self.acknowledged: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "IngestLoad":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with httpx.Client(headers={"user-agent": UA}, timeout=30, limits=NO_KEEPALIVE) as http:
            while not self._stop.is_set():
                ids = [str(uuid.uuid4()) for _ in range(5)]
                batch = {"site": self.site, "events": [{"name": "page_view", "url": "https://shop.example/", "event_id": i} for i in ids]}
                sent = time.monotonic()
                try:
                    key: int | str = http.post(self.url, json=batch).status_code
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                self.timings.append((sent, time.monotonic() - sent))
                self.answers[key] = self.answers.get(key, 0) + 1
                if key == 202:
                    self.acknowledged.extend(ids)
                time.sleep(self.pause_s)


def probe(http: httpx.Client, method: str, url: str, **kwargs) -> Probe:
    started = time.monotonic()
    try:
        r = http.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        return Probe(type(exc).__name__, "", time.monotonic() - started)
    code = r.json().get("error", {}).get("code", "") if r.headers.get("content-type", "").startswith("application/json") else ""
    return Probe(r.status_code, code, time.monotonic() - started)


def run_hang_drill(url: str, clickhouse_pid: int, site: str, token: str, hang_s: float,
                   before_s: float = 3.0, after_s: float = 3.0, query_probes: int = 2) -> HangResult:
    """Load, SIGSTOP ClickHouse for hang_s while probing, SIGCONT, more load; ClickHouse is resumed whatever happens."""
    result = HangResult(hang_s)
    load = IngestLoad(url, site).start()
    auth = {"authorization": f"Bearer {token}"}
    try:
        with httpx.Client(headers={"user-agent": UA}, timeout=60, limits=NO_KEEPALIVE) as http:
            for _ in range(4):  # the workers load the token list now, so the hang meets the queries themselves
                r = http.get(f"{url}/api/v1/sites/{site}/stats", headers=auth)
                assert r.status_code == 200, r.text
            time.sleep(before_s)
            stopped = time.monotonic()
            os.kill(clickhouse_pid, signal.SIGSTOP)
            try:
                while time.monotonic() - stopped < min(10.0, hang_s):
                    ready = probe(http, "GET", url + "/readyz")
                    result.slowest_readyz_s = max(result.slowest_readyz_s, ready.seconds)
                    if ready.status == 503:
                        result.not_ready_after_s = time.monotonic() - stopped
                        break
                    time.sleep(0.1)
                for _ in range(query_probes):
                    result.queries.append(probe(http, "GET", f"{url}/api/v1/sites/{site}/stats", headers=auth))
                for _ in range(3):
                    result.slowest_metrics_s = max(result.slowest_metrics_s, probe(http, "GET", url + "/metrics").seconds)
                result.unknown_site = probe(http, "POST", url + "/api/event",
                                            json={"site": f"new-{uuid.uuid4().hex[:8]}", "name": "page_view"})
                time.sleep(max(0.0, hang_s - (time.monotonic() - stopped)))
            finally:
                os.kill(clickhouse_pid, signal.SIGCONT)
            resumed = time.monotonic()
            while time.monotonic() - resumed < 30:
                if probe(http, "GET", url + "/readyz").status == 200:
                    result.ready_again_after_s = time.monotonic() - resumed
                    break
                time.sleep(0.1)
            time.sleep(after_s)
    finally:
        load.stop()
    result.answers = load.answers
    result.acknowledged = load.acknowledged
    slowest_sent, result.max_ingest_s = max(load.timings, key=lambda timing: timing[1])
    result.max_ingest_sent_s = slowest_sent - stopped
    during = [s for sent, s in load.timings if stopped <= sent < resumed]
    result.requests_during_hang = len(during)
    result.max_ingest_during_hang_s = max(during, default=0.0)
    result.max_ingest_after_hang_s = max((s for sent, s in load.timings if sent >= resumed), default=0.0)
    return result


def stored_counts(ch) -> dict[str, int]:
    """event_id -> copies stored in ClickHouse."""
    return dict(ch.query("SELECT toString(event_id), count() FROM events GROUP BY event_id").result_rows)
