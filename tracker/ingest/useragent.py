"""User agent → bot verdict and browser/os/device, cached because shops see few distinct agents."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from crawlerdetect import CrawlerDetect
from ua_parser import parse

_crawlers = CrawlerDetect()


@dataclass(frozen=True)
class Agent:
    is_bot: bool
    browser: str
    browser_version: str
    os: str
    device: str


@lru_cache(maxsize=8192)
def describe(user_agent: str) -> Agent:
    if not user_agent or _crawlers.isCrawler(user_agent):
        return Agent(True, "", "", "", "")
    parsed = parse(user_agent)
    browser = parsed.user_agent.family if parsed.user_agent else "Other"
    version = (parsed.user_agent.major or "") if parsed.user_agent else ""
    os_family = parsed.os.family if parsed.os else "Other"
    return Agent(False, browser, version, os_family, _device_type(user_agent, os_family))


def _device_type(user_agent: str, os_family: str) -> str:
    if "iPad" in user_agent or "Tablet" in user_agent or (os_family == "Android" and "Mobile" not in user_agent):
        return "tablet"
    if os_family in ("iOS", "Android") or "Mobile" in user_agent:
        return "mobile"
    return "desktop"
