import hashlib

from tests.rowbinary_support import decode_row
from tracker.ingest import sources, steps, useragent
from tracker.ingest.payload import Clock, parse_event
from tracker.ingest.intake import dedupe_keys
from tracker.ingest.pipeline import Pipeline
from tracker.ingest.salts import DailySalts
from tracker.dedupe import RecentIds
from tracker.ingest.steps import RequestInfo

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
NOW = 1_790_000_000_000


def run(tmp_path, raws, ua=CHROME, ip="203.0.113.9", now=NOW):
    pipeline = Pipeline(DailySalts(tmp_path / "salts"), RecentIds(tmp_path, tmp_path, 3600, 100), frozenset({"spam.example"}))
    events = [parse_event(r, Clock(now, 10**12)) for r in raws]
    keys = dedupe_keys(events, [r.get("event_id") is not None for r in raws])
    outcome = pipeline.run(events, keys, RequestInfo(ip, ua, now))
    return [decode_row(line) for line in outcome.lines], outcome.dropped


def test_source_classification():
    assert sources.classify("utm_source=Newsletter&utm_medium=Email", "") == sources.Source("newsletter", "email")
    assert sources.classify("gclid=abc", "") == sources.Source("Google", "cpc")
    assert sources.classify("", "www.google.de") == sources.Source("Google", "organic")
    assert sources.classify("", "l.facebook.com") == sources.Source("Facebook", "social")
    assert sources.classify("", "blog.example.org") == sources.Source("blog.example.org", "referral")
    assert sources.classify("", "") == sources.Source("direct", "none")


def test_devices():
    assert useragent.describe(CHROME).device == "desktop"
    assert useragent.describe(IPHONE).device == "mobile"
    assert useragent.describe(IPHONE).os == "iOS"
    assert useragent.describe(GOOGLEBOT) is None  # a bot


def test_bots_are_dropped_with_a_reason(tmp_path):
    rows, dropped = run(tmp_path, [{"site": "s", "name": "page_view"}], ua=GOOGLEBOT)
    assert rows == [] and dropped == {"bot": 1}


def test_referrer_spam_dropped_and_self_referral_is_not_a_source(tmp_path):
    rows, dropped = run(
        tmp_path,
        [
            {"site": "s", "name": "page_view", "url": "https://shop.example/a", "referrer": "https://spam.example/x"},
            {"site": "s", "name": "page_view", "url": "https://shop.example/b", "referrer": "https://www.shop.example/a"},
        ],
    )
    assert dropped == {"referrer_spam": 1}
    assert (rows[0]["source"], rows[0]["medium"], rows[0]["referrer"]) == ("direct", "none", "")


def test_duplicate_event_ids_in_one_request_count_once(tmp_path):
    event = {"site": "s", "name": "page_view", "event_id": "6f1c1e1e-8a47-4c6a-9d7b-0c2a8e7c1b11"}
    rows, dropped = run(tmp_path, [event, event])
    assert len(rows) == 1 and dropped == {"duplicate": 1}


def test_visitor_id_is_stable_within_a_day_and_changes_with_the_salt(tmp_path):
    first, _ = run(tmp_path, [{"site": "s", "name": "a"}])
    again, _ = run(tmp_path, [{"site": "s", "name": "b"}])
    other_ip, _ = run(tmp_path, [{"site": "s", "name": "b"}], ip="198.51.100.1")
    next_day, _ = run(tmp_path, [{"site": "s", "name": "c"}], now=NOW + 86_400_000)
    assert first[0]["visitor_id"] == again[0]["visitor_id"]
    assert other_ip[0]["visitor_id"] != first[0]["visitor_id"]
    assert next_day[0]["visitor_id"] != first[0]["visitor_id"]
    # Only the current day's salt is kept, so old visitor ids cannot be recomputed.
    assert [p.name for p in (tmp_path / "salts").iterdir()] == ["2026-09-22"]


def test_visitor_ids_are_the_keyed_blake2b_of_earlier_versions(tmp_path):
    # Stored ids must not change with an upgrade, or every visitor would count twice that day.
    def keyed(material: bytes, key: bytes) -> int:
        return int.from_bytes(hashlib.blake2b(material, key=key, digest_size=8).digest(), "little")

    salts = DailySalts(tmp_path / "salts")
    rows, _ = run(tmp_path, [{"site": "s", "name": "a"}, {"site": "s", "name": "b", "visitor": "v-1"}])
    assert rows[0]["visitor_id"] == keyed(f"s\x00203.0.113.9\x00{CHROME}".encode(), salts.current(NOW / 1000))
    assert rows[1]["visitor_id"] == keyed(b"s\x00v-1", b"visitor")


def test_the_shop_visitor_cache_stays_bounded_and_answers_the_same_ids(tmp_path, monkeypatch):
    monkeypatch.setattr(steps, "SHOP_VISITORS_CACHED", 8)
    visitor_ids = steps.VisitorIds(DailySalts(tmp_path / "salts"))
    first = [visitor_ids.shop("s", f"v{i}") for i in range(20)]
    assert len(visitor_ids._recent) + len(visitor_ids._older) <= 8
    assert [visitor_ids.shop("s", f"v{i}") for i in range(20)] == first  # forgotten ones hash the same again


def test_hash_routes_keep_their_fragment_and_anchors_do_not(tmp_path):
    rows, _ = run(
        tmp_path,
        [
            {"site": "s", "name": "page_view", "url": "https://shop.example/#/cart"},
            {"site": "s", "name": "page_view", "url": "https://shop.example/faq#shipping"},
        ],
    )
    assert (rows[0]["path"], rows[1]["path"], rows[1]["url"]) == ("/#/cart", "/faq", "https://shop.example/faq")
