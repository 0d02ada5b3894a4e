// The options a shop sets on its <script> tag (documented in js-snippet/README.md).

// A classic script knows its own element while it runs (also when a tag manager inserts it).
// Without one, the line below throws and the try around the file keeps the tag idle.
const script = document.currentScript
const options = script.dataset

// A boolean attribute: absent gives the default; present means on unless it says "false".
const flag = (value, fallback) => (value == null ? fallback : value != 'false')

export const site = options.site
// The host that served t.js also takes the events, unless data-api points elsewhere. The
// tracker writes the ingest path belonging to the path it served the tag at over this literal
// (TRACKER_SNIPPET_PATHS / TRACKER_INGEST_PATHS, tracker/http/snippet.py): a tag loaded through
// the shop's own domain from /a/s.js sends to /a/e there. Keep it a plain '/api/event' string.
export const endpoint = options.api || new URL('/api/event', script.src).href
export const autoPageviews = flag(options.auto, true)
export const hashRouting = flag(options.hash, false)
export const consentRequired = options.consent == 'required'
export const respectDnt = flag(options.dnt, true)
export const dataLayerBridge = flag(options.datalayer, false)
// data-currency="EUR": the currency of events that give a value or prices but none of their own
// (WooCommerce's GA4 plugin sends product views and cart additions so).
export const shopCurrency = options.currency

// data-exclude="/admin*, /account/*": `*` matches any characters, the rest literally.
export const excluded = (options.exclude || '')
  .split(/[\s,]+/)
  .filter(Boolean)
  .map((glob) => new RegExp('^' + glob.replace(/\W/g, '\\$&').replace(/\\\*/g, '.*') + '$'))
