// The options a shop sets on its <script> tag (documented in js-snippet/README.md).

// A classic script knows its own element while it runs (also when a tag manager inserts it).
// Without one, the line below throws and the try around the file keeps the tag idle.
const script = document.currentScript
const options = script.dataset

// A boolean attribute: absent gives the default; present means on unless it says "false".
const flag = (value, fallback) => (value == null ? fallback : value != 'false')

export const site = options.site
// The tracker that serves t.js also takes the events, unless data-api points elsewhere.
export const endpoint = options.api || new URL('/api/event', script.src).href
export const autoPageviews = flag(options.auto, true)
export const hashRouting = flag(options.hash, false)
export const consentRequired = options.consent == 'required'
export const respectDnt = flag(options.dnt, true)
export const dataLayerBridge = flag(options.datalayer, false)

// data-exclude="/admin*, /account/*": `*` matches any characters, the rest literally.
export const excluded = (options.exclude || '')
  .split(/[\s,]+/)
  .filter(Boolean)
  .map((glob) => new RegExp('^' + glob.replace(/\W/g, '\\$&').replace(/\\\*/g, '.*') + '$'))
