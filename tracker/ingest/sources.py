"""Traffic source from UTM parameters, click ids and the referrer: source, medium, campaign."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

SEARCH_ENGINES = {
    "google": "Google", "bing": "Bing", "duckduckgo": "DuckDuckGo", "yahoo": "Yahoo", "baidu": "Baidu",
    "yandex": "Yandex", "ecosia": "Ecosia", "qwant": "Qwant", "startpage": "Startpage", "search.brave": "Brave",
}
SOCIAL_NETWORKS = {
    "facebook.com": "Facebook", "fb.com": "Facebook", "instagram.com": "Instagram", "t.co": "Twitter",
    "twitter.com": "Twitter", "x.com": "Twitter", "linkedin.com": "LinkedIn", "lnkd.in": "LinkedIn",
    "pinterest.com": "Pinterest", "reddit.com": "Reddit", "youtube.com": "YouTube", "tiktok.com": "TikTok",
    "threads.net": "Threads", "bsky.app": "Bluesky",
}
# Click ids that mean a paid ad click even without UTM tags.
CLICK_IDS = {"gclid": ("Google", "cpc"), "msclkid": ("Bing", "cpc"), "fbclid": ("Facebook", "paid_social")}


@dataclass(frozen=True)
class Source:
    source: str = "direct"
    medium: str = "none"
    campaign: str = ""
    term: str = ""
    content: str = ""


def strip_www(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


def classify(query: str, referrer_host: str) -> Source:
    params = dict(parse_qsl(query, keep_blank_values=False)) if query else {}
    campaign = params.get("utm_campaign", "")[:256]
    term = params.get("utm_term", "")[:256]
    content = params.get("utm_content", "")[:256]
    if "utm_source" in params:
        medium = params.get("utm_medium", "")[:64].lower() or ("referral" if referrer_host else "none")
        return Source(params["utm_source"][:128].lower(), medium, campaign, term, content)
    for click_id, (source, medium) in CLICK_IDS.items():
        if click_id in params:
            return Source(source, medium, campaign, term, content)
    if not referrer_host:
        return Source("direct", "none", campaign, term, content)
    host = strip_www(referrer_host)
    social = SOCIAL_NETWORKS.get(host) or SOCIAL_NETWORKS.get(host.split(".", 1)[-1])
    if social:
        return Source(social, "social", campaign, term, content)
    for marker, name in SEARCH_ENGINES.items():
        if host.startswith(marker + ".") or f".{marker}." in f".{host}":
            return Source(name, "organic", campaign, term, content)
    return Source(host, "referral", campaign, term, content)
