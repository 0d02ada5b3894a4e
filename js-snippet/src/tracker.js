// Funnelhouse tracking tag. The shop pastes:
//   <script defer src="https://TRACKER/js/t.js" data-site="SITE_ID"></script>
// and calls window.fh (see js-snippet/README.md). Nothing here may break the shop: every entry
// point (API calls, listeners, timers, hooks) runs inside `safe`, which swallows errors.

import { autoPageviews, consentRequired, dataLayerBridge, excluded, respectDnt, site } from './config.js'
import { eventTime } from './clock.js'
import { bridgeDataLayer } from './datalayer.js'
import { ECOMMERCE_EVENTS, eventFields, text } from './fields.js'
import { uuid } from './ids.js'
import { currentPage, pageview, watchNavigation } from './pageviews.js'
import { load, save } from './storage.js'
import { discard, enqueue, flushWithBeacon, retry } from './transport.js'

const OPT_OUT_KEY = 'fh_optout'
const HELD_MAX = 100

const safe =
  (fn) =>
  (...args) => {
    try {
      return fn(...args)
    } catch {}
  }

const privacySignal = () =>
  respectDnt && (navigator.doNotTrack == '1' || navigator.globalPrivacyControl)

let off = privacySignal() || load(OPT_OUT_KEY)
// Consent mode: undecided (null) until the shop calls consent(); events wait in memory, not storage.
let consented = consentRequired ? null : true
let held = []
let customerId
let drainDataLayer

function record(name, fields) {
  if (off || consented === false || excluded.some((glob) => glob.test(currentPage()))) return
  const event = { name, url: location.href, ts: eventTime(), event_id: uuid(), customer_id: customerId, ...fields }
  if (consented) enqueue(event)
  else held.length < HELD_MAX && held.push(event)
}

const track = (name, params) => name && record('' + name, eventFields(params))

const commands = {
  track,
  page_view: () => pageview(record),
  // Only an opaque or hashed id, and only with consent: an email address is refused outright.
  identify: (id) => {
    if (consented) customerId = id && !/@/.test(id) ? text(id) : undefined
  },
  consent: (granted) => {
    consented = !!granted
    const waiting = held
    held = []
    if (granted) waiting.forEach(enqueue)
    else customerId = undefined
  },
  optOut: (out = true) => {
    save(OPT_OUT_KEY, out || null)
    off = out || privacySignal()
    if (out) discard()
  },
}
for (const name of ECOMMERCE_EVENTS) commands[name] = (params) => track(name, params)

// window.fh('purchase', {...}) and fh.purchase({...}) are the same call; unknown commands do nothing.
const fh = safe((command, ...args) => commands[command]?.(...args))
for (const name in commands) fh[name] = safe(commands[name])

// A failure in here is caught by the try around the whole file (see the build in package.json).
function start() {
  const stub = window.fh
  if (!site || stub?.track) return // without a site, or as a second copy of the tag: stay idle
  window.fh = fh

  const hide = safe(() => {
    drainDataLayer?.()
    flushWithBeacon()
  })
  // Hidden: tab or app switched, maybe never to return (mobile). pagehide: navigation away.
  addEventListener('visibilitychange', () => document.hidden && hide())
  addEventListener('pagehide', hide)
  addEventListener('online', safe(retry))

  if (autoPageviews) {
    pageview(record)
    watchNavigation(record, safe)
  }
  // Calls made through the stub before this script loaded, in their order.
  for (const args of stub?.q || []) fh(...args)
  if (dataLayerBridge) drainDataLayer = bridgeDataLayer(track, safe)
  retry() // events a previous page could not send
}

start()
