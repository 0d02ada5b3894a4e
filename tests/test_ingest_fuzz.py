"""Property-based abuse of POST /api/event: whatever a client sends, the answer is 202 or a 4xx in the
error shape, the server keeps serving, and nothing malformed reaches ClickHouse.

`make test` runs a short version; `make chaos` sets HYPOTHESIS_PROFILE=chaos for many more examples.
"""

import os

import orjson
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from tests.conftest import count_rows, wait_for

hsettings.register_profile("default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
hsettings.register_profile("chaos", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
hsettings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=50), st.text(min_size=3000, max_size=5000),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=5)), max_leaves=30)
field_names = st.sampled_from(["site", "name", "url", "referrer", "ts", "sent_at", "event_id", "visitor", "session",
                               "customer_id", "props", "transaction_id", "value", "currency", "items", "extra"])
# Events that are almost right: real field names with random values, so validation is reached deeply.
near_events = st.fixed_dictionaries({"site": st.just("demo"), "name": st.sampled_from(["page_view", "purchase", "add_to_cart"])}).flatmap(
    lambda base: st.dictionaries(field_names, json_values, max_size=6).map(lambda extra: {**base, **extra}))


def check_answer(response):
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"code", "message", "fields"}
        assert all(set(f) == {"path", "reason"} for f in error["fields"])
    else:
        assert response.status_code == 202


@given(body=st.one_of(json_values, st.lists(near_events, max_size=20), near_events))
def test_random_json_never_causes_a_server_error(client, body):
    try:
        raw = orjson.dumps(body)
    except (TypeError, orjson.JSONEncodeError):  # e.g. integers beyond 64 bits: send them as text
        raw = repr(body).encode()
    check_answer(client.post("/api/event", content=raw, headers={"content-type": "application/json"}))


@given(raw=st.binary(max_size=2000), content_type=st.sampled_from(["application/json", "text/plain", "text/html", "", "application/json; charset=latin-1"]))
def test_random_bytes_and_content_types(client, raw, content_type):
    check_answer(client.post("/api/event", content=raw, headers={"content-type": content_type}))


def test_hostile_shapes(client, ch):
    deep = "[" * 100_000 + "]" * 100_000
    cases = [
        deep.encode(),
        b'{"site":"demo","name":"x","value":NaN,"currency":"EUR"}',
        b'{"site":"demo","name":"x","value":1e400,"currency":"EUR"}',
        b'{"site":"demo","name":"\xff\xfe"}',  # invalid UTF-8
        orjson.dumps({"site": "demo", "name": "x", "items": [{"item_id": "a"}] * 10_000}),
        orjson.dumps({"site": "demo", "name": "x" * 100_000}),
        orjson.dumps({"site": "demo", "name": "x", "props": {str(i): i for i in range(1000)}}),
        orjson.dumps({"site": "demo", "name": "x", "ts": -1}),
        orjson.dumps({"site": "demo", "name": "x", "value": -(2**63), "currency": "EUR"}),
        orjson.dumps({"site": "demo'; DROP TABLE events; --", "name": "x"}),
    ]
    for raw in cases:
        response = client.post("/api/event", content=raw, headers={"content-type": "application/json"})
        check_answer(response)
        assert response.status_code >= 400, raw[:80]
    assert client.get("/healthz").status_code == 200


def test_exactly_the_accepted_events_are_stored_and_well_formed(client, ch):
    accepted = []

    @given(events=st.lists(near_events, min_size=1, max_size=8))
    def post(events):
        try:
            raw = orjson.dumps(events)
        except (TypeError, orjson.JSONEncodeError):
            return
        response = client.post("/api/event", content=raw, headers={"content-type": "application/json"})
        check_answer(response)
        if response.status_code == 202:
            accepted.append(response.json()["accepted"])

    post()
    total = sum(accepted)
    assert total > 0, "the generator should produce some valid events too"
    assert wait_for(lambda: count_rows(ch), total) == total
    assert count_rows(ch, "site != 'demo' OR ts > now64(3) + 1 OR ts < now64(3) - INTERVAL 31 DAY") == 0
