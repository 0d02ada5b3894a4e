"""Garbage-collector settings for a serving process, applied once it has started.

Measured under load (wrk, single events, 2 workers) with CPython's defaults: each worker spent
6-10% of its CPU in the collector (perf samples; timing collections: ~1 s in a 12 s run). A young
collection ran ~90 times a second, because the objects of the requests in flight alone exceed the
default threshold of 700, and each one scanned those live objects (~0.4 ms) only to promote them;
the promoted objects then triggered a full collection every second or so, which walked the whole
heap for ~45 ms, stalling every request.

So: collect once, freeze what start-up built (modules, clients, caches: never garbage, no longer
walked), and let the young generation grow to YOUNG_THRESHOLD before it is scanned. Request objects
are freed by reference counting long before that; only cycles wait for the collector.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def settle_heap() -> None:
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
