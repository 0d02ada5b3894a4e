"""The tag never breaks the shop: bad calls, missing browser features and hostile pages raise nothing."""

from tests.browser.conftest import stored, wait_for_rows, wait_until

# A browser without fetch, with localStorage denied (as in some privacy modes) and a page that
# is not a secure context for randomUUID: the tag falls back to sendBeacon, memory and its own ids.
CRIPPLED_BROWSER = """
delete window.fetch;
Object.defineProperty(window, 'localStorage', {get() { throw new DOMException('denied', 'SecurityError') }});
delete Crypto.prototype.randomUUID;
"""

BAD_CALLS = """() => {
  const circular = {}; circular.self = circular
  fh(); fh('no_such_command'); fh(42); fh('track'); fh('track', null, 7); fh.track({}, circular)
  fh.track('odd_props', {big: 10n, fn() {}, nested: circular, sym: Symbol('x'), ok: 1, '': 2, nan: NaN})
  fh.purchase('not an object'); fh.purchase(null); fh.refund(7)
  fh.add_to_cart({currency: 'EUR', value: 'abc', items: [null, 5, 'x', {item_id: 1, price: 'free', quantity: 'many'}]})
  fh.view_item({currency: 'usd', items: {item_id: 'one', price: 3}})
  fh.identify({toString() { throw new Error('boom') }}); fh.identify(Symbol('id'))
  history.pushState(null, '', '/after-bad-calls')
  window.pageKeptRunning = true
}"""


def test_bad_calls_and_missing_browser_features_raise_nothing_into_the_page(shop, open_tab, ch):
    tab = open_tab(init_script=CRIPPLED_BROWSER)
    tab.page.goto(shop.page("/fragile"))
    tab.page.evaluate(BAD_CALLS)
    assert tab.page.evaluate("window.pageKeptRunning") is True
    tab.page.evaluate("fh.track('still_tracking', {n: 1})")
    # Without fetch the batches go out as beacons; the well-formed events still arrive.
    assert wait_for_rows(ch, 1, "name = 'still_tracking'") == 1
    names = {r[0] for r in stored(ch, "name")}
    assert {"page_view", "odd_props", "add_to_cart", "view_item", "still_tracking"} <= names
    assert stored(ch, "props", "name = 'odd_props'") == [({"ok": "1"},)]
    assert stored(ch, "currency, items.item_id", "name = 'view_item'") == [("USD", ["one"])]
    # Items without an id or a name are left out, and numbers that are not numbers too.
    assert stored(ch, "items.item_id, items.price, items.quantity, value", "name = 'add_to_cart'") == [(["1"], [0], [1], None)]
    assert tab.errors == []
    assert {r.resource_type for r in tab.sent} == {"ping"}


def test_a_tag_without_a_site_or_loaded_twice_stays_quiet(shop, open_tab, ch):
    tab = open_tab()
    twice = shop.page("/twice")
    shop.pages["/twice"] = shop.pages["/twice"].replace("</head>", f'<script defer src="{shop.tracker_url}/js/t.js" data-site="demo"></script></head>')
    shop.pages["/no-site"] = shop.pages["/twice"].replace('data-site="demo"', "")
    tab.page.goto(shop.url + "/no-site")
    tab.page.goto(twice)
    assert wait_for_rows(ch, 1) == 1
    assert tab.errors == []
    assert stored(ch) == [("page_view", "/twice")]


def test_a_malformed_api_url_keeps_events_and_raises_nothing(shop, open_tab):
    # Without fetch the tag uses sendBeacon, which throws at once on this URL, inside a timer.
    tab = open_tab(init_script="delete window.fetch")
    tab.page.goto(shop.page("/bad-api", tag={"data-api": "http://"}))
    tab.page.evaluate("fh.track('one'); fh.track('two')")
    assert wait_until(lambda: tab.page.evaluate("JSON.parse(localStorage.getItem('fh_q') || '[]').length") == 3)
    assert tab.errors == []
