// localStorage that never throws: it is missing or denied in some privacy modes and sandboxed
// frames, and full in others. Then values live in memory for the life of the page.

const memory = {}

export function load(key) {
  try {
    return JSON.parse(localStorage.getItem(key))
  } catch {
    return memory[key]
  }
}

export function save(key, value) {
  memory[key] = value
  try {
    localStorage.setItem(key, JSON.stringify(value))
  } catch {}
}
