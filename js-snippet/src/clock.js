// Event times in milliseconds that strictly increase within a page, so calls made in the same
// millisecond keep their order in storage, and funnels see the steps in the order they happened.
let last = 0
export const eventTime = () => (last = Math.max(Date.now(), last + 1))

// The tracker corrects client clocks with ts + (its receive time - sent_at) and clamps times in
// the future; a send time never before the newest event time keeps a burst from being clamped.
export const sendTime = () => Math.max(Date.now(), last)
