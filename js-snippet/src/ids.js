// One random UUID per event: the server drops an event_id it has already stored, so resending
// a batch after a failed or unanswered request never counts twice.
export const uuid = () =>
  // randomUUID exists only in secure contexts (https). Elsewhere the browser's own random UUID
  // of a blob URL (blob:<origin>/<uuid v4>) serves, in fewer bytes than a hand-made one.
  crypto.randomUUID?.() || URL.createObjectURL(new Blob()).slice(-36)
