"""A page shaped like a Shopify storefront running a custom pixel, for Chromium.

Shopify runs a custom pixel in a sandboxed iframe (an opaque origin: no access to the shop's
page, its DOM or its storage) and hands it the Web Pixels API: `analytics.subscribe` for the
standard customer events, `init` (with `customerPrivacy`), `customerPrivacy.subscribe` for consent
changes, and `browser.localStorage` / `browser.sessionStorage`, which run in the top frame and
answer asynchronously. This module builds the same: a top page whose only job is answering
storage calls posted to it, and inside it an `<iframe sandbox="allow-scripts">` with the API
objects and the built pixel (js-snippet/dist/shopify-pixel.js) wrapped in a function the way
Shopify wraps pasted code. Tests publish events into the frame with the documented payloads
(the fixtures below, written from the Web Pixels API reference) and `context.document` of the
storefront page the shopper is on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

PIXEL_PATH = Path(__file__).resolve().parents[2] / "js-snippet" / "dist" / "shopify-pixel.js"
STOREFRONT = "https://funnel-linen.example"

TOP_FRAME = """<!doctype html><html><head><meta charset=utf-8><title>storefront</title><script>
// The top frame's side of browser.localStorage / sessionStorage: calls posted by the sandbox.
addEventListener('message', (e) => {
  const m = e.data || {}
  if (m.call === undefined) return
  let result = null, error = null
  try { result = window[m.area][m.method](...m.args) ?? null } catch (x) { error = String(x) }
  e.source.postMessage({ reply: m.call, result, error }, '*')
})
</script></head><body><iframe id=pixel sandbox="allow-scripts" src="/pixel-sandbox?consent=CONSENT"></iframe></body></html>"""

SANDBOX = """<!doctype html><html><head><meta charset=utf-8><script>
const allowed = new URLSearchParams(location.search).get('consent') == '1'
const privacyOf = (yes) => ({ analyticsProcessingAllowed: yes, marketingAllowed: yes, preferencesProcessingAllowed: yes, saleOfDataAllowed: yes })
const subscribers = {}, consentSubscribers = [], pending = {}
let calls = 0, seq = 0
addEventListener('message', (e) => {
  const r = e.data || {}
  if (r.reply in pending) { pending[r.reply](r); delete pending[r.reply] }
})
const area = (name) => Object.fromEntries(['getItem', 'setItem', 'removeItem'].map((method) => [method, (...args) =>
  new Promise((resolve, reject) => {
    const id = calls++
    pending[id] = (r) => (r.error ? reject(new Error(r.error)) : resolve(r.result))
    parent.postMessage({ call: id, area: name, method, args }, '*')
  })]))
const shopify = {
  analytics: { subscribe: (name, callback) => { (subscribers[name] = subscribers[name] || []).push(callback) } },
  browser: { localStorage: area('localStorage'), sessionStorage: area('sessionStorage') },
  init: { context: {}, data: { customer: null, shop: { name: 'Funnel Linen', myShopifyDomain: 'funnel-linen.myshopify.com' } },
          customerPrivacy: privacyOf(allowed) },
  customerPrivacy: { subscribe: (name, callback) => { if (name == 'visitorConsentCollected') consentSubscribers.push(callback) } },
}
// A standard event as Shopify delivers it: id, name, seq, type, timestamp, clientId, context, data.
window.publish = (name, data, page) => {
  const url = new URL(page.href)
  const event = {
    id: 'sh-' + seq, clientId: 'shopify-client-1', name, seq: seq++, type: 'standard', timestamp: new Date().toISOString(), data,
    context: {
      document: { location: { href: url.href, hash: url.hash, host: url.host, hostname: url.hostname, origin: url.origin,
                              pathname: url.pathname, port: url.port, protocol: url.protocol, search: url.search },
                  referrer: page.referrer || '', characterSet: 'UTF-8', title: page.title || 'Funnel Linen' },
      navigator: { cookieEnabled: true, language: 'de-DE', languages: ['de-DE'], userAgent: navigator.userAgent },
      window: { innerHeight: 800, innerWidth: 1200, location: { href: url.href }, origin: url.origin },
    },
  }
  for (const callback of subscribers[name] || []) callback(event)
}
window.collectConsent = (yes) => consentSubscribers.forEach((callback) => callback({ customerPrivacy: privacyOf(yes) }))
</script><script>
(function (analytics, browser, init, api) {
PIXEL
})(shopify.analytics, shopify.browser, shopify.init, { customerPrivacy: shopify.customerPrivacy })
window.pixelLoaded = true
</script></head><body></body></html>"""


def pixel_code(site: str, tracker_url: str) -> str:
    """The built pixel with its two settings filled in, as a shop would."""
    code = PIXEL_PATH.read_text()
    code, n = re.subn(r"^const FUNNELHOUSE_SITE = '[^']*'", f"const FUNNELHOUSE_SITE = {json.dumps(site)}", code, flags=re.M)
    code, m = re.subn(r"^const FUNNELHOUSE_URL = '[^']*'", f"const FUNNELHOUSE_URL = {json.dumps(tracker_url)}", code, flags=re.M)
    assert n == m == 1, "the pixel's two settings are not where docs/integrations/shopify.md says"
    return code


def install(shop, site: str) -> None:
    """Serve the storefront (/storefront, /storefront-no-consent) and the pixel's sandbox from the shop fixture."""
    shop.pages["/storefront"] = TOP_FRAME.replace("CONSENT", "1")
    shop.pages["/storefront-no-consent"] = TOP_FRAME.replace("CONSENT", "0")
    shop.pages["/pixel-sandbox"] = SANDBOX.replace("PIXEL", pixel_code(site, shop.tracker_url))


def money(amount: float) -> dict:
    return {"amount": amount, "currencyCode": "EUR"}


# ProductVariant, as in product_viewed's data.productVariant and in every cart and checkout line.
APRON = {"id": "44123456789", "title": "Sand", "sku": "APRON-SAND", "untranslatedTitle": "Sand", "price": money(19.95),
         "image": {"src": "https://cdn.shopify.com/s/files/1/apron.jpg"},
         "product": {"id": "8123456789", "title": "Linen apron", "untranslatedTitle": "Linen apron", "vendor": "Funnel Linen",
                     "type": "Aprons", "url": "/products/linen-apron"}}
TOWEL = {"id": "44123456790", "title": "Default Title", "sku": "TOWEL", "untranslatedTitle": "Default Title", "price": money(20.0),
         "image": {"src": "https://cdn.shopify.com/s/files/1/towel.jpg"},
         "product": {"id": "8123456790", "title": "Tea towel", "untranslatedTitle": "Tea towel", "vendor": "Funnel Linen",
                     "type": "Kitchen", "url": "/products/tea-towel"}}


def cart_line(variant: dict, quantity: int) -> dict:
    """CartLine: product_added_to_cart / product_removed_from_cart data.cartLine, cart.lines[]."""
    return {"cost": {"totalAmount": money(round(variant["price"]["amount"] * quantity, 2))}, "merchandise": variant,
            "quantity": quantity}


CART = {"id": "gid://shopify/Cart/Z2NwLWV1cm9wZS13ZXN0NDoxSDBQWk", "attributes": [], "totalQuantity": 3,
        "cost": {"totalAmount": money(59.9)}, "lines": [cart_line(APRON, 2), cart_line(TOWEL, 1)]}
ADDRESS = {"address1": "Hauptstr. 1", "address2": None, "city": "Berlin", "country": "Germany", "countryCode": "DE",
           "firstName": "Ada", "lastName": "Buyer", "phone": None, "province": None, "provinceCode": None, "zip": "10115"}


def checkout(order_id: str | None = None) -> dict:
    """Checkout: data.checkout of checkout_started .. checkout_completed (order set on completion)."""
    lines = [{"id": "gid://shopify/CheckoutLineItem/1", "quantity": 2, "title": "Linen apron", "variant": APRON,
              "finalLinePrice": money(34.9), "discountAllocations": [
                  {"amount": money(5.0), "discountApplication": {"type": "DISCOUNT_CODE", "title": "SPRING10",
                                                                 "value": money(5.0), "allocationMethod": "ACROSS",
                                                                 "targetSelection": "ALL", "targetType": "LINE_ITEM"}}]},
             {"id": "gid://shopify/CheckoutLineItem/2", "quantity": 1, "title": "Tea towel", "variant": TOWEL,
              "finalLinePrice": money(20.0), "discountAllocations": []}]
    return {
        "token": "4a1b2c3d4e5f60718293a4b5c6d7e8f9", "attributes": [], "currencyCode": "EUR", "email": "buyer@example.com",
        "phone": None, "lineItems": lines, "subtotalPrice": money(54.9), "totalPrice": money(59.9), "totalTax": money(9.56),
        "shippingLine": {"price": money(5.0)}, "shippingAddress": ADDRESS, "billingAddress": ADDRESS,
        "discountApplications": [{"type": "DISCOUNT_CODE", "title": "SPRING10", "value": money(5.0), "allocationMethod": "ACROSS",
                                  "targetSelection": "ALL", "targetType": "LINE_ITEM"}],
        "order": {"id": order_id, "customer": {"id": "7012345678901", "isFirstOrder": True}} if order_id else None,
    }


COLLECTION = {"id": "gid://shopify/Collection/424242", "title": "Kitchen", "productVariants": [APRON, TOWEL]}
SEARCH = {"query": "apron", "productVariants": [APRON]}


def journey(order_id: str) -> list[tuple[str, list[tuple[str, dict]]]]:
    """A purchase over seven page loads: (storefront URL, [(standard event, data)]) per page."""
    completed = {"checkout": checkout(order_id)}
    steps = {"checkout": checkout()}
    return [
        (f"{STOREFRONT}/?utm_source=newsletter&utm_medium=email&utm_campaign=spring", [("page_viewed", {})]),
        (f"{STOREFRONT}/collections/kitchen", [("page_viewed", {}), ("collection_viewed", {"collection": COLLECTION})]),
        (f"{STOREFRONT}/search?q=apron", [("page_viewed", {}), ("search_submitted", {"searchResult": SEARCH})]),
        (f"{STOREFRONT}/products/linen-apron", [
            ("page_viewed", {}), ("product_viewed", {"productVariant": APRON}),
            ("product_added_to_cart", {"cartLine": cart_line(APRON, 2)}),
            ("product_added_to_cart", {"cartLine": cart_line(TOWEL, 2)}),
            ("product_removed_from_cart", {"cartLine": cart_line(TOWEL, 1)}),
        ]),
        (f"{STOREFRONT}/cart", [("page_viewed", {}), ("cart_viewed", {"cart": CART})]),
        (f"{STOREFRONT}/checkouts/cn/4a1b2c3d/information", [
            ("checkout_started", steps), ("checkout_contact_info_submitted", steps),
            ("checkout_address_info_submitted", steps), ("checkout_shipping_info_submitted", steps),
            ("payment_info_submitted", steps),
        ]),
        (f"{STOREFRONT}/checkouts/cn/4a1b2c3d/thank-you", [("page_viewed", {}), ("checkout_completed", completed)]),
    ]
