"""The newest events of a site, for `python -m tracker events`."""

from __future__ import annotations

SQL = """
SELECT toString(ts), name, path, source, medium, device, browser, value, currency
FROM events
WHERE site = {site:String}
ORDER BY ts DESC
LIMIT {limit:UInt32}
"""


def recent_events(client, site: str, limit: int) -> list[tuple]:
    return client.query(SQL, parameters={"site": site, "limit": limit}).result_rows
