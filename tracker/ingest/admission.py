"""Who may send: the site check and the rate limits, as named steps with their reject reasons.

    check_sites   each event's site exists and allows the request's Origin, or   reject: unknown_site / origin / key
                  is the site of the request's ingest key
    limit         token buckets per client IP and per site (ratelimit.py)       refuse: rate_limited
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from tracker import metrics
from tracker.errors import FieldError
from tracker.ingest.event import Event
from tracker.ingest.ratelimit import RateLimiter
from tracker.ingest.refusal import Refused
from tracker.sites import Site, SiteCache, SitesUnavailable

if TYPE_CHECKING:
    from tracker.ingest.intake import Validated

UNKNOWN_SITE = "unknown site"


async def site_verdict(sites: SiteCache, site_id: str, origin: str | None, arrived: float,
                       key_site: str | None = None) -> str | None:
    """None if `site_id` may send events from `origin` (or with a key of `key_site`), else the reason it may not."""
    try:
        site = await sites.lookup(site_id, arrived)
    except SitesUnavailable:
        # Not "unknown site": the site may have been added a moment ago. The snippet retries a 503.
        raise Refused("site_list_unavailable", f"site {site_id[:64]!r} is not in this worker's site list and the list "
                      "could not be reloaded just now; retry shortly", retry_after_s=1) from None
    return verdict(site, site_id, origin, key_site)


def verdict(site: Site | None, site_id: str, origin: str | None, key_site: str | None) -> str | None:
    if site is None:
        return UNKNOWN_SITE
    if key_site is not None:
        return None if key_site == site_id else "the ingest key is for another site"
    if not site.allows_origin(origin):
        return f"origin {origin[:200]} is not allowed to send events for this site"
    return None


async def check_sites(sites: SiteCache, batch: Validated, origin: str | None, arrived: float,
                      key_site: str | None = None) -> None:
    """Keep the events whose site may send; the others join `batch.rejected`. One lookup per distinct site.

    arrived: when the request came in (time.monotonic()); an unknown site waits for a list loaded since."""
    site_ids = {e.site for e in batch.events}
    cached = sites.sites
    if all(site_id in cached for site_id in site_ids):  # the common case, answered without awaiting
        verdicts = {site_id: verdict(cached[site_id], site_id, origin, key_site) for site_id in site_ids}
    else:
        verdicts = {site_id: await site_verdict(sites, site_id, origin, arrived, key_site) for site_id in site_ids}
    if not any(verdicts.values()):
        return
    kept = []
    for position, (event, index) in enumerate(zip(batch.events, batch.indexes)):
        reason = verdicts[event.site]
        if reason is None:
            kept.append(position)
        else:
            batch.rejected.append({"index": index, "fields": [{"path": f"events[{index}].site", "reason": reason}]})
            metrics.EVENTS_REJECTED.labels("unknown_site" if reason == UNKNOWN_SITE else "invalid").inc()
    batch.rejected.sort(key=lambda r: r["index"])
    batch.keep(kept)


def limit(limiter: RateLimiter, key: str, cost: int, who: str) -> None:
    wait = limiter.take(key, cost)
    if wait:
        metrics.EVENTS_REJECTED.labels("rate_limited").inc(cost)
        raise Refused("rate_limited", f"{who} sends events faster than allowed; retry later",
                      retry_after_s=max(1, math.ceil(wait)))


def limit_sites(limiter: RateLimiter, events: list[Event]) -> None:
    if not limiter.enabled:
        return
    per_site: dict[str, int] = {}
    for event in events:
        per_site[event.site] = per_site.get(event.site, 0) + 1
    for site_id, n in per_site.items():
        limit(limiter, site_id, n, f"site {site_id}")


def rejected_fields(rejected: list[dict]) -> list[FieldError]:
    return [FieldError(**f) for r in rejected for f in r["fields"]]
