// The pixel's two settings, in place of the tag's data-attributes (../config.js): the shop fills
// them in at the top of dist/shopify-pixel.js, which the build puts outside the minified code.
/* global FUNNELHOUSE_SITE, FUNNELHOUSE_URL */

export const site = FUNNELHOUSE_SITE
// The tracker's base URL; events go to its /api/event, as the tag's do.
export const endpoint = FUNNELHOUSE_URL.replace(/\/+$/, '') + '/api/event'
// Shopify's events always carry their currency: the tag's data-currency fallback has no use here.
export const shopCurrency = null
