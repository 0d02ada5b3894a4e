// Shopify's standard customer events (Web Pixels API) as GA4 e-commerce parameters, which
// ../fields.js then shapes into the fields /api/event takes. docs/integrations/shopify.md lists
// the mapping. Prices are MoneyV2 objects ({amount, currencyCode}); ids may be GraphQL ids.

// "gid://shopify/Order/5678" and "5678" are the same order: the webhook's `id` is the number.
export const plainId = (id) => (id == null ? id : ('' + id).replace(/^gid:\/\/shopify\/\w+\//, ''))

// "Default Title" is the variant of a product that has no options: it names no variant.
const variantTitle = (title) => (title != 'Default Title' ? title : undefined)

function item(variant, quantity, price, discount) {
  const product = variant?.product || {}
  return (
    variant && {
      item_id: plainId(product.id ?? variant.id),
      item_name: product.title ?? variant.title,
      item_category: product.type || undefined,
      item_brand: product.vendor || undefined,
      item_variant: product.title != null ? variantTitle(variant.title) : undefined,
      price: (price || variant.price)?.amount,
      quantity,
      discount,
    }
  )
}

// A checkout line's discounts (its discountAllocations) per unit, as GA4's item discount is.
function unitDiscount(line) {
  const total = (line.discountAllocations || []).reduce((sum, d) => sum + (+d?.amount?.amount || 0), 0)
  return total && line.quantity ? Math.round((total / line.quantity) * 1e4) / 1e4 : undefined
}

const money = (price) => ({ value: price?.amount, currency: price?.currencyCode })

const cartLine = (line) => ({
  ...money(line?.cost?.totalAmount),
  items: [item(line?.merchandise, line?.quantity)],
})

const list = (variants) => ({
  currency: variants?.[0]?.price?.currencyCode,
  items: (variants || []).map((variant) => item(variant)),
})

function checkout({ checkout: c }) {
  return {
    value: c?.totalPrice?.amount,
    currency: c?.currencyCode || c?.totalPrice?.currencyCode,
    items: (c?.lineItems || []).map((line) => item(line.variant, line.quantity, undefined, unitDiscount(line))),
    shipping: c?.shippingLine?.price?.amount,
    tax: c?.totalTax?.amount,
    coupon: c?.discountApplications?.find((d) => d.type == 'DISCOUNT_CODE')?.title,
    // The order's webhook carries it too (checkout_token): it finds this visitor by it.
    checkout_token: c?.token,
  }
}

// Shopify's name -> [our name, parameters from event.data]. Contact and address have no GA4
// event: they keep names of their own, so a funnel can still use them as steps.
export const EVENTS = {
  page_viewed: ['page_view', () => ({})],
  product_viewed: ['view_item', ({ productVariant: v }) => ({ ...money(v?.price), items: [item(v, 1)] })],
  collection_viewed: [
    'view_item_list',
    ({ collection: c }) => ({ ...list(c?.productVariants), item_list_id: plainId(c?.id), item_list_name: c?.title }),
  ],
  search_submitted: ['search', ({ searchResult: r }) => ({ ...list(r?.productVariants), search_term: r?.query })],
  product_added_to_cart: ['add_to_cart', ({ cartLine: line }) => cartLine(line)],
  product_removed_from_cart: ['remove_from_cart', ({ cartLine: line }) => cartLine(line)],
  cart_viewed: [
    'view_cart',
    ({ cart }) => ({
      ...money(cart?.cost?.totalAmount),
      items: (cart?.lines || []).map((line) => item(line.merchandise, line.quantity)),
    }),
  ],
  checkout_started: ['begin_checkout', checkout],
  checkout_contact_info_submitted: ['add_contact_info', checkout],
  checkout_address_info_submitted: ['add_address_info', checkout],
  checkout_shipping_info_submitted: ['add_shipping_info', checkout],
  payment_info_submitted: ['add_payment_info', checkout],
  checkout_completed: ['purchase', (data) => ({ ...checkout(data), transaction_id: plainId(data.checkout?.order?.id) })],
}
