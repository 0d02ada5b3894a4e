// Getting events to the tracker without losing them: short batches sent with fetch keepalive,
// sendBeacon when the page is hidden or closed, and a small localStorage queue for what failed,
// retried with backoff on a timer, on the next page and when the browser comes back online.

import { sendTime } from './clock.js'
import { endpoint, site } from './config.js'
import { load, save } from './storage.js'

const BATCH_DELAY_MS = 1000 // long enough to group a click's events, short enough to see them live
const BATCH_MAX = 20 // events per request; keeps bodies far below the 64 kB keepalive/beacon limit
const STORED_MAX = 100 // failed events kept for later; the oldest go first when it overflows
const RETRY_MAX_MS = 60000
const STORE_KEY = 'fh_q'

let batch = []
let batchTimer = 0
let retryTimer = 0
let retryDelay = 0

export function enqueue(event) {
  batch.push(event)
  if (batch.length >= BATCH_MAX) flush()
  else batchTimer = batchTimer || setTimeout(flush, BATCH_DELAY_MS)
}

export function flush() {
  clearTimeout(batchTimer)
  batchTimer = 0
  if (batch.length) send(batch.splice(0))
}

// The page is being hidden or unloaded: fetch may be cancelled now, a beacon is not.
export function flushWithBeacon() {
  const events = batch.splice(0)
  if (!events.length) return
  if (!navigator.onLine) keep(events)
  else beacon(events)
}

const beacon = (events) => navigator.sendBeacon?.(endpoint, body(events)) || keep(events)

// optOut: events not yet sent are dropped, and so is the stored queue.
export function discard() {
  batch = []
  save(STORE_KEY, [])
}

// A text/plain body makes a "simple" CORS request: no preflight, one request per batch.
const body = (events) => JSON.stringify({ site, sent_at: sendTime(), events })

// Runs from timers too, where nothing else would catch a throw (fetch and sendBeacon throw
// at once on a malformed data-api URL), hence its own try.
function send(events) {
  try {
    if (!window.fetch) return beacon(events)
    fetch(endpoint, { method: 'POST', body: body(events), keepalive: true })
      .then((response) => {
        // Other 4xx answers mean the events are invalid: sending them again cannot help.
        // (5xx, 429 and 408 are worth a retry.)
        if (/^(5|429|408)/.test(response.status)) throw 0
        retryDelay = 0
      })
      .catch(() => keep(events))
  } catch {
    keep(events)
  }
}

function keep(events) {
  save(STORE_KEY, (load(STORE_KEY) || []).concat(events).slice(-STORED_MAX))
  if (!retryTimer) {
    retryDelay = Math.min(retryDelay * 2 || 1000, RETRY_MAX_MS)
    retryTimer = setTimeout(retry, retryDelay)
  }
}

export function retry() {
  clearTimeout(retryTimer)
  retryTimer = 0
  const stored = load(STORE_KEY) || []
  if (!stored.length) return
  save(STORE_KEY, [])
  while (stored.length) send(stored.splice(0, BATCH_MAX))
}
