"""User agent → browser/os/device, or None for a bot; cached because shops see few distinct agents."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from crawlerdetect import CrawlerDetect
from ua_parser import parse

_crawlers = CrawlerDetect()


class Agent(NamedTuple):
    """The stored columns of the same names, in storage order (tracker/events.py)."""

    browser: str
    browser_version: str
    os: str
    device: str


@lru_cache(maxsize=8192)
def describe(user_agent: str) -> Agent | None:
    """None for a bot (or no user agent at all)."""
    if not user_agent or _crawlers.isCrawler(user_agent):
        return None
    parsed = parse(user_agent)
    browser = parsed.user_agent.family if parsed.user_agent else "Other"
    version = (parsed.user_agent.major or "") if parsed.user_agent else ""
    os_family = parsed.os.family if parsed.os else "Other"
    return Agent(browser, version, os_family, _device_type(user_agent, os_family))


def _device_type(user_agent: str, os_family: str) -> str:
    if "iPad" in user_agent or "Tablet" in user_agent or (os_family == "Android" and "Mobile" not in user_agent):
        return "tablet"
    if os_family in ("iOS", "Android") or "Mobile" in user_agent:
        return "mobile"
    return "desktop"
