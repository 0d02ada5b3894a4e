"""Sites that may send events: stored in ClickHouse, cached in each worker and reloaded periodically."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


@dataclass
class SiteCache:
    """The worker's view of the sites table; `refresh` is called by a background task."""

    sites: dict[str, Site] = field(default_factory=dict)
    loaded_at: float = 0.0

    def get(self, site_id: str) -> Site | None:
        return self.sites.get(site_id)

    def refresh(self, client) -> None:
        self.sites = {s.site: s for s in list_sites(client)}
        self.loaded_at = time.monotonic()
