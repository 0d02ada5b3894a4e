// One random UUID per event: the server drops an event_id it has already stored, so resending
// a batch after a failed or unanswered request never counts twice.
export function uuid() {
  // randomUUID exists only in secure contexts (https); a shop on plain http gets this v4 form.
  return (
    crypto.randomUUID?.() ||
    ([1e7] + -1e3 + -4e3 + -8e3 + -1e11).replace(/[018]/g, (c) => (c ^ ((Math.random() * 16) >> (c / 4))).toString(16))
  )
}
