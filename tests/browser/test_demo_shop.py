"""The demo shop at /demo, clicked through like a buyer: every funnel step reaches ClickHouse."""

from tests.browser.conftest import stored, wait_for_rows


def test_a_purchase_in_the_demo_shop_is_stored_step_by_step(tracker, open_tab, ch):
    tab = open_tab()
    page = tab.page
    page.goto(tracker.url + "/demo")
    page.get_by_role("link", name="Merino Socks").click()
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_role("button", name="Checkout").click()
    page.get_by_role("button", name="Place order").click()
    page.get_by_text("Thank you!").wait_for()

    expected = [
        ("page_view", "/demo"),
        ("view_item_list", "/demo"),
        ("page_view", "/demo/product/SKU-2002"),
        ("view_item", "/demo/product/SKU-2002"),
        ("add_to_cart", "/demo/product/SKU-2002"),
        ("page_view", "/demo/cart"),
        ("view_cart", "/demo/cart"),
        ("page_view", "/demo/checkout"),
        ("begin_checkout", "/demo/checkout"),
        ("add_shipping_info", "/demo/checkout"),
        ("add_payment_info", "/demo/checkout"),
        ("purchase", "/demo/checkout"),
        ("page_view", "/demo/thanks"),
    ]
    assert wait_for_rows(ch, len(expected)) == len(expected), stored(ch)
    rows = stored(ch, "name, path, toUnixTimestamp64Milli(ts)")
    assert sorted((name, path) for name, path, _ in rows) == sorted(expected)
    # Stored in the order the buyer went, so funnels see the steps in sequence.
    order = [name for name, _, _ in sorted(rows, key=lambda r: r[2]) if name in ("view_item", "add_to_cart", "begin_checkout", "purchase")]
    assert order == ["view_item", "add_to_cart", "begin_checkout", "purchase"]

    purchase = stored(
        ch,
        "transaction_id != '', toString(value), currency, items.item_id, items.item_name, items.item_category, "
        "arrayMap(p -> toString(p), items.price), items.quantity, props",
        "name = 'purchase'",
    )
    assert purchase == [(True, "29", "EUR", ["SKU-2002"], ["Merino Socks"], ["Socks"], ["14.5"], [2], {"shipping": "4.9"})]
    thanks_url = stored(ch, "url", "name = 'page_view' AND path = '/demo/thanks'")[0][0]
    assert "order=" + stored(ch, "transaction_id", "name = 'purchase'")[0][0] in thanks_url
    assert stored(ch, "props", "name = 'add_payment_info'") == [({"payment_type": "Card"},)]
    assert tab.errors == []
