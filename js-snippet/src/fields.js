// Shape what a shop passes into the fields the ingest API accepts (docs/events.md). The API
// rejects unknown fields, so GA4 parameters are mapped down: items keep only their five
// stored keys, the known e-commerce keys become fields, other flat values become props.

import { shopCurrency } from './config.js'

export const ECOMMERCE_EVENTS = (
  'view_item_list select_item view_item add_to_cart remove_from_cart view_cart ' +
  'begin_checkout add_shipping_info add_payment_info purchase refund'
).split(' ')

const MAX_PROPS = 30
const MAX_ITEMS = 200

// A finite number (GA4 data often holds prices as strings), else undefined, which JSON omits.
const number = (value) => ((value = parseFloat(value)), isFinite(value) ? value : undefined)
export const text = (value) => (value != null ? '' + value : undefined)

function item(ga) {
  return {
    item_id: text(ga.item_id),
    item_name: text(ga.item_name),
    item_category: text(ga.item_category),
    price: number(ga.price),
    quantity: number(ga.quantity),
  }
}

export function eventFields(params) {
  const { items, value, currency, transaction_id, ...rest } = params || {}
  const props = {}
  let propCount = 0
  for (const key in rest) {
    const prop = rest[key]
    const scalar = typeof prop == 'number' ? isFinite(prop) : /^(string|boolean)$/.test(typeof prop)
    if (scalar && key && key.length < 65 && propCount++ < MAX_PROPS) {
      props[key] = typeof prop == 'string' ? prop.slice(0, 512) : prop
    }
  }
  return {
    // An item needs an id or a name; without either the tracker would refuse the whole event.
    items: items && [].concat(items).filter((ga) => ga?.item_id != null || ga?.item_name != null).slice(0, MAX_ITEMS).map(item),
    value: number(value),
    currency: text(currency || ((items || value != null) && shopCurrency) || null)?.toUpperCase(),
    transaction_id: text(transaction_id),
    props,
  }
}
