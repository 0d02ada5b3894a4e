// Page views: one on load and one per navigation of a single-page shop (history API, and the
// URL fragment when data-hash is set). The first carries document.referrer and so the source;
// later ones carry the previous page, which the tracker recognises as navigation inside the shop.

import { hashRouting } from './config.js'

let lastPage
let previousUrl = document.referrer

export const currentPage = () => location.pathname + location.search + (hashRouting ? location.hash : '')

export function pageview(record) {
  lastPage = currentPage()
  record('page_view', { referrer: previousUrl })
  previousUrl = location.href
}

export function watchNavigation(record, safe) {
  // replaceState that only rewrites state, or a pushState to the same URL, is not a new page.
  const onNavigate = safe(() => currentPage() != lastPage && pageview(record))
  for (const method of ['pushState', 'replaceState']) {
    const original = history[method]
    history[method] = function () {
      const result = original.apply(this, arguments) // the page's own errors stay the page's
      onNavigate()
      return result
    }
  }
  addEventListener('popstate', onNavigate)
  if (hashRouting) addEventListener('hashchange', onNavigate)
}
