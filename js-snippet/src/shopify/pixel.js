// Funnelhouse pixel for Shopify's Customer events (a custom pixel; docs/integrations/shopify.md).
// Shopify runs it in a sandboxed iframe with no access to the shop's page: what it learns comes
// from the Web Pixels API's `analytics` (the standard events), `init` (consent at page load),
// `customerPrivacy` (consent changes) and `browser` (the top frame's storage, asynchronous).
// Events are shaped and sent by the tag's own modules (../fields.js, ../transport.js).
/* global analytics, browser, init, api, customerPrivacy */

import { eventTime } from '../clock.js'
import { orderFields } from '../fields.js'
import { uuid } from '../ids.js'
import { enqueue, flushWithBeacon, retry } from '../transport.js'
import { EVENTS } from './events.js'
import { setPersistence } from './storage.js'

const VISITOR_KEY = 'fh_vid'
const SESSION_KEY = 'fh_sid'
const QUEUE_KEY = 'fh_q' // ../transport.js's

const safe =
  (fn) =>
  (...args) => {
    try {
      return fn(...args)
    } catch {}
  }

// The id kept under `key` in a browser.* storage area, made on first use.
async function remembered(area, key) {
  let id = await area.getItem(key)
  if (!id) await area.setItem(key, (id = uuid()))
  return id
}

// Resolves to the fields that tie events together: a visitor and a session id kept in the
// shop's storage while the shopper allows analytics; none otherwise, and the tracker counts the
// shopper cookieless like the tag (a daily hash of IP and User-Agent).
let identity = Promise.resolve({})

function decide(privacy) {
  const allowed = !!privacy?.analyticsProcessingAllowed
  const { localStorage: local, sessionStorage: session } = browser
  identity = (
    allowed
      ? Promise.all([remembered(local, VISITOR_KEY), remembered(session, SESSION_KEY)]).then(([visitor, sessionId]) => ({
          visitor,
          session: sessionId,
        }))
      : Promise.all([local.removeItem(VISITOR_KEY), session.removeItem(SESSION_KEY)]).then(() => ({}))
  ).catch(() => ({}))
  setPersistence(allowed ? local : null, QUEUE_KEY).then(retry, () => {})
}

function record(event) {
  const [name, params] = EVENTS[event.name]
  const page = event.context?.document || {}
  // The page the shopper sees: the pixel's own location is the sandbox's URL.
  const fields = {
    name,
    url: page.location?.href,
    referrer: page.referrer || undefined,
    ts: eventTime(),
    event_id: uuid(),
    ...orderFields(params(event.data || {})),
  }
  identity.then((ids) => {
    // A kept visitor id rides along a checkout's events, so that the order's webhook, which may
    // arrive first, is stored as this visitor's purchase (docs/integrations/shopify.md).
    if (ids.visitor && fields.props.checkout_token) fields.props.fh_visitor = ids.visitor
    enqueue({ ...fields, ...ids })
  })
}

function start() {
  decide(init.customerPrivacy)
  // Custom pixels get the consent API as `api.customerPrivacy` or as `customerPrivacy`.
  const privacy = (typeof api != 'undefined' && api?.customerPrivacy) || (typeof customerPrivacy != 'undefined' && customerPrivacy)
  privacy?.subscribe?.('visitorConsentCollected', safe((event) => decide(event.customerPrivacy)))
  for (const name in EVENTS) analytics.subscribe(name, safe(record))

  const hide = safe(flushWithBeacon)
  addEventListener('visibilitychange', () => document.hidden && hide())
  addEventListener('pagehide', hide)
  addEventListener('online', safe(retry))
}

start()
