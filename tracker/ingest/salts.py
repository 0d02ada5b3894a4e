"""A node's own daily random salts for the cookieless visitor id, shared by its workers through the data directory.

The salts every node shares live in ClickHouse (tracker/ingest/shared_salts.py); these are what a
node uses while it knows no shared salt for the day (ClickHouse unreachable), and what the CLI's
import would use without ClickHouse. The first process to need a day's salt creates it atomically
(link of a finished file, which fails if another process won); older salts are deleted, so
yesterday's visitor ids cannot be recomputed.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path


class DailySalts:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._day_number = -1  # days since the epoch, UTC: cheaper to compare per event than a date string
        self._salt = b""

    def current(self, now: float | None = None) -> bytes:
        now = now if now is not None else time.time()
        day_number = int(now // 86_400)
        if day_number != self._day_number:
            day = time.strftime("%Y-%m-%d", time.gmtime(now))
            self._salt = self._load_or_create(day)
            self._day_number = day_number
            self._delete_except(day)
        return self._salt

    def _load_or_create(self, day: str) -> bytes:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / day
        if not path.exists():
            tmp = self.directory / f".{day}.{os.getpid()}.{secrets.token_hex(4)}"
            tmp.write_bytes(secrets.token_bytes(32))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_bytes()

    def prune(self, now: float) -> None:
        """Delete the salts of days before now's (run by the shared salts' refresh, off the event loop;
        not later days: a worker may have created the next day's a moment after `now`)."""
        if not self.directory.is_dir():
            return
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        for path in self.directory.iterdir():
            if path.name < day and not path.name.startswith("."):  # ISO dates sort as days do
                path.unlink(missing_ok=True)

    def _delete_except(self, day: str) -> None:
        for path in self.directory.iterdir():
            if path.name != day and not path.name.startswith("."):
                path.unlink(missing_ok=True)
