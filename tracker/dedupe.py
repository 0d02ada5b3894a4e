"""Client event_ids acknowledged within the dedupe horizon, known to every worker and across restarts.

A client that did not hear our 202 (timeout, page closed, offline) resends the same events with
the same event_ids; they must count once, whichever worker the resend reaches.

Each worker keeps the ids in memory (64-bit keys in buckets per hour, so expiry drops whole
buckets; a busy hour is cut into several buckets of at most a quarter of TRACKER_DEDUPE_MAX_IDS,
so reaching the cap forgets the oldest quarter, never the ids just acknowledged) and
appends the ids it acknowledges to an ids log in its spool slot (`ids-<hour>.log`, 16 bytes per id).
A background task writes that log and reads the other slots' logs a few times a second; on start,
every log within the horizon is read back. A resend that reaches another worker within that
interval (a fraction of a second), or one acknowledged in the instant before a crash (the log is
not fsynced: it is a hint, the spool is what makes events durable), may still count twice.
"""

from __future__ import annotations

import hashlib
import struct
import time
import uuid
from itertools import repeat
from pathlib import Path

from tracker.spool import slots


RECORD = struct.Struct("<Qd")  # key, acknowledged at (epoch seconds)
HOUR = 3600


def key_of(event_id: uuid.UUID | str) -> int:
    """The first 64 bits of a UUID: plenty to tell a day's events apart."""
    if isinstance(event_id, str):
        event_id = uuid.UUID(event_id)
    return event_id.int >> 64


def transaction_key(site: str, transaction_id: str) -> int:
    """The key of a purchase: one order sent by the browser and by the shop's backend is one order."""
    digest = hashlib.blake2b(f"{site}\x00{transaction_id}".encode(), digest_size=8, person=b"purchase").digest()
    return int.from_bytes(digest, "little")


class RecentIds:
    def __init__(self, spool_root: Path, own_slot: Path, horizon_s: float, max_ids: int) -> None:
        self.spool_root = Path(spool_root)
        self.own_slot = Path(own_slot)
        self.horizon_s = horizon_s
        self.max_ids = max_ids
        # (hour, part) -> keys acknowledged in it. A bucket is a dict of int -> None, not a set: the
        # garbage collector never tracks such a dict, but it walks every entry of every set on each
        # full collection (measured with 2M ids: a full collection took 93 ms in sets, 11 ms in dicts).
        self._buckets: dict[tuple[int, int], dict[int, None]] = {}
        self._part: dict[int, int] = {}  # hour -> its part being filled
        self._part_size = max(1, max_ids // 4)
        self._count = 0
        self._unwritten: list[bytes] = []
        self._offsets: dict[Path, int] = {}  # how far each other slot's log has been read

    def __contains__(self, event_id: str) -> bool:
        key = key_of(event_id)
        for keys in self._buckets.values():  # a plain loop: any() over a generator costs twice as much
            if key in keys:
                return True
        return False

    def known(self, wanted: set[int]) -> set[int]:
        """Which of the keys `wanted` were acknowledged before: one set operation per bucket."""
        found: set[int] = set()
        if wanted:
            for bucket in self._buckets.values():
                found |= bucket.keys() & wanted
        return found

    def remember(self, event_ids: list[str], now: float | None = None) -> None:
        self.remember_keys([key_of(i) for i in event_ids], now)

    def remember_keys(self, keys: list[int], now: float | None = None) -> None:
        if not keys:
            return
        now = time.time() if now is None else now
        self._add(keys, now)
        self._unwritten.append(b"".join(map(RECORD.pack, keys, repeat(now))))

    def _add(self, keys: list[int], at: float) -> None:
        hour = int(at // HOUR)
        part = self._part.get(hour, 0)
        bucket = self._buckets.setdefault((hour, part), {})
        if len(bucket) >= self._part_size:
            self._part[hour] = part + 1
            bucket = self._buckets[(hour, part + 1)] = {}
        before = len(bucket)
        bucket.update(dict.fromkeys(keys))
        self._count += len(bucket) - before

    def load(self, now: float | None = None) -> None:
        """Read every slot's logs within the horizon (at start), then follow the others'."""
        self.sync(now, include_own=True)

    def sync(self, now: float | None = None, include_own: bool = False) -> None:
        """Write our new ids, read the other workers' new ones, forget what is past the horizon."""
        now = time.time() if now is None else now
        if self._unwritten:
            data, self._unwritten = b"".join(self._unwritten), []
            with open(self.own_slot / f"ids-{int(now // HOUR)}.log", "ab") as f:
                f.write(data)
        oldest_hour = int((now - self.horizon_s) // HOUR)
        for path in [log for slot in slots(self.spool_root) for log in sorted(slot.glob("ids-*.log"))]:
            hour = int(path.stem.split("-", 1)[1])
            if hour < oldest_hour:
                if path.parent == self.own_slot:
                    path.unlink(missing_ok=True)
                self._offsets.pop(path, None)
                continue
            if path.parent == self.own_slot and not include_own:
                continue
            self._read(path, now)
        self._expire(oldest_hour)

    def _read(self, path: Path, now: float) -> None:
        offset = self._offsets.get(path, 0)
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            self._offsets.pop(path, None)
            return
        usable = len(data) - len(data) % RECORD.size  # a record being written is read next time
        self._offsets[path] = offset + usable
        by_hour: dict[int, list[int]] = {}
        for key, at in RECORD.iter_unpack(data[:usable]):
            if now - at <= self.horizon_s:
                by_hour.setdefault(int(at // HOUR), []).append(key)
        for hour, keys in by_hour.items():
            self._add(keys, hour * HOUR)

    def _expire(self, oldest_hour: int) -> None:
        for hour, part in sorted(self._buckets):
            if hour >= oldest_hour and self._count <= self.max_ids:
                break
            self._count -= len(self._buckets.pop((hour, part)))
        for hour in [h for h in self._part if h < oldest_hour]:
            del self._part[hour]
