"""Delivery: batches, a beacon when the page goes away, and resends after failures that never double count."""

import json

from tests.browser.conftest import stored, wait_for_rows, wait_until

STORED_QUEUE = "JSON.parse(localStorage.getItem('fh_q') || '[]').length"


def test_events_are_batched_into_fewer_requests(shop, open_tab, ch):
    tab = open_tab()
    tab.page.goto(shop.page("/browse"))
    tab.page.evaluate("for (let i = 0; i < 45; i++) fh.track('scroll', {i})")
    assert wait_for_rows(ch, 46) == 46
    # 46 events: two full batches of 20 leave at once, the other 6 after a short delay.
    assert len(tab.sent) == 3, [len(r.post_data_json["events"]) for r in tab.sent]
    # Every batch was acknowledged (a missing CORS header would fail them), so none is kept for a resend.
    assert [r.response().status for r in tab.sent] == [202, 202, 202]
    assert tab.page.evaluate(STORED_QUEUE) == 0
    assert sorted(len(r.post_data_json["events"]) for r in tab.sent)[-2:] == [20, 20]
    # Each event once; and within a batch in call order (across batches sent in the same
    # millisecond, the tracker's per-request clock correction decides).
    assert sorted(stored(ch, "toInt32(props['i'])", "name = 'scroll'")) == [(i,) for i in range(45)]
    full_batch = [e["props"]["i"] for e in tab.sent[1].post_data_json["events"]]
    assert [r[0] for r in stored(ch, "toInt32(props['i'])", f"name = 'scroll' AND toInt32(props['i']) IN {tuple(full_batch)}")] == full_batch


# Records each navigator.sendBeacon call in sessionStorage, which the next page of the tab can
# read: a beacon sent while a page unloads is not reliably reported to Playwright.
BEACON_SPY = """
const sendBeacon = navigator.sendBeacon.bind(navigator)
navigator.sendBeacon = (url, data) => {
  sessionStorage.setItem('beacons', JSON.stringify([...JSON.parse(sessionStorage.getItem('beacons') || '[]'), data]))
  return sendBeacon(url, data)
}
"""


def test_events_still_waiting_leave_with_a_beacon_when_the_page_is_left(shop, open_tab, ch):
    tab = open_tab(init_script=BEACON_SPY)
    tab.page.goto(shop.page("/cart"))
    assert wait_for_rows(ch, 1) == 1  # the page view went out on its own
    next_page = shop.page("/checkout", tag={"data-auto": "false"})
    # Within the batch delay of the click, so only the page going away can send it.
    tab.page.evaluate(f"fh.begin_checkout({{currency: 'EUR', value: 20}}); location.href = '{next_page}'")
    tab.page.wait_for_url(next_page)
    assert wait_for_rows(ch, 2) == 2
    assert stored(ch) == [("page_view", "/cart"), ("begin_checkout", "/cart")]
    beacons = [json.loads(body) for body in tab.page.evaluate("JSON.parse(sessionStorage.getItem('beacons'))")]
    assert [[e["name"] for e in beacon["events"]] for beacon in beacons] == [["begin_checkout"]]


def test_events_sent_while_offline_are_kept_and_sent_once_back_online(shop, open_tab, ch):
    tab = open_tab()
    tab.page.goto(shop.page("/train"))
    assert wait_for_rows(ch, 1) == 1
    tab.context.set_offline(True)
    tab.page.evaluate("fh.track('one'); fh.track('two'); fh.add_to_cart({items: [{item_id: 'A', quantity: 3}]})")
    assert wait_until(lambda: tab.page.evaluate(STORED_QUEUE) == 3), "the failed batch was not kept in localStorage"
    tab.context.set_offline(False)  # the browser fires `online`, the kept events are resent
    assert wait_for_rows(ch, 4) == 4
    assert wait_until(lambda: tab.page.evaluate(STORED_QUEUE) == 0)
    assert stored(ch) == [("page_view", "/train"), ("one", "/train"), ("two", "/train"), ("add_to_cart", "/train")]
    assert ch.query("SELECT uniqExact(event_id) FROM events").result_rows[0][0] == 4


def test_a_batch_whose_answer_was_lost_is_resent_without_double_counting(shop, open_tab, tracker, ch):
    """The tracker stored the batch but the answer never reached the page: the resend is dropped by event_id."""
    tab = open_tab()
    lost_answers = []

    def lose_first_answer(route):
        if lost_answers:
            return route.continue_()
        route.fetch()  # the tracker receives and stores the batch...
        lost_answers.append(route.request)
        route.abort("connectionreset")  # ...and the page sees a network error

    tab.page.route(tracker.url + "/api/event", lose_first_answer)
    tab.page.goto(shop.page("/flaky", before="fh('track', 'a'); fh('track', 'b')"))
    assert wait_until(lambda: len(tab.sent) >= 2), "the batch was not resent"
    assert wait_for_rows(ch, 3) == 3
    first, resent = tab.sent[0].post_data_json["events"], tab.sent[1].post_data_json["events"]
    assert [e["event_id"] for e in resent] == [e["event_id"] for e in first]
    assert sorted(stored(ch, "name")) == [("a",), ("b",), ("page_view",)]


def test_events_a_page_could_not_send_are_sent_by_the_next_page(shop, open_tab, tracker, ch):
    tab = open_tab()
    tab.page.route(tracker.url + "/api/event", lambda route: route.fulfill(status=503, body="{}"))
    tab.page.goto(shop.page("/down", before="fh('view_item', {items: [{item_id: 'X'}]})"))
    assert wait_until(lambda: tab.page.evaluate(STORED_QUEUE) == 2)
    tab.page.unroute(tracker.url + "/api/event")
    tab.page.goto(shop.page("/up", tag={"data-auto": "false"}))
    assert wait_for_rows(ch, 2) == 2
    assert stored(ch) == [("page_view", "/down"), ("view_item", "/down")]


def test_a_copy_of_the_tag_on_the_shops_own_domain_sends_to_data_api(shop, open_tab, tracker, ch):
    tab = open_tab()
    tab.page.goto(shop.page("/own-copy", src=shop.url + "/t.js", tag={"data-api": tracker.url + "/api/event"}))
    assert wait_for_rows(ch, 1) == 1
    assert stored(ch) == [("page_view", "/own-copy")]
