"""Page views: on load with the referrer and UTM parameters, and on every single-page navigation."""

from tests.browser.conftest import stored, wait_for_rows


def test_the_first_page_view_carries_the_source_and_spa_navigation_adds_page_views(shop, open_tab, ch):
    landing = shop.page("/shoes", body="<a id=next href=/shoes/trail>next</a>")
    tab = open_tab()
    tab.page.goto(landing + "?utm_source=Newsletter&utm_medium=email&utm_campaign=spring", referer="https://mail.example.net/inbox")
    assert wait_for_rows(ch, 1) == 1
    tab.page.evaluate("history.pushState({}, '', '/shoes/trail')")
    tab.page.evaluate("history.replaceState({step: 2}, '')")  # same URL: state only, not a new page
    tab.page.evaluate("history.pushState({}, '', '/shoes/trail?size=42')")
    tab.page.go_back()  # popstate back to /shoes/trail
    tab.page.evaluate("history.replaceState({}, '', '/shoes/road')")  # a router that replaces the URL
    assert wait_for_rows(ch, 5) == 5

    rows = stored(ch, "path, source, medium, campaign, referrer_host, url", "name = 'page_view'")
    assert [r[0] for r in rows] == ["/shoes", "/shoes/trail", "/shoes/trail", "/shoes/trail", "/shoes/road"]
    assert rows[0][1:5] == ("newsletter", "email", "spring", "mail.example.net")
    assert rows[3][5].endswith("/shoes/trail")
    assert rows[2][5].endswith("/shoes/trail?size=42")
    # Later page views are navigation inside the shop, not new visits from the newsletter.
    assert {r[4] for r in rows[1:]} == {""}
    assert tab.errors == []


def test_hash_routing_counts_each_fragment_route_as_a_page(shop, open_tab, ch):
    tab = open_tab()
    tab.page.goto(shop.page("/app", tag={"data-hash": "true"}) + "#/products")
    tab.page.evaluate("location.hash = '#/cart'")
    assert wait_for_rows(ch, 2) == 2
    assert [r[0] for r in stored(ch, "path", "name = 'page_view'")] == ["/app#/products", "/app#/cart"]


def test_without_hash_routing_a_fragment_change_is_not_a_page_view(shop, open_tab, ch):
    tab = open_tab()
    tab.page.goto(shop.page("/faq"))
    tab.page.evaluate("location.hash = '#shipping'; fh('track', 'read_faq')")
    assert wait_for_rows(ch, 2) == 2
    assert stored(ch) == [("page_view", "/faq"), ("read_faq", "/faq")]


def test_automatic_page_views_can_be_turned_off_for_manual_ones(shop, open_tab, ch):
    tab = open_tab()
    tab.page.goto(shop.page("/manual", tag={"data-auto": "false"}, before="fh('track', 'first')"))
    tab.page.evaluate("history.pushState({}, '', '/manual/two'); fh('page_view')")
    assert wait_for_rows(ch, 2) == 2
    assert stored(ch) == [("first", "/manual"), ("page_view", "/manual/two")]
