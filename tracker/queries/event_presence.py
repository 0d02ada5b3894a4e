"""Which of a funnel's event names a site has sent: in a time range, so a stage that shows 0
says why ("this site sent no begin_checkout events in this range") instead of a silent 0; or
ever, so a saved funnel naming events the site never sent is flagged (tracker/saved_funnels/).

Names only: a step's filters (props.page=/pricing) are not looked at, so "missing" means the
site sent no event of that name at all, never "none that passed the filter".
"""

from __future__ import annotations

from typing import Callable, Iterable

from tracker.queries.runner import QueryRunner
from tracker.queries.steps import Step
from tracker.queries.timerange import TimeRange


def step_names(steps: Iterable[Step]) -> list[str]:
    """The event names the steps ask for (not `*`), sorted."""
    return sorted(set().union(*(step.event_names() for step in steps)))


def missing_in_range(runner: QueryRunner, site: str, time_range: TimeRange, names: list[str]) -> Callable[[], set[str]]:
    """The names of which the site sent no event from time_range.start to its end, as a call that
    waits for them: the query runs beside the caller's thread (QueryRunner.run_beside) from now on,
    so the caller's own query (the funnel) runs meanwhile."""
    if not names:
        return set
    # The events' order key starts (site, toDate(ts)): this reads one column of the site's range,
    # and DISTINCT with a LIMIT stops reading once every name has been seen (the usual case).
    rows = runner.run_beside(
        "SELECT DISTINCT name FROM events WHERE site = {site:String} AND ts >= {start:DateTime64(3)} AND ts < {end:DateTime64(3)}"
        " AND name IN {names:Array(String)} LIMIT {n:UInt32}",
        {"site": site, "start": time_range.start, "end": time_range.end, "names": names, "n": len(names)},
    )
    return lambda: set(names) - {r[0] for r in rows.result().rows}


def never_sent(client, site: str, names: list[str]) -> set[str]:
    """The names the site has never sent (any time), from the small event_names table."""
    if not names:
        return set()
    rows = client.query(
        "SELECT DISTINCT name FROM event_names WHERE site = {site:String} AND name IN {names:Array(String)}",
        parameters={"site": site, "names": names},
    ).result_rows
    return set(names) - {r[0] for r in rows}
