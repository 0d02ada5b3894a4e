"""The named enrichment steps. Each takes (event, request, row) and returns a drop reason or None."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from tracker.dedupe import RecentIds
from tracker.ingest import sources, useragent
from tracker.ingest.payload import Event
from tracker.ingest.salts import DailySalts

# Well-known referrer spam domains; extend with TRACKER_SPAM_REFERRERS.
SPAM_REFERRERS = frozenset({"semalt.com", "buttons-for-website.com", "darodar.com", "best-seo-offer.com", "ilovevitaly.com"})


@dataclass
class RequestInfo:
    """What one HTTP request tells about all its events."""

    ip: str
    user_agent: str
    received_at_ms: int
    origin: str | None = None


def bot_filter(event: Event, request: RequestInfo, row: dict) -> str | None:
    agent = useragent.describe(request.user_agent)
    if agent.is_bot:
        return "bot"
    row.update(browser=agent.browser, browser_version=agent.browser_version, os=agent.os, device=agent.device)
    return None


def make_dedupe(recent: RecentIds):
    # Events without a client event_id got a fresh one from us: they cannot be resends.
    def dedupe(event: Event, request: RequestInfo, row: dict) -> str | None:
        return "duplicate" if event.client_event_id and event.event_id in recent else None

    return dedupe


def make_referrer(spam: frozenset[str]):
    @lru_cache(maxsize=16384)  # a shop's pages and referrers repeat; parsing them is most of this step
    def describe(page_url: str, referrer_url: str) -> dict | None:
        page = urlsplit(page_url) if page_url else None
        hostname = (page.hostname or "") if page else ""
        ref = urlsplit(referrer_url) if referrer_url else None
        ref_host = (ref.hostname or "") if ref else ""
        if ref_host and sources.strip_www(ref_host) in spam:
            return None
        if ref_host and sources.strip_www(ref_host) == sources.strip_www(hostname):
            ref_host = ""  # a self-referral is navigation inside the shop, not a source
        src = sources.classify(page.query if page else "", ref_host)
        url, path = page_url, (page.path or "/") if page else ""
        if page and page.fragment.startswith("/"):
            path += "#" + page.fragment  # a hash-routed single-page shop: the fragment is the page
        elif page and page.fragment:
            url = url.split("#", 1)[0]
        return dict(
            url=url,
            hostname=hostname,
            path=path,
            referrer=referrer_url if ref_host else "",
            referrer_host=ref_host,
            source=src.source,
            medium=src.medium,
            campaign=src.campaign,
            utm_term=src.term,
            utm_content=src.content,
        )

    def referrer(event: Event, request: RequestInfo, row: dict) -> str | None:
        fields = describe(event.url, event.referrer)
        if fields is None:
            return "referrer_spam"
        row.update(fields)
        return None

    return referrer


def make_visitor_id(salts: DailySalts):
    def visitor_id(event: Event, request: RequestInfo, row: dict) -> str | None:
        if event.visitor:
            # A shop-provided id (sent only with consent) is stable across days by design.
            material, key = f"{event.site}\x00{event.visitor}".encode(), b"visitor"
        else:
            material = f"{event.site}\x00{request.ip}\x00{request.user_agent}".encode()
            key = salts.current(request.received_at_ms / 1000)
        digest = hashlib.blake2b(material, key=key, digest_size=8).digest()
        row["visitor_id"] = int.from_bytes(digest, "little")
        return None

    return visitor_id
