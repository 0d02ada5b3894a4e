"""Import a file: each row validated as live ingest validates it, then the same pipeline and row
encoding (tracker/ingest/pipeline.py, tracker/events.py), inserted straight into ClickHouse in large batches.

Any age within the retention (TRACKER_RETENTION_DAYS; ClickHouse's TTL would delete older rows at
once): the backfill horizon is for live clients whose clocks we correct, an import states its
times. A row needs its `ts`: a past event without a time would be stored as happening now.

Re-runs are idempotent. The file is cut into chunks of fixed line ranges; each chunk's insert
carries an insert_deduplication_token made of the file's content hash, the site, the mapping and
the line range, so ClickHouse stores a chunk it has seen once (as for spool segments,
tracker/flusher.py). An event without an event_id gets one derived from the file hash and its line.

An imported row is treated as a shop backend's event (tracker/ingest/keys.py): `client_ip` and
`user_agent` may be given for the visitor hash and device columns (never stored); a row without a
`visitor` or `client_ip` is grouped with the other such rows of its chunk (one anonymous visitor).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import msgspec

from tracker.dedupe import RecentIds
from tracker.errors import FieldError
from tracker.flusher import insert_rows
from tracker.imports.rows import Row, read_rows
from tracker.ingest import wire
from tracker.ingest.event import Event
from tracker.ingest.intake import dedupe_keys
from tracker.ingest.payload import Clock, parse_event, parse_timestamp_ms
from tracker.ingest.pipeline import Pipeline
from tracker.ingest.salts import DailySalts
from tracker.ingest.shared_salts import SharedSalts
from tracker.ingest.steps import RequestInfo

# Event ids of rows without one: uuid5 in this namespace of "<file sha256>:<line>".
EVENT_ID_NAMESPACE = uuid.UUID("5f0c3c52-6d1e-4c57-9d0f-2a8f3f6b1e11")
VALIDATE_ROWS = 1000  # rows validated (and the progress bar moved) at a time
# A busy ClickHouse may time out on a large insert; the token makes a retry safe, so retry a few times.
INSERT_ATTEMPTS = 4

log = logging.getLogger("tracker.import")


@dataclass
class Report:
    rows: int = 0
    imported: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    rejected: list[tuple[int, list[FieldError]]] = field(default_factory=list)  # (line, errors)
    inserts: int = 0


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Importer:
    def __init__(self, client, site: str, salts: SharedSalts | DailySalts, spam_referrers: frozenset[str], batch_rows: int,
                 retention_days: int, progress: Callable[[int], None] = lambda n: None) -> None:
        self.client = client
        self.retention_days = retention_days
        self.site = site
        self.batch_rows = batch_rows
        self.progress = progress
        self._ids_dir = tempfile.TemporaryDirectory(prefix="funnelhouse-import-")
        # Resent ids and purchases within the file count once, as live: an in-memory RecentIds of this run.
        recent = RecentIds(Path(self._ids_dir.name), Path(self._ids_dir.name), float("inf"), 1 << 40)
        self.pipeline = Pipeline(salts, recent, spam_referrers)

    def run(self, path: Path, fmt: str, mapping: dict[str, str]) -> Report:
        digest = file_digest(path)
        now_ms = int(time.time() * 1000)
        clock = Clock(now_ms, horizon_ms=now_ms)  # any age for the validator; the retention is checked before
        self.oldest_ms = now_ms - self.retention_days * 86_400_000
        request = RequestInfo("", "", now_ms, key_site=self.site)
        run_id = hashlib.sha256(f"{digest}\x00{self.site}\x00{sorted(mapping.items())}".encode()).hexdigest()[:32]
        report = Report()
        chunk: list[Event] = []
        pending: list[Row] = []  # validated a batch at a time, as live requests are
        chunk_index = 0
        try:
            for row in read_rows(path, fmt, mapping):
                index = (row.line - 1) // self.batch_rows
                if index != chunk_index:
                    chunk += self._validate_rows(pending, digest, clock, report)
                    self.progress(len(pending))
                    self._insert(chunk, request, f"{run_id}:{chunk_index}", report)
                    chunk, pending, chunk_index = [], [], index
                report.rows += 1
                pending.append(row)
                if len(pending) == VALIDATE_ROWS:
                    chunk += self._validate_rows(pending, digest, clock, report)
                    self.progress(len(pending))
                    pending = []
            chunk += self._validate_rows(pending, digest, clock, report)
            self.progress(len(pending))
            self._insert(chunk, request, f"{run_id}:{chunk_index}", report)
        finally:
            self._ids_dir.cleanup()
        return report

    def _validate_rows(self, rows: list[Row], digest: str, clock: Clock, report: Report) -> list[Event]:
        """The valid events of rows: in one compiled pass when all are valid (tracker/ingest/wire.py),
        else row by row with the detailed validator, which names each bad field."""
        events = self._validate_fast(rows, digest, clock)
        if events is not None:
            return events
        return [e for row in rows if (e := self._validate(row, digest, clock, report)) is not None]

    def _validate_fast(self, rows: list[Row], digest: str, clock: Clock) -> list[Event] | None:
        raws = [row.raw for row in rows]
        if not all(isinstance(raw, dict) for raw in raws):
            return None
        try:
            events = msgspec.convert(raws, list[Event])
        except msgspec.ValidationError:
            return None
        for event, row in zip(events, rows):
            if event.ts is None or (event.site is not None and event.site != self.site):
                return None
            if event.event_id is None:
                event.event_id = self._event_id(digest, row.line)
        if wire.finish(wire.Request(events, site=self.site), clock.now_ms, clock.horizon_ms) is None:
            return None
        oldest = self.oldest_ms
        return events if all(event.ts >= oldest for event in events) else None

    @staticmethod
    def _event_id(digest: str, line: int) -> uuid.UUID:
        return uuid.uuid5(EVENT_ID_NAMESPACE, f"{digest}:{line}")

    def _validate(self, row: Row, digest: str, clock: Clock, report: Report) -> Event | None:
        raw = row.raw
        if raw is None:
            report.rejected.append((row.line, [FieldError("line", row.error)]))
            return None
        if not isinstance(raw, dict):
            report.rejected.append((row.line, [FieldError("event", "must be an object")]))
            return None
        errors = []
        if raw.get("site", self.site) != self.site:
            errors.append(FieldError("site", f"is not the site being imported ({self.site})"))
        ts = raw.get("ts")
        if ts is None:
            errors.append(FieldError("ts", "is required in an import (milliseconds since the epoch or ISO-8601)"))
        elif (ts_ms := parse_timestamp_ms(ts)) is not None and ts_ms < self.oldest_ms:
            errors.append(FieldError("ts", f"is older than the retention of {self.retention_days} days (TRACKER_RETENTION_DAYS)"))
        if "event_id" not in raw:
            raw["event_id"] = str(self._event_id(digest, row.line))
        parsed = parse_event(raw, clock, default_site=self.site)
        if isinstance(parsed, list):
            errors += parsed
        if errors:
            report.rejected.append((row.line, errors))
            return None
        return parsed

    def _insert(self, events: list[Event], request: RequestInfo, token: str, report: Report) -> None:
        if not events:
            return
        outcome = self.pipeline.run(events, dedupe_keys(events, [True] * len(events)), request)
        for reason, n in outcome.dropped.items():
            report.dropped[reason] = report.dropped.get(reason, 0) + n
        if outcome.lines:
            data = b"".join(outcome.lines)
            for attempt in range(1, INSERT_ATTEMPTS + 1):
                try:
                    insert_rows(self.client, data, token)
                    break
                except Exception as exc:  # noqa: BLE001 - any failure: the same insert again, or give up
                    if attempt == INSERT_ATTEMPTS:
                        raise
                    log.warning("insert failed, retrying", extra={"attempt": attempt, "cause": str(exc)[:300]})
                    time.sleep(2 ** attempt)
            report.inserts += 1
        self.pipeline.recent.remember_keys(outcome.keys)
        report.imported += len(outcome.lines)


def describe_rejects(rejected: list[tuple[int, list[FieldError]]]) -> list[str]:
    return [f"line {line}: " + "; ".join(f"{e.path}: {e.reason}" for e in errors) for line, errors in rejected]
