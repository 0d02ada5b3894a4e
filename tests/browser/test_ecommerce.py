"""The window API with the GA4 vocabulary, the queue stub, and the GA4/GTM dataLayer bridge."""

from tests.browser.conftest import stored, wait_for_rows

ITEM_COLUMNS = "name, items.item_id, items.item_name, items.item_category, arrayMap(p -> toString(p), items.price), items.quantity"


def test_ecommerce_helpers_store_items_value_and_currency(shop, open_tab, ch):
    tab = open_tab()
    tab.page.goto(shop.page("/product"))
    tab.page.evaluate(
        """() => {
          const jacket = {item_id: 'J-1', item_name: 'Rain Jacket', item_category: 'Jackets', price: 129, quantity: 1,
                          item_brand: 'Acme', item_variant: 'blue', index: 0, discount: 10}
          fh.view_item({currency: 'EUR', value: 129, items: [jacket]})
          fh.add_to_cart({currency: 'eur', value: '258.00', items: [{...jacket, quantity: 2, price: '129.00'}]})
          fh.remove_from_cart({currency: 'EUR', value: 129, items: [jacket]})
          fh('begin_checkout', {currency: 'EUR', value: 129, coupon: 'SPRING', items: [jacket]})
          fh.purchase({transaction_id: 'T-1001', currency: 'EUR', value: 133.9, shipping: 4.9, tax: 20.6, items: [jacket]})
          fh.refund({transaction_id: 'T-1001', currency: 'EUR', value: 133.9})
          fh.track('newsletter_signup', {plan: 'weekly', first: true, nested: {dropped: 1}, list: [1]})
        }"""
    )
    assert wait_for_rows(ch, 8) == 8
    rows = {r[0]: r[1:] for r in stored(ch, ITEM_COLUMNS + ", toString(value), currency, transaction_id, props")}
    assert rows["view_item"] == (["J-1"], ["Rain Jacket"], ["Jackets"], ["129"], [1], "129", "EUR", "", {})
    # GA4 sends prices as strings at times and currency in any case; extra item keys are left out.
    assert rows["add_to_cart"] == (["J-1"], ["Rain Jacket"], ["Jackets"], ["129"], [2], "258", "EUR", "", {})
    assert rows["remove_from_cart"][:5] == (["J-1"], ["Rain Jacket"], ["Jackets"], ["129"], [1])
    assert rows["begin_checkout"][-1] == {"coupon": "SPRING"}
    assert rows["purchase"][5:] == ("133.9", "EUR", "T-1001", {"shipping": "4.9", "tax": "20.6"})
    assert rows["refund"][5:] == ("133.9", "EUR", "T-1001", {})
    assert rows["newsletter_signup"][-1] == {"plan": "weekly", "first": "true"}
    assert tab.errors == []


def test_calls_made_before_the_tag_loads_are_kept_in_order(shop, open_tab, ch):
    tab = open_tab()
    before = "fh('identify', 'cust-42'); fh('track', 'early_bird', {n: 1}); fh('view_item', {items: [{item_id: 'S-1'}]})"
    tab.page.goto(shop.page("/early", before=before))
    assert wait_for_rows(ch, 3) == 3
    # The page view comes first, when the tag loads; identify() applies to the calls after it.
    assert stored(ch, "name, customer_id") == [("page_view", ""), ("early_bird", "cust-42"), ("view_item", "cust-42")]


def test_identify_refuses_an_email_address(shop, open_tab, ch):
    tab = open_tab()
    tab.page.goto(shop.page("/account"))
    tab.page.evaluate("fh.identify('jane@example.com'); fh.track('after_email'); fh.identify('c-7'); fh.track('after_id')")
    assert wait_for_rows(ch, 3) == 3
    assert stored(ch, "name, customer_id", "name LIKE 'after%'") == [("after_email", ""), ("after_id", "c-7")]


GTM_PAGE = """
window.dataLayer = window.dataLayer || [];
dataLayer.push({event: 'gtm.js', 'gtm.start': Date.now()});
dataLayer.push({ecommerce: null});
dataLayer.push({event: 'view_item', ecommerce: {currency: 'EUR', value: 14.5, items: [
  {item_id: 'SKU-2002', item_name: 'Merino Socks', item_brand: 'Woolly', item_category: 'Socks',
   item_category2: 'Wool', item_variant: 'grey', price: 14.5, quantity: 1, index: 3}]}});
function gtag() { dataLayer.push(arguments) }
gtag('config', 'G-XXXX');
"""


def test_the_datalayer_bridge_forwards_ga4_ecommerce_events(shop, open_tab, ch):
    tab = open_tab()
    tab.page.goto(shop.page("/socks", tag={"data-datalayer": "true"}, before=GTM_PAGE, stub=False))
    tab.page.evaluate(
        """() => {
          dataLayer.push({ecommerce: null});
          dataLayer.push({event: 'add_to_cart', ecommerce: {currency: 'EUR', value: 29, items: [
            {item_id: 'SKU-2002', item_name: 'Merino Socks', price: '14.50', quantity: 2, affiliation: 'Web'}]}});
          gtag('event', 'purchase', {transaction_id: 'T-77', currency: 'EUR', value: 33.9, shipping: 4.9,
            items: [{item_id: 'SKU-2002', item_name: 'Merino Socks', price: 14.5, quantity: 2}]});
          dataLayer.push({event: 'scroll_depth', percent: 50});
        }"""
    )
    assert wait_for_rows(ch, 4) == 4
    rows = stored(ch, ITEM_COLUMNS + ", toString(value), transaction_id")
    assert [r[0] for r in rows] == ["page_view", "view_item", "add_to_cart", "purchase"]
    assert rows[1][1:] == (["SKU-2002"], ["Merino Socks"], ["Socks"], ["14.5"], [1], "14.5", "")
    assert stored(ch, "items.item_brand, items.item_category2, items.item_variant", "name = 'view_item'") == [
        (["Woolly"], ["Wool"], ["grey"])]
    assert rows[2][1:] == (["SKU-2002"], ["Merino Socks"], [""], ["14.5"], [2], "29", "")
    assert rows[3][1:] == (["SKU-2002"], ["Merino Socks"], [""], ["14.5"], [2], "33.9", "T-77")
    assert tab.errors == []


def test_without_data_datalayer_the_datalayer_is_not_read(shop, open_tab, ch):
    tab = open_tab()
    tab.page.goto(shop.page("/socks", before=GTM_PAGE + "fh('track', 'marker')"))
    assert wait_for_rows(ch, 2) == 2
    assert [r[0] for r in stored(ch)] == ["page_view", "marker"]
