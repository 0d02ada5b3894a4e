"""The named enrichment steps. Each works on what it can share: the request, a cached page, one event.

    bot_filter   per request: the user agent, parsed once per distinct agent (useragent.py)
    shoppers     a backend's request (ingest key): its events grouped by the shopper's IP and
                 User-Agent they carry, each group then passes the steps as a request of its own
    dedupe       per request: resent event_ids, within the request and acknowledged before
    referrer     per event, cached per (page URL, referrer) pair: spam, source, UTM tags, path
    visitor_id   per shop's visitor id (cached across requests), else once per site and request
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlsplit

from tracker.dedupe import RecentIds
from tracker.events import row_encoder
from tracker.ingest import sources, useragent
from tracker.ingest.event import Event
from tracker.ingest.salts import DailySalts
from tracker.ingest.shared_salts import SharedSalts

# Well-known referrer spam domains; extend with TRACKER_SPAM_REFERRERS.
SPAM_REFERRERS = frozenset({"semalt.com", "buttons-for-website.com", "darodar.com", "best-seo-offer.com", "ilovevitaly.com"})


@dataclass
class RequestInfo:
    """What one HTTP request tells about all its events."""

    ip: str
    user_agent: str
    received_at_ms: int
    origin: str | None = None
    key: str | None = None  # the ingest key the request carried (Authorization: Bearer)
    key_site: str | None = None  # its site once authenticated: the request is a shop backend's


# A backend's event without the shopper's user_agent: kept (a backend's own agent is no browser),
# its device columns left empty.
UNKNOWN_AGENT = useragent.Agent("", "", "", "")


class Page(NamedTuple):
    """The stored columns of the same names, in storage order (tracker/events.py)."""

    url: str
    hostname: str
    path: str
    referrer: str
    referrer_host: str
    source: str
    medium: str
    campaign: str
    utm_term: str
    utm_content: str


encode_page = row_encoder(Page._fields)


def bot_filter(request: RequestInfo) -> useragent.Agent | None:
    """The agent's columns, or None: a bot's events are dropped."""
    return useragent.describe(request.user_agent)


def server_bot_filter(request: RequestInfo) -> useragent.Agent | None:
    """A backend's group of events: the shopper's agent if it sent one (None for a bot's), else unknown."""
    return useragent.describe(request.user_agent) if request.user_agent else UNKNOWN_AGENT


def shoppers(events: list[Event], keys: list[int | None],
             request: RequestInfo) -> dict[tuple[str, str], tuple[list[Event], list[int | None]]]:
    """A backend's events by (IP, User-Agent) of the shopper: the fields sent, else the request's IP and no agent."""
    groups: dict[tuple[str, str], tuple[list[Event], list[int | None]]] = {}
    for event, key in zip(events, keys):
        group = groups.setdefault((event.client_ip or request.ip, event.user_agent), ([], []))
        group[0].append(event)
        group[1].append(key)
    return groups


def dedupe(events: list[Event], keys: list[int | None], recent: RecentIds,
           dropped: dict[str, int]) -> tuple[list[Event], list[int | None]]:
    """The events that are no resend, each with its key (None: we chose its id, so it cannot be a resend)."""
    wanted = set(keys)
    wanted.discard(None)
    known = recent.known(wanted)
    if not known and len(wanted) == len(keys) - keys.count(None):  # no resend, no key twice in the request
        return events, keys
    kept, kept_keys, seen = [], [], set()
    for event, key in zip(events, keys):
        if key is not None and (key in known or key in seen):
            dropped["duplicate"] = dropped.get("duplicate", 0) + 1
            continue
        seen.add(key)
        kept.append(event)
        kept_keys.append(key)
    return kept, kept_keys


def make_referrer(spam: frozenset[str]):
    @lru_cache(maxsize=16384)  # a shop's pages and referrers repeat; parsing them is all of this step
    def referrer(page_url: str, referrer_url: str) -> bytes | None:
        """The page's columns, encoded for a row (tracker/events.py row_encoder), or None when the referrer is spam."""
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
        return encode_page(Page(url, hostname, path, referrer_url if ref_host else "", ref_host,
                               src.source, src.medium, src.campaign, src.term, src.content))

    return referrer


# Shop-provided visitor ids hashed lately. Their hash never changes (no daily salt), and a
# visitor's events come in several requests, so most are hashed once, not once per request.
SHOP_VISITORS_CACHED = 65_536


class VisitorIds:
    """The stored visitor_id: a keyed hash of the shop's visitor id, else of the site, IP and user agent."""

    def __init__(self, salts: SharedSalts | DailySalts) -> None:
        self.salts = salts
        # Keyed hash states, copied per id: setting up the key is a fifth of a keyed hash's cost.
        self._shop_key = _keyed(b"visitor")
        self._salt, self._salt_key = b"", _keyed(b"")
        # The cache of shop visitor ids: two generations of plain str -> int dicts, not an
        # lru_cache. The garbage collector does not track such dicts, and they take half the
        # memory (9 MB against 17 MB at the cap, with 20-character ids, measured).
        self._recent: dict[str, int] = {}
        self._older: dict[str, int] = {}

    def shop(self, site: str, visitor: str) -> int:
        """A shop-provided id (sent only with consent) is stable across days by design."""
        material = f"{site}\x00{visitor}"
        found = self._recent.get(material)
        if found is None:
            found = self._older.get(material)
            if found is None:
                found = _digest(self._shop_key, material.encode())
            if len(self._recent) >= SHOP_VISITORS_CACHED // 2:  # the older half is forgotten
                self._older, self._recent = self._recent, {}
            self._recent[material] = found
        return found

    def anonymous(self, site: str, request: RequestInfo) -> int:
        """Cookieless: with the day's salt, so it cannot be followed past midnight."""
        salt = self.salts.current(request.received_at_ms / 1000)
        if salt != self._salt:
            self._salt, self._salt_key = salt, _keyed(salt)
        return _digest(self._salt_key, f"{site}\x00{request.ip}\x00{request.user_agent}".encode())


def _keyed(key: bytes):
    return hashlib.blake2b(key=key, digest_size=8)


def _digest(keyed, material: bytes) -> int:
    """The same as blake2b(material, key=..., digest_size=8), little-endian: ids stay the same across versions."""
    state = keyed.copy()
    state.update(material)
    return int.from_bytes(state.digest(), "little")
