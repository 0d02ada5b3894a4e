// The GA4/GTM bridge (data-datalayer): a shop already instrumented for GA4 pushes its
// e-commerce events to window.dataLayer, either the GTM way ({event, ecommerce}) or through
// gtag('event', name, params), which pushes an arguments object. Those are forwarded as they are.
// Like GTM's data layer model, the last `ecommerce` pushed stays current until replaced, so an
// event pushed without one carries it, and plugins push {ecommerce: null} first to clear it.
// Unlike GTM, a new ecommerce object replaces the old one instead of merging into it.

import { ECOMMERCE_EVENTS } from './fields.js'

export function bridgeDataLayer(track, safe) {
  const dataLayer = (window.dataLayer = window.dataLayer || [])
  let seen = 0
  let ecommerce
  // A cursor rather than only a push hook: entries pushed before this script loaded count too,
  // and a tag manager that later replaces push is still read when the page is hidden.
  const drain = safe(() => {
    while (seen < dataLayer.length) {
      const entry = dataLayer[seen++] || {}
      const gtag = entry[0] == 'event'
      const name = gtag ? entry[1] : entry.event
      if (entry.ecommerce !== undefined) ecommerce = entry.ecommerce // null clears it
      const params = gtag ? entry[2] : ecommerce
      if (ECOMMERCE_EVENTS.includes(name)) track(name, params)
    }
  })
  const push = dataLayer.push
  dataLayer.push = function () {
    const result = push.apply(this, arguments)
    drain()
    return result
  }
  drain()
  return drain
}
