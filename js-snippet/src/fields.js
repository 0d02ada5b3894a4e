// Shape what a shop passes into the fields the ingest API accepts (docs/events.md). The API
// rejects unknown fields, so GA4 parameters are mapped down: items keep only the GA4 keys that
// are stored (ITEM_KEY), the known e-commerce keys become fields, other flat values become props.

import { shopCurrency } from './config.js'

export const ECOMMERCE_EVENTS = (
  'view_item_list select_item view_item add_to_cart remove_from_cart view_cart ' +
  'begin_checkout add_shipping_info add_payment_info purchase refund'
).split(' ')

const MAX_PROPS = 30
const MAX_ITEMS = 200

// A finite number (GA4 data often holds prices as strings), else undefined, which JSON omits.
const number = (value) => (isFinite((value = parseFloat(value))) ? value : undefined)
export const text = (value) => (value != null ? '' + value : undefined)

// The keys the API stores: an item's item_ ones are texts, the others amounts. Patterns rather than
// lists of names keep the tag within its size budget (tests/test_snippet_http.py).
const ITEM_KEY = /^(item_(id|name|brand|variant|category[2-5]?)|price|quantity|discount)$/

function item(ga) {
  const out = {}
  for (const key in ga) if (ITEM_KEY.test(key)) out[key] = (key[4] == '_' ? text : number)(ga[key])
  return out
}

export function eventFields(params) {
  const { items, value, currency, transaction_id, ...rest } = params || {}
  const props = {}
  let propCount = 0
  for (const key in rest) {
    const prop = rest[key]
    const scalar = Number.isFinite(prop) || /^(st|bo)/.test(typeof prop) // or a string or a boolean
    if (scalar && key && key.length < 65 && propCount++ < MAX_PROPS) {
      props[key] = prop.slice?.(0, 512) ?? prop // strings cut, numbers and booleans as they are
    }
  }
  return {
    // An item needs an id or a name; without either the tracker would refuse the whole event.
    items: items && [].concat(items).map(item).filter((i) => i.item_id || i.item_name).slice(0, MAX_ITEMS),
    value: number(value),
    currency: text(currency || ((items || value != null) && shopCurrency) || null)?.toUpperCase(),
    transaction_id: text(transaction_id),
    props,
  }
}

// eventFields, with the order's own GA4 fields (coupon, shipping, tax) in their columns rather than
// in props. The Shopify pixel uses it; the tag has no room left in its size budget for it, so what
// it is given of these stays in props (tree-shaking keeps this function out of dist/t.js).
export function orderFields(params) {
  const { coupon, shipping, tax, ...rest } = params || {}
  return { ...eventFields(rest), coupon: text(coupon), shipping: number(shipping), tax: number(tax) }
}
