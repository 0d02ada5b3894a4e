"""The dataLayer bridge fed what shop platforms' GA4 plugins and GTM push (GA4's documented shapes).

Two kinds of shop: a GTM container filled by a plugin (GTM4WP on WooCommerce and the like),
which pushes `{ecommerce: null}` and then `{event, ecommerce}`; and WooCommerce's own Google
Analytics plugin, which calls gtag('event', name, params) (an Arguments object on dataLayer),
with numeric product ids and product views and cart additions that carry prices but no currency.
"""

import json
import re
from pathlib import Path

from tests.browser.conftest import stored, wait_for_rows

COLUMNS = ("name, items.item_id, items.item_name, items.item_category, arrayMap(p -> toString(p), items.price), "
           "items.quantity, toString(value), currency, transaction_id, props")

# What a GTM page holds before the tag runs: the container's own start, a plugin's product list.
GTM_PLUGIN_PAGE = """
window.dataLayer = window.dataLayer || [];
dataLayer.push({'gtm.start': Date.now(), event: 'gtm.js'});
dataLayer.push({pageType: 'product-category', visitorLoginState: 'logged-out'});
dataLayer.push({ecommerce: null});
dataLayer.push({event: 'view_item_list', ecommerce: {currency: 'EUR', item_list_id: 'socks', item_list_name: 'Socks', items: [
  {item_id: 2002, item_name: 'Merino Socks', item_brand: 'Woolly', item_category: 'Socks', item_category2: 'Wool',
   price: 14.5, index: 1, google_business_vertical: 'retail'},
  {item_id: 2003, item_name: 'Cotton Socks', item_category: 'Socks', price: '9.90', index: 2}]}});
"""

# The shopper's clicks on that page, as the plugin pushes them.
GTM_PLUGIN_CLICKS = """() => {
  dataLayer.push({event: 'gtm.dom'});
  dataLayer.push({ecommerce: null});
  dataLayer.push({event: 'select_item', ecommerce: {item_list_name: 'Socks', items: [{item_id: 2002, item_name: 'Merino Socks'}]}});
  dataLayer.push({ecommerce: null});
  dataLayer.push({event: 'add_to_cart', ecommerce: {currency: 'EUR', value: 29, items: [
    {item_id: 2002, item_name: 'Merino Socks', item_category: 'Socks', price: 14.5, quantity: 2}]}});
  // A custom plugin event in between: not an e-commerce name, not forwarded, and it leaves the
  // ecommerce object as it is.
  dataLayer.push({event: 'gtm4wp.addProductToCartEEC', product: 2002});
  // No {ecommerce: null} before it: GTM's model still holds add_to_cart's ecommerce, so does the tag.
  dataLayer.push({event: 'view_cart'});
  // Cleared, then an event with no ecommerce of its own: nothing stale comes along.
  dataLayer.push({ecommerce: null});
  dataLayer.push({event: 'begin_checkout'});
  // The ecommerce object pushed first, the event after it (GTM merges the two).
  dataLayer.push({ecommerce: null});
  dataLayer.push({ecommerce: {transaction_id: 'WC-1041', affiliation: 'Web shop', currency: 'eur', value: '33.90', tax: 5.41,
    shipping: 4.9, coupon: 'WELCOME', items: [{item_id: 2002, item_name: 'Merino Socks', price: 14.5, quantity: 2}]}});
  dataLayer.push({event: 'purchase'});
}"""


def test_a_gtm_plugins_pushes_are_stored_with_ecommerce_null_clearing_between_them(shop, open_tab, ch):
    tab = open_tab()
    tab.page.goto(shop.page("/product-category/socks", tag={"data-datalayer": "true"}, before=GTM_PLUGIN_PAGE, stub=False))
    tab.page.evaluate(GTM_PLUGIN_CLICKS)
    assert wait_for_rows(ch, 7) == 7
    rows = stored(ch, COLUMNS)
    assert [r[0] for r in rows] == ["page_view", "view_item_list", "select_item", "add_to_cart", "view_cart", "begin_checkout", "purchase"]
    by_name = {r[0]: r[1:] for r in rows}
    assert by_name["view_item_list"] == (["2002", "2003"], ["Merino Socks", "Cotton Socks"], ["Socks", "Socks"], ["14.5", "9.9"],
                                         [1, 1], None, "EUR", "", {"item_list_id": "socks", "item_list_name": "Socks"})
    # The GA4 item keys our items store come along; index and the plugin's own keys do not.
    assert stored(ch, "items.item_brand, items.item_category2, items.item_variant", "name = 'view_item_list'") == [
        (["Woolly", ""], ["Wool", ""], ["", ""])]
    assert by_name["select_item"] == (["2002"], ["Merino Socks"], [""], ["0"], [1], None, "", "", {"item_list_name": "Socks"})
    assert by_name["add_to_cart"] == (["2002"], ["Merino Socks"], ["Socks"], ["14.5"], [2], "29", "EUR", "", {})
    assert by_name["view_cart"] == by_name["add_to_cart"]
    assert by_name["begin_checkout"] == ([], [], [], [], [], None, "", "", {})
    assert by_name["purchase"] == (["2002"], ["Merino Socks"], [""], ["14.5"], [2], "33.9", "EUR", "WC-1041",
                                   {"affiliation": "Web shop", "tax": "5.41", "shipping": "4.9", "coupon": "WELCOME"})
    assert tab.errors == []


# WooCommerce's Google Analytics plugin: gtag.js calls, before and after the tag loads.
WOO_GTAG_PAGE = """
window.dataLayer = window.dataLayer || [];
function gtag() { dataLayer.push(arguments) }
gtag('js', new Date());
gtag('set', 'developer_id.dOGY3NW', true);
gtag('config', 'G-TEST123', {allow_google_signals: true, link_attribution: false, anonymize_ip: true, logged_in: false});
gtag('event', 'view_item', {items: [{item_id: 2002, item_name: 'Merino Socks', item_list_name: 'Product List',
  item_category: 'Clothing', item_category2: 'Socks', price: 14.5}]});
"""

WOO_GTAG_CLICKS = """() => {
  gtag('event', 'add_to_cart', {items: [{item_id: 2002, item_name: 'Merino Socks', item_category: 'Clothing', quantity: 2, price: 14.5}]});
  gtag('event', 'remove_from_cart', {items: [{item_id: 2002, item_name: 'Merino Socks', quantity: 1, price: 14.5}]});
  gtag('event', 'begin_checkout', {currency: 'EUR', value: 19.4, coupon: 'WELCOME',
    items: [{item_id: 2002, item_name: 'Merino Socks', quantity: 1, price: 14.5}]});
  gtag('event', 'purchase', {transaction_id: 1041, affiliation: 'Woo Shop', currency: 'EUR', value: 19.4, tax: 3.1, shipping: 4.9,
    items: [{item_id: 2002, item_name: 'Merino Socks', quantity: 1, price: 14.5, discount: 0}]});
  gtag('event', 'search', {search_term: 'socks'});
}"""


def test_woocommerces_gtag_calls_are_stored_with_the_shops_currency(shop, open_tab, ch):
    tab = open_tab()
    tag = {"data-datalayer": "true", "data-currency": "EUR"}
    tab.page.goto(shop.page("/product/merino-socks", tag=tag, before=WOO_GTAG_PAGE, stub=False))
    tab.page.evaluate(WOO_GTAG_CLICKS)
    assert wait_for_rows(ch, 6) == 6
    rows = stored(ch, COLUMNS)
    assert [r[0] for r in rows] == ["page_view", "view_item", "add_to_cart", "remove_from_cart", "begin_checkout", "purchase"]
    by_name = {r[0]: r[1:] for r in rows}
    # No currency in these calls: data-currency gives it, or the tracker would refuse their prices.
    assert by_name["view_item"] == (["2002"], ["Merino Socks"], ["Clothing"], ["14.5"], [1], None, "EUR", "", {})
    assert by_name["add_to_cart"] == (["2002"], ["Merino Socks"], ["Clothing"], ["14.5"], [2], None, "EUR", "", {})
    assert by_name["remove_from_cart"][:6] == (["2002"], ["Merino Socks"], [""], ["14.5"], [1], None)
    assert by_name["begin_checkout"] == (["2002"], ["Merino Socks"], [""], ["14.5"], [1], "19.4", "EUR", "", {"coupon": "WELCOME"})
    assert by_name["purchase"] == (["2002"], ["Merino Socks"], [""], ["14.5"], [1], "19.4", "EUR", "1041",
                                   {"affiliation": "Woo Shop", "tax": "3.1", "shipping": "4.9"})
    # Events without money stay without a currency.
    assert stored(ch, "currency", "name = 'page_view'") == [("",)]
    assert tab.errors == []


def gtm_custom_html() -> str:
    """The Custom HTML tag docs/integrations/datalayer.md tells GTM users to create."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "integrations" / "datalayer.md").read_text()
    gtm = doc[doc.index("## Google Tag Manager"):]
    return re.search(r"```html\n\s*(.*?)\n\s*```", gtm, re.S).group(1)


# What GTM does with a Custom HTML tag: the HTML is parsed, and each script in it is recreated
# with its attributes and appended to the page, where it runs as an inserted, asynchronous script.
GTM_INJECTS = """
(function (html) {
  var holder = document.createElement('div');
  holder.innerHTML = html;
  var parsed = holder.querySelector('script'), script = document.createElement('script');
  for (var i = 0; i < parsed.attributes.length; i++) script.setAttribute(parsed.attributes[i].name, parsed.attributes[i].value);
  document.head.appendChild(script);
})(%s);
"""


def inline_string(text: str) -> str:
    """A JavaScript string literal that may stand in an inline <script> (no `</script>` in it)."""
    return json.dumps(text).replace("</", "<\\/")


def test_the_tag_loaded_by_gtm_as_documented_reads_the_containers_data_layer(shop, tracker, open_tab, ch):
    custom_html = gtm_custom_html()
    assert 'data-datalayer="true"' in custom_html
    custom_html = custom_html.replace("https://TRACKER", tracker.url).replace("SITE_ID", "demo")
    shop.pages["/gtm"] = (
        "<!doctype html><html><head><meta charset=utf-8><title>gtm</title>"
        f"<script>{GTM_PLUGIN_PAGE}</script>"
        f"<script>{GTM_INJECTS % inline_string(custom_html)}</script>"
        "</head><body><h1>gtm</h1></body></html>"
    )
    tab = open_tab()
    tab.page.goto(shop.url + "/gtm")
    tab.page.wait_for_function("() => window.fh && window.fh.track")
    tab.page.evaluate("() => { dataLayer.push({ecommerce: null}); dataLayer.push({event: 'view_item', ecommerce: "
                      "{currency: 'EUR', value: 14.5, items: [{item_id: 2002, item_name: 'Merino Socks', price: 14.5}]}}) }")
    assert wait_for_rows(ch, 3) == 3
    assert [r[:2] for r in stored(ch, "name, items.item_id")] == [
        ("page_view", []), ("view_item_list", ["2002", "2003"]), ("view_item", ["2002"])]
    assert tab.errors == []
