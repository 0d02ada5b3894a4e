"""The default shop funnel on a shop whose checkout never sends begin_checkout (issue 19's defect):
the counts of GET .../funnel without `step`, and of the page, equal an independent computation in
plain Python over the same generated clickstream, and the intent stage says which event never came.

The Python below is not the SQL's algorithm (nor tests/test_random_journeys.py's windowFunnel
state machine): for every event it follows the earliest chain of stages that starts there, which
is the best a chain from that start can do, and a visitor reaches the deepest stage of any start.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

import pytest

from tests.conftest import wait_for
from tests.query_support import T0, event, insert
from tracker.sites import Site, add_site
from tracker.tokens import create_token

WINDOW_S = 7 * 86400  # TRACKER_FUNNEL_DEFAULT_WINDOW
START = T0 - timedelta(days=20)  # 25 days of history, ending before now (T0 is 7 to 13 days ago)
END = START + timedelta(days=25)
DAYS = {"from": START.date().isoformat(), "to": END.date().isoformat()}  # both included: every event is in range
INTEREST = {"view_item", "select_item"}
INTENT = {"begin_checkout", "add_shipping_info", "add_payment_info"}
LABELS = ["awareness", "interest", "consideration", "intent", "purchase", "repurchase"]


def clickstream(seed: int, visitors: int) -> dict[int, list[tuple[datetime, str]]]:
    """Visits of a shop whose checkout sends add_shipping_info and add_payment_info, never
    begin_checkout: drop-off at every stage, stages skipped, same-second events, returning
    visitors (some more than the 7-day window later) and repeat buyers."""
    rng = random.Random(seed)
    out: dict[int, list[tuple[datetime, str]]] = {}
    for visitor in range(1, visitors + 1):
        t = START + timedelta(seconds=rng.randint(0, 22 * 86400), milliseconds=rng.randint(0, 999))
        events: list[tuple[datetime, str]] = []

        def emit(name: str) -> None:
            nonlocal t
            events.append((t, name))
            t += timedelta(seconds=rng.choice([0, 0, 1, 3, 20, 90, 600]), milliseconds=rng.randint(1, 999))

        for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
            emit("page_view")
            if rng.random() < 0.4:
                emit("view_item_list")
            roll = rng.random()
            if roll < 0.25:
                emit("select_item")  # a quick view from the list: no view_item
            elif roll < 0.5:
                emit("select_item")
                emit("view_item")
            elif roll < 0.75:
                emit("view_item")
            if rng.random() < 0.45:
                emit("add_to_cart")
                if rng.random() < 0.3:
                    emit("view_cart")
                if rng.random() < 0.7:
                    if rng.random() < 0.75:
                        emit("add_shipping_info")
                    if rng.random() < 0.85:
                        emit("add_payment_info")
                    if rng.random() < 0.75:
                        emit("purchase")
            t += timedelta(seconds=rng.choice([2 * 3600, 86400, 3 * 86400, 9 * 86400]))  # the next visit
        out[visitor] = [(ts, name) for ts, name in events if ts < END]
    return out


def deepest_stage(events: list[tuple[datetime, str]]) -> int:
    """0 to 6: the deepest shop-funnel stage the visitor reached, by the documented rules."""
    events = sorted(events)
    secs = [int(ts.timestamp()) for ts, _ in events]
    purchases_so_far, rank = 0, []
    for _, name in events:
        purchases_so_far += name == "purchase"
        rank.append(purchases_so_far)

    def matches(i: int, stage: int) -> bool:
        name = events[i][1]
        return [True, name in INTEREST, name == "add_to_cart", name in INTENT, name == "purchase",
                name == "purchase" and rank[i] >= 2][stage]

    best = 0
    for start in range(len(events)):
        first, now, depth = secs[start], secs[start], 1
        for stage in range(1, 6):
            # The earliest event of this stage from the second the chain reached the previous one
            # (events of one second are taken in stage order; one event may do several stages).
            candidates = [secs[i] for i in range(len(events)) if now <= secs[i] <= first + WINDOW_S and matches(i, stage)]
            if not candidates:
                break
            now, depth = min(candidates), stage + 1
        best = max(best, depth)
    return best


def expected_counts(data: dict[int, list[tuple[datetime, str]]]) -> list[int]:
    deepest = [deepest_stage(evs) for evs in data.values() if evs]
    return [sum(d >= k for d in deepest) for k in range(1, 7)]


@pytest.fixture
def shop(client, ch):
    add_site(ch, Site("shop", "Checkout shop"))
    assert wait_for(lambda: client.app.state.tracker.sites.get("shop") is not None, True)
    client.follow_redirects = False
    return client, create_token(ch, "shop")[1]


def step_counts_on_page(page: str) -> dict[str, int]:
    found = re.findall(r'<li data-step="(\w+)">.*?data-value="count">([\d,]+)<', page, re.S)
    return {label: int(count.replace(",", "")) for label, count in found}


def test_checkout_without_begin_checkout_counts_exactly(shop, ch):
    client, token = shop
    data = clickstream(seed=19, visitors=441)
    insert(ch, [event(name, ts, visitor, site="shop") for visitor, evs in data.items() for ts, name in evs])
    expected = expected_counts(data)
    assert expected[3] > 0 and expected[5] > 0 and expected[2] > expected[3] > expected[4]  # every stage exercised
    assert not any(name == "begin_checkout" for evs in data.values() for _, name in evs)

    body = client.get("/api/v1/sites/shop/funnel", params=DAYS, headers={"authorization": f"Bearer {token}"}).json()
    assert body["window"] == "1w"
    assert [(s["label"], s["count"]) for s in body["steps"]] == list(zip(LABELS, expected))
    assert [s["missing_events"] for s in body["steps"]] == [[], [], [], ["begin_checkout"], [], []]
    orders = sum(name == "purchase" for evs in data.values() for _, name in evs)
    stats = client.get("/api/v1/sites/shop/stats", params=DAYS, headers={"authorization": f"Bearer {token}"}).json()
    assert stats["totals"]["orders"] == orders > 100  # the totals and the funnel agree that people bought

    assert client.post("/app/_sign-in", data={"token": token}).status_code == 303
    page = client.get("/app/shop", params=DAYS)
    assert page.status_code == 200
    assert step_counts_on_page(page.text) == dict(zip(LABELS, expected))
    notes = re.findall(r'<p class="missing" data-missing="([^"]*)">(.*?)</p>', page.text, re.S)
    assert [(names, " ".join(re.sub(r"<[^>]+>", "", text).split())) for names, text in notes] == [
        ("begin_checkout", "This site sent no begin_checkout events in this range."),
    ]


def test_a_stage_whose_events_never_came_says_so_on_the_page(shop, ch):
    client, token = shop
    insert(ch, [event("page_view", T0, 1, site="shop"), event("view_item", T0 + timedelta(seconds=5), 1, site="shop"),
                event("page_view", T0, 2, site="shop")])
    client.post("/app/_sign-in", data={"token": token})
    page = client.get("/app/shop", params=DAYS).text
    assert step_counts_on_page(page) == {"awareness": 2, "interest": 1, "consideration": 0, "intent": 0, "purchase": 0, "repurchase": 0}
    notes = re.findall(r'<p class="missing" data-missing="([^"]*)">(.*?)</p>', page, re.S)
    assert [names for names, _ in notes] == [
        "select_item", "add_to_cart", "add_payment_info add_shipping_info begin_checkout", "purchase", "purchase",
    ]
    intent = " ".join(re.sub(r"<[^>]+>", "", notes[2][1]).split())
    assert intent == "This site sent no add_payment_info or add_shipping_info or begin_checkout events in this range."
