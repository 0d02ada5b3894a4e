// The transport's queue of failed events (../transport.js keeps it under 'fh_q'), in place of
// ../storage.js: a pixel's sandbox has no localStorage of its own (an opaque origin). Shopify's
// browser.localStorage lives in the shop's top frame and is asynchronous, so the queue lives in
// memory and is written through to it, and read back on the next page, only while the shopper
// allows analytics (setPersistence); otherwise it lasts as long as the page.

const memory = {}
let persistent = null

export const load = (key) => memory[key]

export function save(key, value) {
  memory[key] = value
  persistent?.setItem(key, JSON.stringify(value)).catch(() => {})
}

// storage: browser.localStorage with consent, null without (what it held is removed then).
// Resolves once what a previous page left is back in memory, ahead of what this page queued.
export async function setPersistence(storage, key) {
  const previous = persistent
  persistent = storage
  if (!storage) return previous?.removeItem(key)
  const left = JSON.parse((await storage.getItem(key)) || '[]')
  if (left.length) save(key, left.concat(memory[key] || []))
}
