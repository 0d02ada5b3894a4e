// Shape what a shop passes into the fields the ingest API accepts (docs/events.md). The API
// rejects unknown fields, so GA4 parameters are mapped down: items keep only their five
// stored keys, the known e-commerce keys become fields, other flat values become props.

export const ECOMMERCE_EVENTS = (
  'view_item_list select_item view_item add_to_cart remove_from_cart view_cart ' +
  'begin_checkout add_shipping_info add_payment_info purchase refund'
).split(' ')

const MAX_PROPS = 30
const MAX_ITEMS = 200

// A finite number (GA4 data often holds prices as strings), else undefined, which JSON omits.
const number = (value) => ((value = parseFloat(value)), isFinite(value) ? value : undefined)
const text = (value) => (value != null ? String(value).slice(0, 128) : undefined)

function item(ga) {
  return {
    item_id: text(ga.item_id),
    item_name: text(ga.item_name),
    item_category: text(ga.item_category),
    price: number(ga.price),
    quantity: number(ga.quantity) && Math.round(ga.quantity),
  }
}

export function eventFields(params) {
  const fields = {}
  const props = {}
  let propCount = 0
  for (const key in params) {
    const value = params[key]
    if (key == 'items') {
      fields.items = [].concat(value || []).slice(0, MAX_ITEMS).map((ga) => item(ga || {})).filter((i) => i.item_id || i.item_name)
    } else if (key == 'value') {
      fields.value = number(value)
    } else if (key == 'currency') {
      fields.currency = text(value)?.toUpperCase()
    } else if (key == 'transaction_id') {
      fields.transaction_id = text(value)
    } else if (/^(string|number|boolean)$/.test(typeof value) && key && key.length < 65 && propCount++ < MAX_PROPS) {
      props[key] = typeof value == 'string' ? value.slice(0, 512) : value
    }
  }
  fields.props = props
  return fields
}
