"""Sites that may send events: stored in ClickHouse, cached in each worker, reloaded periodically and on unknown ids."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Awaitable, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracker.reloads import ReloadFailed, SharedReload

SITE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Site:
    site: str
    name: str = ""
    allowed_origins: tuple[str, ...] = ()
    timezone: str = "UTC"

    def allows_origin(self, origin: str | None) -> bool:
        # No list: any origin. A request without Origin (server-to-server, curl) is not a browser's.
        return not self.allowed_origins or origin is None or origin in self.allowed_origins


def check_site_id(site: str) -> str:
    if not SITE_ID.match(site):
        raise ValueError("site id must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit")
    return site


def check_timezone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}") from None
    return tz


def add_site(client, site: Site) -> None:
    check_site_id(site.site)
    check_timezone(site.timezone)
    client.insert(
        "sites",
        [[site.site, site.name, list(site.allowed_origins), site.timezone, time.time_ns()]],
        column_names=["site", "name", "allowed_origins", "timezone", "version"],
    )


def list_sites(client) -> list[Site]:
    rows = client.query(
        "SELECT site, name, allowed_origins, timezone FROM sites FINAL WHERE deleted = 0 ORDER BY site"
    ).result_rows
    return [Site(r[0], r[1], tuple(r[2]), r[3]) for r in rows]


def get_site(client, site_id: str) -> Site | None:
    return next((s for s in list_sites(client) if s.site == site_id), None)


class SitesUnavailable(RuntimeError):
    """A site id is not in the worker's list, and no list loaded after the request arrived could be had in time."""


# However many requests carry unknown site ids, a worker reloads the list at most once a second.
RELOAD_GAP_S = 1.0
# How long a request with an unknown site id waits for ClickHouse once its reload has begun,
# before it is told to retry.
LOOKUP_WAIT_S = 0.5


class SiteCache:
    """The worker's view of the sites table, reloaded every TRACKER_SITES_REFRESH_S and whenever a
    request names a site id the worker does not know, so `site add` works at once.

    A request is told `unknown site` (400, not retried by the snippet) only when a list whose load
    began after the request arrived lacks the site. Such a request waits for the next reload (at
    most RELOAD_GAP_S away) and then at most LOOKUP_WAIT_S for ClickHouse; if the list does not
    arrive by then (ClickHouse hung or down), `lookup` raises SitesUnavailable and the request gets
    a 503 that clients retry: an event for a site that exists is never refused for good. One
    reload serves every request waiting for it.
    """

    def __init__(self, load: Callable[[], Awaitable[list[Site]]]) -> None:
        self._load = load  # runs the blocking query off the event loop, with its own deadline
        self.sites: dict[str, Site] = {}
        self._reloads = SharedReload(self._reload, RELOAD_GAP_S, "site list")

    def get(self, site_id: str) -> Site | None:
        return self.sites.get(site_id)

    async def lookup(self, site_id: str, arrived: float | None = None) -> Site | None:
        """The site, reloading the list first if the id is unknown; SitesUnavailable if that cannot be done in time.

        arrived: when the request came in (time.monotonic(), default now). A list loaded since then
        answers for all of the request's events, so a batch of events for an unknown site costs one
        reload, not one per event."""
        site = self.sites.get(site_id)
        if site is None and SITE_ID.match(site_id):  # an id `site add` refuses cannot be in a reload
            await self._loaded_since(time.monotonic() if arrived is None else arrived, LOOKUP_WAIT_S)
            site = self.sites.get(site_id)
        return site

    async def refresh(self, wait_s: float = 30.0) -> None:
        """Reload now (or join the reload under way); SitesUnavailable if it fails."""
        await self._loaded_since(time.monotonic(), wait_s)

    async def _loaded_since(self, since: float, wait_s: float) -> None:
        try:
            await self._reloads.loaded_since(since, wait_s)
        except ReloadFailed as exc:
            raise SitesUnavailable(str(exc)) from None

    async def _reload(self) -> None:
        self.sites = {s.site: s for s in await self._load()}
