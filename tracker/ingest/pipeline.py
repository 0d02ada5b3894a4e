"""The ingest pipeline: validated events pass named steps in order, then become stored rows.

A step may drop an event with a reason (counted in tracker_events_dropped_total{reason}).
Rows are serialised to JSON lines here, once, and travel as bytes through the spool to an
insert, so the flusher does no per-row work. A row is a JSON array in COLUMN_NAMES order
(ROW_FORMAT): less than half the bytes of an object with keys, so less to write, sync, send and
parse (measured: 294 vs 656 bytes a row, and less ClickHouse CPU per row).
"""

from __future__ import annotations

from dataclasses import dataclass
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


def encode_row(event: Event, request: RequestInfo, row: dict) -> bytes:
    row.update(
        site=event.site,
        ts=event.ts_ms / 1000,  # JSON input formats read DateTime64 from seconds with a fraction
        received_at=request.received_at_ms / 1000,
        event_id=event.event_id,
        name=event.name,
        session_id=event.session,
        customer_id=event.customer_id,
        props=event.props,
        transaction_id=event.transaction_id,
        value=event.value,
        currency=event.currency,
    )
    items = event.items
    row["items.item_id"] = [i[0] for i in items]
    row["items.item_name"] = [i[1] for i in items]
    row["items.item_category"] = [i[2] for i in items]
    row["items.price"] = [i[3] for i in items]
    row["items.quantity"] = [i[4] for i in items]
    assert len(row) == len(COLUMN_NAMES), sorted(set(COLUMN_NAMES) ^ set(row))
    return orjson.dumps(list(map(row.__getitem__, COLUMN_NAMES))) + b"\n"
