"""The kept sessions' refresh (schema/views/25_kept_sessions.sql), by name, and a way to run it now.

ClickHouse runs the refresh every minute by itself; `refresh_now` is for what must not wait for the
schedule: a benchmark measuring the page on freshly generated events, and tests.
"""

from __future__ import annotations

from contextlib import contextmanager

from tracker.clickhouse.client import quote_identifier

# In the order they run: the sessions, then the snapshot that makes them current for the readers.
REFRESH_VIEWS = ("kept_sessions_refresh", "kept_sessions_state_refresh")


def refresh_now(client) -> None:
    """Run both refreshes once more, and return when they are done. A scheduled run in progress is
    waited for first, so this run sees every event inserted before the call."""
    for view in REFRESH_VIEWS:
        name = quote_identifier(view)
        client.command(f"SYSTEM WAIT VIEW {name}")
        client.command(f"SYSTEM REFRESH VIEW {name}")
        client.command(f"SYSTEM WAIT VIEW {name}")


@contextmanager
def paused(client):
    """The sessions' refresh stopped for the block (one running is cancelled), where it exists: a
    cluster has none (tracker/clickhouse/cluster.py SINGLE_SERVER). A person's deletion runs in
    it, so no refresh writes their sessions again from events it read before they were deleted."""
    view = REFRESH_VIEWS[0]
    exists = client.query("SELECT count() FROM system.view_refreshes WHERE database = currentDatabase() AND view = {view:String}",
                          parameters={"view": view}).result_rows[0][0]
    if not exists:
        yield
        return
    client.command(f"SYSTEM STOP VIEW {quote_identifier(view)}")
    try:
        yield
    finally:
        client.command(f"SYSTEM START VIEW {quote_identifier(view)}")
