"""Privacy: Do-Not-Track, Global Privacy Control, consent mode, optOut and excluded paths are honoured.

Checking that nothing was sent needs a point in time after which it would have been: each test
ends with `sentinel_arrives`, an event from a fresh tab opened later, stored once it is in ClickHouse.
"""

import pytest

from tests.browser.conftest import sentinel_arrives, stored, wait_for_rows

DO_NOT_TRACK = "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})"
GLOBAL_PRIVACY_CONTROL = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
SHOPPING = "fh.add_to_cart({currency: 'EUR', value: 5, items: [{item_id: 'A', price: 5}]}); fh.track('clicked')"


@pytest.mark.parametrize("signal", [DO_NOT_TRACK, GLOBAL_PRIVACY_CONTROL], ids=["do-not-track", "global-privacy-control"])
def test_a_browser_privacy_signal_means_nothing_is_sent(signal, shop, open_tab, ch):
    tab = open_tab(init_script=signal)
    tab.page.goto(shop.page("/private"))
    tab.page.evaluate(SHOPPING)
    sentinel_arrives(open_tab, shop, ch)
    assert tab.sent == []
    assert stored(ch, where="path = '/private'") == []


def test_a_shop_may_choose_to_ignore_do_not_track(shop, open_tab, ch):
    tab = open_tab(init_script=DO_NOT_TRACK)
    tab.page.goto(shop.page("/counted", tag={"data-dnt": "false"}))
    assert wait_for_rows(ch, 1) == 1


def test_consent_mode_holds_events_until_consent_is_granted(shop, open_tab, ch):
    tab = open_tab()
    tab.page.goto(shop.page("/held", tag={"data-consent": "required"}))
    tab.page.evaluate(SHOPPING + "; fh.identify('cust-1')")  # identify before consent is ignored
    sentinel_arrives(open_tab, shop, ch)
    assert tab.sent == []

    tab.page.evaluate("fh.consent(true); fh.identify('cust-1'); fh.track('after_consent')")
    assert wait_for_rows(ch, 4, "path = '/held'") == 4
    assert stored(ch, "name, customer_id", "path = '/held'") == [
        ("page_view", ""), ("add_to_cart", ""), ("clicked", ""), ("after_consent", "cust-1"),
    ]


def test_refused_consent_drops_held_and_later_events(shop, open_tab, ch):
    tab = open_tab()
    tab.page.goto(shop.page("/refused", tag={"data-consent": "required"}))
    tab.page.evaluate(SHOPPING + "; fh.consent(false); fh.track('after_refusal')")
    sentinel_arrives(open_tab, shop, ch)
    assert tab.sent == []
    assert stored(ch, where="path = '/refused'") == []


def test_opting_out_lasts_across_pages_until_opted_back_in(shop, open_tab, ch):
    tab = open_tab()
    tab.page.goto(shop.page("/settings", tag={"data-auto": "false"}, before="fh('optOut')"))
    tab.page.evaluate(SHOPPING)
    tab.page.goto(shop.page("/next"))  # a new page: the opt-out is remembered
    tab.page.evaluate(SHOPPING)
    sentinel_arrives(open_tab, shop, ch)
    assert tab.sent == []
    assert stored(ch, where="path IN ('/settings', '/next')") == []

    tab.page.evaluate("fh.optOut(false); fh.track('back_in')")
    assert wait_for_rows(ch, 1, "path = '/next'") == 1
    assert stored(ch, where="path = '/next'") == [("back_in", "/next")]


def test_excluded_paths_are_not_tracked(shop, open_tab, ch):
    tab = open_tab()
    tag = {"data-exclude": "/admin*, /account/orders"}
    tab.page.goto(shop.page("/admin/products", tag=tag))
    tab.page.evaluate(SHOPPING + "; history.pushState({}, '', '/account/orders')")
    tab.page.evaluate("history.pushState({}, '', '/account/orders/7'); fh.track('order_opened')")
    assert wait_for_rows(ch, 2) == 2
    assert stored(ch) == [("page_view", "/account/orders/7"), ("order_opened", "/account/orders/7")]
    assert len(tab.sent) == 1
