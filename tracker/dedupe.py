"""Client event_ids acknowledged within the dedupe horizon, shared by every worker and kept across restarts.

A client that did not hear our 202 (timeout, page closed, offline) resends the same events with
the same event_ids; those must count once. The ids live in a small SQLite file in the data
directory (WAL mode, so workers read while one writes). It is consulted once per spool group
commit, in the spool's io thread, so the cost is shared by every request in the group and the
event loop never waits on it.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

_CHUNK = 500  # SQLite's limit on bound parameters per statement is far above this


class SeenIds:
    def __init__(self, path: Path, horizon_s: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.horizon_s = horizon_s
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # The spool, not this file, is what makes events durable: losing the newest ids in a power
        # cut only means a resend in that instant may count twice.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID")
        self._db.execute("CREATE INDEX IF NOT EXISTS seen_at ON seen (at)")
        self._pruned_at = 0.0

    def claim(self, ids: list[str], now: float | None = None) -> set[str]:
        """Record `ids`; return those that were already recorded (the duplicates)."""
        if not ids:
            return set()
        now = time.time() if now is None else now
        self._db.execute("BEGIN IMMEDIATE")  # one writer at a time across processes
        try:
            seen: set[str] = set()
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                seen.update(r[0] for r in self._db.execute(f"SELECT id FROM seen WHERE id IN ({marks}) AND at >= ?", (*chunk, now - self.horizon_s)))
            self._db.executemany("INSERT OR REPLACE INTO seen (id, at) VALUES (?, ?)", ((i, now) for i in ids if i not in seen))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        if now - self._pruned_at > 60:
            self._prune(now)
        return seen

    def release(self, ids: list[str]) -> None:
        """Forget ids whose events could not be stored after all, so their resend is accepted."""
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            self._db.execute(f"DELETE FROM seen WHERE id IN ({','.join('?' * len(chunk))})", chunk)

    def _prune(self, now: float) -> None:
        self._db.execute("DELETE FROM seen WHERE at < ?", (now - self.horizon_s,))
        self._pruned_at = now

    def close(self) -> None:
        self._db.close()
