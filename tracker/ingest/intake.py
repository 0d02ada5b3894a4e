"""One ingest request, from its body to durable rows: the named steps in order, each with its reasons.

    authenticate a backend's ingest key (keys.py)               refuse: unauthorized, keys_unavailable
    read         decode + validate: the compiled fast path (wire.py), else orjson and the
                 detailed validator (envelope.py, payload.py)   refuse: invalid_json, invalid_events,
                                                                too_many_events, no_events; reject: invalid
    limit        the client's rate limit (admission.py); a       refuse: rate_limited
                 backend with a key has none, a browser may not
                 send client_ip/user_agent (keys.py)             refuse: unauthorized
    check_sites  site exists, allows the Origin (admission.py)  reject: unknown_site / invalid;
                 an unknown id reloads the site list first      refuse: site_list_unavailable
    limit_sites  each site's rate limit (admission.py)          refuse: rate_limited
    pipeline     enrichment steps (pipeline.py, steps.py)       drop: bot, duplicate, referrer_spam
    spool        append + fsync; then remember the event_ids    refuse: spool_full

A refusal (Refused) answers the whole request; a rejected event is listed in the 202 by index;
a dropped one is counted by reason. tracker/http/ingest.py turns this into HTTP.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from tracker import metrics
from tracker.config import Settings
from tracker.dedupe import transaction_key
from tracker.ingest import admission, envelope, keys, wire
from tracker.ingest.event import Event
from tracker.ingest.payload import Clock, parse_event
from tracker.ingest.pipeline import Pipeline
from tracker.ingest.ratelimit import RateLimiter
from tracker.ingest.refusal import Refused
from tracker.ingest.steps import RequestInfo
from tracker.sites import SiteCache
from tracker.spool import Spool, SpoolFull
from tracker.tally import TALLY
from tracker.tokens import TokenCache


@dataclass
class Validated:
    """The valid events of a request, and what it held besides."""

    events: list[Event]
    keys: list[int | None]  # dedupe keys of the event_ids the client chose (None: we chose it, no resend)
    indexes: list[int]  # each event's position in the request
    received: int  # how many events the request held
    rejected: list[dict] = field(default_factory=list)  # {"index": i, "fields": [{"path", "reason"}]}

    def keep(self, positions: list[int]) -> None:
        self.events = [self.events[i] for i in positions]
        self.keys = [self.keys[i] for i in positions]
        self.indexes = [self.indexes[i] for i in positions]


@dataclass
class Receipt:
    accepted: int
    dropped: dict[str, int]
    rejected: list[dict]


class Intake:
    def __init__(self, settings: Settings, sites: SiteCache, pipeline: Pipeline, spool: Spool,
                 ip_limiter: RateLimiter, site_limiter: RateLimiter, ingest_keys: TokenCache,
                 look_up_key: Callable[[str], Awaitable[str | None]]) -> None:
        self.reader = Reader(settings.max_events_per_request, settings.backfill_horizon_days * 86_400_000)
        self.retry_after_s = settings.spool_retry_after_s
        self.sites = sites
        self.pipeline = pipeline
        self.spool = spool
        self.ip_limiter = ip_limiter
        self.site_limiter = site_limiter
        self.ingest_keys = ingest_keys
        self.look_up_key = look_up_key  # reloads the ingest keys off the event loop

    async def accept(self, body: bytes, request: RequestInfo) -> Receipt:
        arrived = time.monotonic()  # site lists loaded since then answer for every event here
        if request.key is not None:  # a shop backend's request (a browser's has no key: nothing to await)
            request.key_site = await keys.authenticate(self.ingest_keys, request.key, self.look_up_key)
        return await self.store(self.reader.read(body, request.received_at_ms), request, arrived)

    async def store(self, batch: Validated, request: RequestInfo, arrived: float) -> Receipt:
        """The steps from `limit` on, for a batch read by `accept` or validated elsewhere (the GA4
        Measurement Protocol translator, tracker/integrations/ga4mp.py): the same limits, dedupe and spool."""
        TALLY.inc(metrics.EVENTS_RECEIVED, batch.received)
        if request.key_site is None:
            admission.limit(self.ip_limiter, request.ip, batch.received, "this client")
            keys.refuse_server_fields(batch.events, batch.indexes)
        await admission.check_sites(self.sites, batch, request.origin, arrived, request.key_site)
        if not batch.events:
            raise Refused("invalid_events", "no event in the request is valid", admission.rejected_fields(batch.rejected))
        admission.limit_sites(self.site_limiter, batch.events)
        outcome = self.pipeline.run(batch.events, batch.keys, request)
        for reason, n in outcome.dropped.items():
            TALLY.inc(metrics.EVENTS_DROPPED.labels(reason), n)
        try:
            await self.spool.append(outcome.lines)
        except SpoolFull:
            raise Refused("spool_full", "the tracker cannot store more events right now; retry later",
                          retry_after_s=self.retry_after_s) from None
        self.pipeline.recent.remember_keys(outcome.keys)
        TALLY.inc(metrics.EVENTS_ACCEPTED, len(outcome.lines))
        return Receipt(len(outcome.lines), outcome.dropped, batch.rejected)


class Reader:
    """Decodes and validates request bodies: the `read` step."""

    def __init__(self, max_events: int, horizon_ms: int) -> None:
        self.max_events = max_events
        self.horizon_ms = horizon_ms
        self.fast = wire.FastDecoder(max_events)

    def read(self, body: bytes, now_ms: int) -> Validated:
        """Decode and validate: in one compiled pass if the request is valid, else in detail."""
        decoded = self.fast.decode(body)
        if decoded is not None:
            valid = wire.finish(decoded, now_ms, self.horizon_ms)
            if valid is not None:
                n = len(valid.events)
                return Validated(valid.events, dedupe_keys(valid.events, valid.chosen_ids), list(range(n)), n)
        return self.read_in_detail(body, now_ms)

    def read_in_detail(self, body: bytes, now_ms: int) -> Validated:
        raw = envelope.parse_body(body, self.max_events)
        clock = Clock(now_ms, self.horizon_ms, raw.sent_at_ms)
        batch = Validated([], [], [], len(raw.events))
        chosen = []
        for index, item in enumerate(raw.events):
            parsed = parse_event(item, clock, f"events[{index}]", default_site=raw.site)
            if isinstance(parsed, Event):
                batch.events.append(parsed)
                batch.indexes.append(index)
                chosen.append(item.get("event_id") is not None)
            else:
                batch.rejected.append({"index": index, "fields": [e.as_dict() for e in parsed]})
                metrics.EVENTS_REJECTED.labels("invalid").inc()
        batch.keys = dedupe_keys(batch.events, chosen)
        return batch


def dedupe_keys(events: list[Event], chosen: list[bool]) -> list[int | None]:
    """A purchase's key is its (site, transaction_id): the browser's and the backend's count once.

    Any other event's is key_of(event_id), inlined (`.int >> 64`): a validated event_id is a UUID."""
    return [transaction_key(e.site, e.transaction_id) if e.transaction_id and e.name == "purchase"
            else e.event_id.int >> 64 if c else None for e, c in zip(events, chosen)]
