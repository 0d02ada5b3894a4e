"""The ingest pipeline: validated events pass named steps in order, then become stored rows.

A step may drop an event with a reason (counted in tracker_events_dropped_total{reason}).
Rows are serialised to JSON lines here, once, and travel as bytes through the spool to an
insert, so the flusher does no per-row work. A row is a JSON array in COLUMN_NAMES order
(ROW_FORMAT): less than half the bytes of an object with keys, so less to write, sync, send and
parse (measured: 294 vs 656 bytes a row, and less ClickHouse CPU per row).
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter
from typing import Callable

import orjson

from tracker.dedupe import RecentIds
from tracker.events import COLUMN_NAMES
from tracker.ingest import steps
from tracker.ingest.payload import Event
from tracker.ingest.salts import DailySalts
from tracker.ingest.steps import RequestInfo

ROW_FORMAT = "JSONCompactEachRow"

Step = Callable[[Event, RequestInfo, dict], "str | None"]


@dataclass
class Outcome:
    lines: list[bytes]
    event_ids: list[str]  # the client-chosen event_ids among the kept events, to remember once durable
    dropped: dict[str, int]


class Pipeline:
    def __init__(self, salts: DailySalts, recent: RecentIds, spam_referrers: frozenset[str]) -> None:
        self.recent = recent
        self.steps: list[tuple[str, Step]] = [
            ("bot_filter", steps.bot_filter),
            ("dedupe", steps.make_dedupe(recent)),
            ("referrer", steps.make_referrer(steps.SPAM_REFERRERS | spam_referrers)),
            ("visitor_id", steps.make_visitor_id(salts)),
        ]

    def run(self, events: list[Event], request: RequestInfo) -> Outcome:
        outcome = Outcome([], [], {})
        in_request: set[str] = set()
        for event in events:
            row: dict = {}
            reason = "duplicate" if event.event_id in in_request else None
            for _, step in self.steps:
                if reason:
                    break
                reason = step(event, request, row)
            if reason:
                outcome.dropped[reason] = outcome.dropped.get(reason, 0) + 1
                continue
            in_request.add(event.event_id)
            outcome.lines.append(encode_row(event, request, row))
            if event.client_event_id:
                outcome.event_ids.append(event.event_id)
        return outcome


_IN_COLUMN_ORDER = itemgetter(*COLUMN_NAMES)  # a KeyError names any column a step forgot
_NO_ITEMS = ((), (), (), (), ())


def encode_row(event: Event, request: RequestInfo, row: dict) -> bytes:
    # One assignment per column: measured 1.2 us a row, half of a row.update(**columns) version.
    row["site"] = event.site
    row["ts"] = event.ts_ms / 1000  # JSON input formats read DateTime64 from seconds with a fraction
    row["received_at"] = request.received_at_ms / 1000
    row["event_id"] = event.event_id
    row["name"] = event.name
    row["session_id"] = event.session
    row["customer_id"] = event.customer_id
    row["props"] = event.props
    row["transaction_id"] = event.transaction_id
    row["value"] = event.value
    row["currency"] = event.currency
    items = event.items
    (row["items.item_id"], row["items.item_name"], row["items.item_category"], row["items.price"],
     row["items.quantity"]) = tuple(zip(*items)) if items else _NO_ITEMS
    return orjson.dumps(_IN_COLUMN_ORDER(row)) + b"\n"
