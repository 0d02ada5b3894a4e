"""The fast path (msgspec) must read every body exactly as the detailed validator does.

Reader.read takes the fast path and falls back to the detailed validator for what it does not
accept, so the fast path may decline anything; what it accepts must come out identical.
"""

import os

import msgspec
import orjson
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from tracker.dedupe import key_of
from tracker.ingest import wire
from tracker.ingest.intake import Reader
from tracker.ingest.refusal import Refused

NOW = 1_790_000_000_000
DAY = 86_400_000
READER = Reader(max_events=50, horizon_ms=30 * DAY)

hsettings.register_profile("default", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
hsettings.register_profile("chaos", max_examples=20_000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
hsettings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

texts = st.one_of(
    st.sampled_from(["", "demo", "page_view", "Add To Cart", "x\n", "EUR", "eur", "EURO", "sku-1", "a b", "é", "\x00"]),
    st.text(max_size=8), st.text(min_size=60, max_size=70), st.text(min_size=125, max_size=130),
    st.text(min_size=250, max_size=260), st.text(min_size=505, max_size=515),
)
urls = st.sampled_from([
    "https://shop.example/p?utm_source=news&utm_medium=Email", "HTTP://SHOP.example/#/cart", "http://x/faq#a",
    "android-app://com.app", "ftp://x", "https://www.google.com/", "https://semalt.com/", "hTTps://shop.example/a",
    "https://shop.example/" + "a" * 2040, "https://shop.example/" + "a" * 2030, " https://x/", "https:/x",
])
uuids = st.one_of(st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()), st.uuids().map(lambda u: u.hex),
                  st.uuids().map(lambda u: "{%s}" % u), st.sampled_from(["not-a-uuid", "6f1c1e1e-8a47-4c6a-9d7b-0c2a8e7c1b1"]))
times = st.one_of(
    st.integers(min_value=NOW - 40 * DAY, max_value=NOW + DAY), st.floats(min_value=NOW - 40 * DAY, max_value=NOW + DAY),
    st.sampled_from(["2026-09-21T14:13:20Z", "2026-09-21T14:13:20.5+02:00", "2026-09-21", "2026-09-21 14:13:20", "yesterday",
                     "2026-09-21T14:13:20Z" + " " * 30, -1, 10**14, 10**14 - 1, 0, True, 1e400 if False else 1.5]),
)
numbers = st.one_of(st.integers(min_value=-(2**65), max_value=2**65), st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from([0, -0.0, 1e12, 1e12 + 1, -1e12, 10**12, 2**63, 2**63 - 1, -(2**63), -(2**63) - 1, True, False]))
scalars = st.one_of(st.none(), texts, numbers, st.booleans())
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)), max_leaves=6)
props = st.one_of(st.dictionaries(st.one_of(texts, st.sampled_from(["plan", "", "k" * 65])), scalars, max_size=4), values,
                  st.dictionaries(st.sampled_from([f"k{i}" for i in range(40)]), st.just(1), min_size=29, max_size=32))
items = st.one_of(
    st.lists(st.fixed_dictionaries({}, optional={
        "item_id": st.one_of(texts, st.none(), numbers), "item_name": st.one_of(texts, st.none()),
        "item_category": texts, "price": st.one_of(numbers, st.none(), texts), "quantity": st.one_of(numbers, st.none()),
        "item_category3": st.one_of(texts, st.none(), numbers), "item_brand": texts, "item_variant": st.one_of(texts, st.none()),
        "discount": st.one_of(numbers, st.none(), texts), "colour": texts}), max_size=4),
    values,
)
FIELDS = {
    "site": st.one_of(st.sampled_from(["demo", "other", ""]), st.none(), texts, numbers),
    "name": st.one_of(st.sampled_from(["page_view", "purchase", "x.y:z-1 2", ""]), texts, st.none(), numbers),
    "url": st.one_of(urls, st.none(), texts, numbers), "referrer": st.one_of(urls, st.none(), texts, numbers),
    "ts": st.one_of(times, st.none(), texts), "sent_at": st.one_of(times, st.none(), texts),
    "event_id": st.one_of(uuids, st.none(), numbers), "visitor": st.one_of(texts, st.none(), numbers),
    "session": st.one_of(texts, st.none()), "customer_id": st.one_of(texts, st.none()), "props": props,
    "transaction_id": st.one_of(texts, st.none()), "value": st.one_of(numbers, st.none(), texts),
    "currency": st.one_of(st.sampled_from(["EUR", "eur", "", "EU", "EURO", "EU\n"]), st.none(), texts), "items": items,
    "coupon": st.one_of(texts, st.none(), numbers), "shipping": st.one_of(numbers, st.none(), texts),
    "tax": st.one_of(numbers, st.none(), texts),
    "client_ip": st.one_of(st.sampled_from(["203.0.113.7", "2001:db8::1", "::ffff:192.0.2.1", "1.2.3", "localhost"]),
                           st.none(), texts),
    "user_agent": st.one_of(st.sampled_from(["Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", ""]), st.none(), texts),
    "extra": scalars,
}
# Mostly valid events with one field at a time drawn from the whole range above: the fast path
# must accept many of them for this test to mean anything (test_the_corpus_reaches_the_fast_path).
valid_urls = st.sampled_from(["https://shop.example/p?utm_source=news&utm_medium=Email", "HTTP://SHOP.example/#/cart",
                              "http://x/faq#a", "https://www.google.com/", "android-app://com.app", ""])
recent = st.one_of(st.integers(min_value=NOW - 20 * DAY, max_value=NOW + DAY), st.sampled_from(["2026-09-21T14:13:20Z", 1.79e12]))
likely = st.fixed_dictionaries({"name": st.sampled_from(["page_view", "purchase", "view_item"]), "site": st.sampled_from(["demo", "other"])}, optional={
    "url": valid_urls.filter(lambda u: not u.startswith("android")), "referrer": valid_urls, "ts": recent,
    "event_id": st.uuids().map(str), "visitor": st.just("v1"),
    "props": st.dictionaries(st.sampled_from(["a", "b", "plan"]), st.one_of(st.text(max_size=5), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans()), max_size=3),
    "items": st.lists(st.fixed_dictionaries({"item_id": st.just("sku-1")}, optional={
        "quantity": st.integers(min_value=0, max_value=5), "item_brand": st.just("Woolly"), "item_category2": st.just("Wool"),
        "discount": st.floats(min_value=0, max_value=10)}), max_size=2),
    "transaction_id": st.just("T-1")}).flatmap(lambda e: st.one_of(st.just(e), st.fixed_dictionaries(
        {"value": st.floats(min_value=0, max_value=1e6), "currency": st.just("EUR")},
        optional={"shipping": st.floats(min_value=0, max_value=99), "tax": st.just(0), "coupon": st.just("SUMMER")},
    ).map(lambda money: {**e, **money})))
one_field = st.sampled_from(sorted(FIELDS)).flatmap(lambda key: FIELDS[key].map(lambda value: {key: value}))
events = st.one_of(likely, likely, likely.flatmap(lambda base: one_field.map(lambda extra: {**base, **extra})),
                   st.fixed_dictionaries({}, optional=FIELDS))
bodies = st.one_of(
    events, st.lists(events, max_size=6),
    st.fixed_dictionaries({"events": st.lists(events, max_size=6)},
                          optional={"site": st.one_of(st.sampled_from(["demo", ""]), st.none(), numbers),
                                    "sent_at": st.one_of(times, st.none(), texts)}),
    st.fixed_dictionaries({"events": st.lists(events, max_size=6)}, optional={"other": scalars}),
    values,
)


def outcome(read, body: bytes):
    """What a client would get from this read: the refusal, or the events as they would be stored."""
    try:
        batch = read(body, NOW)
    except Refused as refused:
        return ("refused", refused.reason, refused.message, [f.as_dict() for f in refused.fields])
    # Ids we chose are random (a purchase's key is its transaction's); a client's send time has been applied to ts.
    stored = [msgspec.structs.replace(e, sent_at=msgspec.UNSET, event_id=e.event_id if key == key_of(e.event_id) else None)
              for e, key in zip(batch.events, batch.keys)]
    return stored, batch.keys, batch.indexes, batch.received, batch.rejected


def encode(body) -> bytes:
    try:
        return orjson.dumps(body)
    except (TypeError, orjson.JSONEncodeError):  # integers beyond 64 bits: as text
        return repr(body).encode()


@given(body=bodies)
def test_fast_path_reads_every_body_as_the_detailed_validator_does(body):
    raw = encode(body)
    assert outcome(READER.read, raw) == outcome(READER.read_in_detail, raw)


def test_the_corpus_reaches_the_fast_path():
    seen = {"fast": 0, "all": 0}

    @hsettings(max_examples=300, database=None)
    @given(body=bodies)
    def count(body):
        decoded = READER.fast.decode(encode(body))
        seen["all"] += 1
        seen["fast"] += decoded is not None and wire.finish(decoded, NOW, 30 * DAY) is not None

    count()
    assert seen["fast"] >= seen["all"] // 5, seen


def test_what_the_snippet_sends_takes_the_fast_path():
    body = orjson.dumps({"site": "demo", "sent_at": NOW - 100, "events": [
        {"name": "page_view", "url": "https://shop.example/p/1?utm_source=news", "referrer": "https://www.google.com/",
         "ts": NOW - 5_000, "event_id": "6f1c1e1e-8a47-4c6a-9d7b-0c2a8e7c1b11"},
        {"name": "purchase", "url": "https://shop.example/checkout", "ts": NOW - 1_000, "event_id": "8b5c4f8e-2f1e-4f7e-9a51-6a1b2c3d4e5f",
         "transaction_id": "T-1", "value": 30, "currency": "EUR", "props": {"coupon": "X", "n": 2, "gift": True, "w": 0.5},
         "items": [{"item_id": "sku-1", "item_name": "Shoe", "price": 15, "quantity": 2}]},
    ]})
    valid = wire.finish(READER.fast.decode(body), NOW, 30 * DAY)
    assert valid is not None
    assert [e.ts for e in valid.events] == [NOW - 4_900, NOW - 900]  # corrected by the client's clock skew
    assert valid.events[1].props == {"coupon": "X", "n": "2", "gift": "true", "w": "0.5"}
    assert outcome(READER.read, body) == outcome(READER.read_in_detail, body)


def test_what_the_fast_path_declines_is_read_in_detail():
    body = orjson.dumps([{"site": "demo", "name": "page_view", "visitor": None},
                         {"site": "demo", "name": "purchase", "value": 10}])
    assert READER.fast.decode(body) is None  # null where a string is expected: the detailed path reads it as absent
    batch = READER.read(body, NOW)
    assert batch.indexes == [0]
    assert batch.rejected == [{"index": 1, "fields": [{"path": "events[1].currency", "reason": "is required when value or item prices are given"}]}]
