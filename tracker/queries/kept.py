"""Reading the kept sessions (schema/views/25_kept_sessions.sql) from a query's SQL.

A query with a cheaper computation of its own than the sessions view (one entry field coded next to
each event's time) unions both, each guarded by CURRENT: the kept sessions when they are current,
else its own computation. The branch that is off reads nothing.
"""

from __future__ import annotations

# True when kept_sessions can be read for the query's gap ({gap_s}).
CURRENT = "(SELECT current FROM kept_sessions_status(gap_s = {gap_s:UInt32}))"


def sessions_sql(start: str = "start", end: str = "end") -> str:
    """The site's sessions in [start, end) (names of bound DateTime64 parameters), with the sessions
    view's columns (without session_no and entry), as the kept sessions give them."""
    return (f"kept_session_entries(site = {{site:String}}, from = {{{start}:DateTime64(3)}}, to = {{{end}:DateTime64(3)}},"
            " gap_s = {gap_s:UInt32})")
