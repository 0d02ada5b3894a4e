"""`compare=previous|year` on /stats, /funnel and /channels over HTTP: the compared period's
figures are those of a direct query of that period, its bounds are in the answer, the year is 52
weeks back (weekdays aligned), and the changes are the differences (tests/compare_support.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.compare_support import DAYS, PREVIOUS_DAYS, TZ, YEAR_DAYS, local_midnight, seed
from tests.conftest import wait_for
from tracker.http.openapi import SCHEMAS
from tracker.sites import Site, add_site
from tracker.tokens import create_token

BASE = "/api/v1/sites/shop"


def conforms(value, schema: dict, where: str = "") -> None:
    """The answer has what the OpenAPI schema requires and nothing it does not describe."""
    if "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    if schema.get("type") == "object" and "properties" in schema:
        assert set(schema["required"]) <= set(value) <= set(schema["properties"]), (where, set(value) ^ set(schema["properties"]))
        for key, item in value.items():
            conforms(item, schema["properties"][key], f"{where}.{key}")
    elif schema.get("type") == "array":
        for i, item in enumerate(value):
            conforms(item, schema["items"], f"{where}[{i}]")
    for part in schema.get("allOf", []):
        # Each part describes some of the keys: the others are the other parts' to check.
        conforms(value, {**part, "properties": {**{k: {} for k in value}, **part["properties"]}}, where)


@pytest.fixture
def api(client, ch):
    add_site(ch, Site("shop", "Shoe shop", (), TZ))
    assert wait_for(lambda: client.app.state.tracker.sites.get("shop") is not None, True)
    seed(ch)
    client.headers["authorization"] = f"Bearer {create_token(ch, 'shop')[1]}"

    def get(path: str, status: int = 200, **params) -> dict:
        r = client.get(f"{BASE}/{path}", params={**DAYS, **params})
        assert r.status_code == status, r.text
        return r.json()

    get.client = client
    return get


def test_stats_against_the_previous_period_are_a_direct_query_of_it(api):
    answer = api("stats", compare="previous", interval="day")
    compared = answer["compare"]
    day_after = (date.fromisoformat(DAYS["to"]) + timedelta(days=1)).isoformat()
    assert (answer["from"], answer["to"]) == (local_midnight(DAYS["from"]), local_midnight(day_after))
    assert compared["mode"] == "previous"
    assert compared["from"] == local_midnight(PREVIOUS_DAYS["from"]) and compared["to"] == answer["from"]
    direct = api("stats", **PREVIOUS_DAYS, interval="day")
    assert compared["totals"] == direct["totals"] and compared["series"] == direct["series"] and compared["interval"] == "day"
    assert len(compared["series"]) == len(answer["series"]) == 3
    # The seeded figures (compare_support): 12 visitors, 3 orders, 42 EUR against 8, 2, 24 EUR.
    assert (answer["totals"]["visitors"], compared["totals"]["visitors"]) == (12, 8)
    changes = compared["changes"]["totals"]
    assert changes["visitors"] == {"change": 4, "change_percent": 50.0}
    assert changes["orders"] == {"change": 1, "change_percent": 50.0}
    assert changes["conversion_rate"] == {"change": 0.0, "change_percent": 0.0}  # 25 % both times
    assert changes["revenue"] == [{"currency": "EUR", "orders": {"change": 1, "change_percent": 50.0},
                                   "revenue": {"change": 18.0, "change_percent": 75.0},
                                   "average_order_value": {"change": 2.0, "change_percent": 16.67}}]
    assert "compare" not in api("stats", interval="day")  # only when asked


def test_a_year_earlier_is_52_weeks_back_with_the_same_weekdays(api):
    answer = api("stats", compare="year", interval="day")
    compared = answer["compare"]
    assert compared["mode"] == "year"
    assert compared["from"] == local_midnight(YEAR_DAYS["from"])
    start, earlier = date.fromisoformat(answer["from"][:10]), date.fromisoformat(compared["from"][:10])
    assert (start - earlier).days == 364 and start.weekday() == earlier.weekday()
    assert [date.fromisoformat(p["period"]).weekday() for p in compared["series"]] == [
        date.fromisoformat(p["period"]).weekday() for p in answer["series"]]
    direct = api("stats", **YEAR_DAYS, interval="day")
    assert compared["totals"] == direct["totals"] and compared["series"] == direct["series"]
    assert compared["totals"]["visitors"] == 5 and compared["totals"]["orders"] == 2


def test_the_funnel_against_an_earlier_period_step_by_step(api):
    for mode, days in (("previous", PREVIOUS_DAYS), ("year", YEAR_DAYS)):
        answer = api("funnel", compare=mode)
        compared, direct = answer["compare"], api("funnel", **days)
        assert compared["steps"] == direct["steps"] and compared["overall_conversion"] == direct["overall_conversion"]
        assert compared["from"] == local_midnight(days["from"])
        for now, before, change in zip(answer["steps"], compared["steps"], compared["changes"]["steps"]):
            assert (change["step"], change["label"]) == (now["step"], now["label"])
            assert change["count"]["change"] == now["count"] - before["count"]
            if now["conversion_from_first"] is not None and before["conversion_from_first"] is not None:
                assert change["conversion_from_first"]["change"] == pytest.approx(now["conversion_from_first"] - before["conversion_from_first"])
    answer = api("funnel", compare="previous")
    assert [s["count"] for s in answer["steps"]][:2] == [12, 6] and [s["count"] for s in answer["compare"]["steps"]][:2] == [8, 4]
    assert answer["compare"]["changes"]["steps"][0]["count"] == {"change": 4, "change_percent": 50.0}


def test_channels_against_the_previous_period_value_by_value(api):
    answer = api("channels", compare="previous")
    compared, direct = answer["compare"], api("channels", **PREVIOUS_DAYS)
    assert compared["totals"] == direct["totals"] and compared["channels_total"] == direct["channels_total"] == 3
    by_value = {c["value"]: c for c in direct["channels"]}
    assert [c["value"] for c in compared["channels"]] == [c["value"] for c in answer["channels"]]
    for c in compared["channels"]:
        expected = by_value.get(c["value"], {"value": c["value"], "sessions": 0, "orders": 0, "revenue": [], "conversion_rate": None})
        assert c == expected
    assert next(c for c in compared["channels"] if c["value"] == "instagram")["sessions"] == 0  # new this period
    google = next(c for c in compared["changes"]["channels"] if c["value"] == "google")
    assert google["sessions"] == {"change": 1, "change_percent": 33.33}  # 4 visits against 3
    instagram = next(c for c in compared["changes"]["channels"] if c["value"] == "instagram")
    assert instagram["sessions"] == {"change": 4, "change_percent": None}  # nothing to take a percentage of
    assert instagram["conversion_rate"] == {"change": None, "change_percent": None}
    # With a limit the list is cut, the compared figures are still the whole period's.
    limited = api("channels", compare="previous", limit=1)
    assert len(limited["channels"]) == len(limited["compare"]["channels"]) == 1
    assert limited["compare"]["channels"][0] == by_value.get(limited["channels"][0]["value"])


def test_the_filter_holds_in_both_periods(api):
    answer = api("stats", compare="previous", filter="source==google")
    direct = api("stats", **PREVIOUS_DAYS, filter="source==google")
    assert answer["compare"]["totals"] == direct["totals"] and direct["totals"]["visitors"] == 3
    assert answer["totals"]["visitors"] == 4


def test_both_periods_are_queried_at_once_on_the_query_threads(api, monkeypatch):
    runner = api.client.app.state.tracker.queries
    original, running, most = runner.offload, [0], [0]

    async def counting(work):
        running[0] += 1
        most[0] = max(most[0], running[0])
        try:
            return await original(work)
        finally:
            running[0] -= 1

    monkeypatch.setattr(runner, "offload", counting)
    api("stats", compare="year")
    assert most[0] == 2
    most[0] = 0
    api("stats")
    assert most[0] == 1


def test_bad_comparisons_are_400_naming_compare(api):
    error = api("stats", 400, compare="lastweek")["error"]
    assert error["code"] == "invalid_parameters"
    assert error["fields"] == [{"path": "compare", "reason": "must be one of previous, year"}]
    error = api("funnel", 400, compare="yesterday", window="0s")["error"]  # every problem at once
    assert [f["path"] for f in error["fields"]] == ["window", "compare"]
    error = api("channels", 400, compare="previous", format="csv")["error"]
    assert [f["path"] for f in error["fields"]] == ["compare"] and "JSON only" in error["fields"][0]["reason"]
    r = api.client.get(f"{BASE}/stats", params={"compare": "previous"}, headers={"accept": "text/csv"})
    assert r.status_code == 400 and r.json()["error"]["fields"][0]["path"] == "compare"
    error = api("carts/abandoned", 400, compare="previous")["error"]
    assert error["fields"][0]["path"] == "compare" and error["fields"][0]["reason"].startswith("unknown parameter")


def test_the_compared_answers_are_as_the_openapi_description_says(api):
    for path, schema in (("stats", "Stats"), ("funnel", "Funnel"), ("channels", "Channels")):
        answer = api(path, compare="year")
        conforms(answer["compare"], SCHEMAS[schema]["properties"]["compare"], f"{path}.compare")
    answer = api("funnel", compare="previous", breakdown="source")
    conforms(answer["compare"], SCHEMAS["Funnel"]["properties"]["compare"], "funnel.compare")
    assert answer["compare"]["breakdown"] == api("funnel", **PREVIOUS_DAYS, breakdown="source")["breakdown"]
