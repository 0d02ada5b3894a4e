"""The ingest pipeline: validated events pass the named steps (steps.py), then become stored rows.

A step may drop an event with a reason (counted in tracker_events_dropped_total{reason}). Rows are
encoded here, once, in ClickHouse's RowBinary, and travel as bytes through the spool to an insert,
so the flusher does no per-row work. What can be done per request (the user agent, resend checks,
the anonymous visitor id) is done once per request. A row is assembled from encoded parts
(tracker/events.py): a page's columns are encoded once per (URL, referrer) pair and cached, a
browser's device columns once per distinct agent, and an event without commerce fields ends in a
constant; per event there is one encode of its own eight columns and one join.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache

from tracker import rowbinary
from tracker.dedupe import RecentIds
from tracker.events import row_encoder
from tracker.ingest import steps
from tracker.ingest.event import Event, Item
from tracker.ingest.salts import DailySalts
from tracker.ingest.shared_salts import SharedSalts
from tracker.ingest.steps import Page, RequestInfo
from tracker.ingest.useragent import Agent

# A row is these groups, concatenated in storage order (tests/ingest/test_pipeline.py checks it
# against tracker/events.py COLUMN_NAMES).
HEAD = ("site", "ts", "received_at", "event_id", "name", "visitor_id", "session_id", "customer_id")
TAIL = ("props", "transaction_id", "value", "currency", "coupon", "shipping", "tax",
        "items.item_id", "items.item_name", "items.item_category", "items.item_category2", "items.item_category3",
        "items.item_category4", "items.item_category5", "items.item_brand", "items.item_variant", "items.price",
        "items.quantity", "items.discount")
ROW_LAYOUT = (*HEAD, *Page._fields, *Agent._fields, *TAIL)
_NO_ITEMS = ((),) * 12
_PLAIN_TAIL = ({}, "", None, "", "", None, None)  # no props, transaction, value, currency, coupon, shipping, tax
encode_device = lru_cache(maxsize=1024)(row_encoder(Agent._fields))  # an Agent is a hashable named tuple
encode_tail = row_encoder(TAIL)
_PLAIN_END = encode_tail(_PLAIN_TAIL + _NO_ITEMS)

# HEAD, the columns encoded per event, written out here in their RowBinary types rather than
# through row_encoder: the generic encoder costs 3x as much for these eight (measured), while this
# costs as much as the JSON it replaced. tests/ingest/test_pipeline.py checks it against row_encoder(HEAD).
# ts and received_at are DateTime64(3) (milliseconds as Int64), event_id a UUID (two UInt64).
_TIMES_AND_ID = struct.Struct("<qqQQ").pack
_UINT64 = struct.Struct("<Q").pack
_LOW64 = (1 << 64) - 1
_EMPTY = rowbinary.string("")
_STRING = rowbinary.string
NAMES_CACHED = 4096  # encoded sites and event names: few, repeated by every event


def encode_row(site: bytes, ts: int, received: int, event_id, name: bytes, visitor: int, session: str, customer_id: str,
               page: bytes, end: bytes) -> bytes:
    """A row: HEAD's values in RowBinary (`site` and `name` already encoded), then the page's and the other encoded parts."""
    n = event_id.int
    return b"".join((site, _TIMES_AND_ID(ts, received, n >> 64, n & _LOW64), name, _UINT64(visitor),
                     _STRING(session) if session else _EMPTY, _STRING(customer_id) if customer_id else _EMPTY, page, end))


@dataclass
class Outcome:
    lines: list[bytes]
    keys: list[int]  # dedupe keys of the client-chosen event_ids among the kept events, to remember once durable
    dropped: dict[str, int]


class Pipeline:
    def __init__(self, salts: SharedSalts | DailySalts, recent: RecentIds, spam_referrers: frozenset[str]) -> None:
        self.recent = recent
        self.page = steps.make_referrer(steps.SPAM_REFERRERS | spam_referrers)
        self.visitor_ids = steps.VisitorIds(salts)
        self._names: dict[str, bytes] = {}  # site or event name -> its RowBinary string

    def run(self, events: list[Event], keys: list[int | None], request: RequestInfo) -> Outcome:
        """`keys`: each event's dedupe key, None where we chose its event_id."""
        if request.key_site is not None:
            return self._run_backend(events, keys, request)
        agent = steps.bot_filter(request)
        if agent is None:
            return Outcome([], [], {"bot": len(events)})
        dropped: dict[str, int] = {}
        events, keys = steps.dedupe(events, keys, self.recent, dropped)
        lines, kept_keys = self._encode(events, keys, request, agent, dropped)
        return Outcome(lines, kept_keys, dropped)

    def _run_backend(self, events: list[Event], keys: list[int | None], request: RequestInfo) -> Outcome:
        """A shop backend's request: each shopper's events as if that shopper had sent them."""
        dropped: dict[str, int] = {}
        events, keys = steps.dedupe(events, keys, self.recent, dropped)
        lines: list[bytes] = []
        kept_keys: list[int] = []
        for (ip, user_agent), (group, group_keys) in steps.shoppers(events, keys, request).items():
            # Built directly: dataclasses.replace costs as much as encoding the group's rows.
            shopper = RequestInfo(ip, user_agent, request.received_at_ms, request.origin, request.key, request.key_site)
            agent = steps.server_bot_filter(shopper)
            if agent is None:
                dropped["bot"] = dropped.get("bot", 0) + len(group)
                continue
            group_lines, group_kept = self._encode(group, group_keys, shopper, agent, dropped)
            lines += group_lines
            kept_keys += group_kept
        return Outcome(lines, kept_keys, dropped)

    def _encode(self, events: list[Event], keys: list[int | None], request: RequestInfo, agent: Agent,
                dropped: dict[str, int]) -> tuple[list[bytes], list[int]]:
        """The stored rows of one shopper's events (referrer and visitor id steps), and their kept keys."""
        received = request.received_at_ms
        # site -> the anonymous visitor id of this request's IP and user agent: one hash serves all
        # of a request's events, which mostly come from one browser.
        anonymous: dict[str, int] = {}
        lines, kept_keys = [], []
        device = encode_device(agent)
        plain_end = device + _PLAIN_END
        page_of, shop_visitor, anonymous_visitor = self.page, self.visitor_ids.shop, self.visitor_ids.anonymous
        names = self._names
        if len(names) > NAMES_CACHED:  # custom event names are the shop's to choose: bounded
            names.clear()
        for event, key in zip(events, keys):
            page = page_of(event.url, event.referrer)
            if page is None:
                dropped["referrer_spam"] = dropped.get("referrer_spam", 0) + 1
                continue
            site = event.site
            if event.visitor:
                visitor = shop_visitor(site, event.visitor)
            else:
                visitor = anonymous.get(site)
                if visitor is None:
                    visitor = anonymous[site] = anonymous_visitor(site, request)
            tail = (event.props, event.transaction_id, event.value, event.currency, event.coupon, event.shipping, event.tax)
            items = event.items
            if items:
                end = device + encode_tail(tail + _item_columns(items))
            elif tail == _PLAIN_TAIL:
                end = plain_end
            else:
                end = device + encode_tail(tail + _NO_ITEMS)
            site_bytes = names.get(site)
            if site_bytes is None:
                site_bytes = names[site] = _STRING(site)
            name = event.name
            name_bytes = names.get(name)
            if name_bytes is None:
                name_bytes = names[name] = _STRING(name)
            # The row's parts in storage order (ROW_LAYOUT): this event's own columns, then the page's and the rest.
            lines.append(encode_row(site_bytes, event.ts, received, event.event_id, name_bytes, visitor, event.session,
                                    event.customer_id, page, end))
            if key is not None:
                kept_keys.append(key)
        return lines, kept_keys


def _item_columns(items: list[Item]) -> tuple:
    return tuple(zip(*[(i.item_id, i.item_name, i.item_category, i.item_category2, i.item_category3, i.item_category4,
                        i.item_category5, i.item_brand, i.item_variant, i.price, i.quantity, i.discount) for i in items]))
