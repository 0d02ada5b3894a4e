// The realtime panel of /app/{site} (#realtime): polls the API's `realtime` answer for the page's
// cookie session (data-source, same origin) every data-every-s seconds, only while the tab is
// shown, and writes it into the panel. Text only (textContent), never HTML from the answer.

const count = (n) => n.toLocaleString("en-US");
const clock = (iso) => iso.slice(11, 19); // the API's times are in the site's time zone already

function eventLine(e) {
  const li = document.createElement("li");
  const when = document.createElement("time");
  when.dateTime = e.ts;
  when.textContent = clock(e.ts);
  const what = document.createElement("span");
  what.className = "event-name";
  what.textContent = e.name;
  li.append(when, " ", what, " ", e.path || "");
  const extra = [e.source, e.device].filter(Boolean);
  if (e.value != null) extra.push(`${e.value.toFixed(2)} ${e.currency}`);
  if (extra.length) {
    const note = document.createElement("span");
    note.className = "hint";
    note.textContent = ` · ${extra.join(" · ")}`;
    li.append(note);
  }
  return li;
}

export function startRealtime(panel) {
  const part = (name) => panel.querySelector(`[data-realtime="${name}"]`);
  const everyMs = Number(panel.dataset.everyS || 10) * 1000;
  let timer = null;

  function show(data) {
    for (const name of ["visitors", "page_views", "events"]) part(name).textContent = count(data[name]);
    part("flush_interval_s").textContent = String(data.flush_interval_s);
    const list = part("newest");
    list.replaceChildren(...data.newest.map(eventLine));
    if (!data.newest.length) list.replaceChildren(Object.assign(document.createElement("li"), { textContent: "No events in the last 30 minutes." }));
    part("status").textContent = `As of ${clock(data.as_of)}.`;
    panel.dataset.asOf = data.as_of;
  }

  async function refresh() {
    try {
      const answer = await fetch(panel.dataset.source, { credentials: "same-origin", headers: { accept: "application/json" } });
      if (answer.ok) show(await answer.json());
      else part("status").textContent = answer.status === 401
        ? "Not updated: your sign-in ended; reload the page."
        : "Not updated: the numbers are not available right now.";
    } catch {
      part("status").textContent = "Not updated: the tracker cannot be reached.";
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = document.hidden ? null : setTimeout(tick, everyMs);
  }

  async function tick() {
    await refresh();
    schedule();
  }

  // A hidden tab asks nothing; shown again, it refreshes at once and then every everyMs.
  document.addEventListener("visibilitychange", () => (document.hidden ? clearTimeout(timer) : tick()));
  tick();
}
