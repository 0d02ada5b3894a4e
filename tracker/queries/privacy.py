"""A person's data, for GDPR/CCPA/LGPD requests: find it, export it, delete it.

A person is a visitor id, or a customer id together with every visitor id that carried it (the
events before login belong to the same person). The `events` table holds per-person rows, and
`purchases` a copy of their purchase events (migration 0090); views derive from those, and the
traffic rollup is recomputed from events on its schedule. `kept_sessions` (migration 0120) holds
their sessions and `touched_visitors` when their events arrived: both are deleted by visitor id.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker import kept_sessions
from tracker.clickhouse.cluster import Runner

MATCH = "site = {site:String} AND (visitor_id IN {visitor_ids:Array(UInt64)} OR (customer_id != '' AND customer_id = {customer_id:String}))"
# Where a person's rows are: the copy of their purchases, then events. The copy goes first, so a
# deletion cut short is done again in full by a retry, which still finds the person in `events`.
PERSON_TABLES = ("purchases", "events")
# A person's derived rows, by visitor id: deleted after the events, with the refresh that writes
# them paused (tracker/kept_sessions.py).
VISITOR_TABLES = ("touched_visitors", "kept_sessions")
VISITOR_MATCH = "site = {site:String} AND visitor_id IN {visitor_ids:Array(UInt64)}"
VISITORS_OF_CUSTOMER = "SELECT DISTINCT visitor_id FROM events WHERE site = {site:String} AND customer_id = {customer_id:String}"


@dataclass(frozen=True)
class Person:
    site: str
    visitor_ids: tuple[int, ...]
    customer_id: str = ""

    def parameters(self) -> dict:
        return {"site": self.site, "visitor_ids": list(self.visitor_ids), "customer_id": self.customer_id}


def by_visitor(site: str, visitor_id: int) -> Person:
    return Person(site, (visitor_id,))


def by_customer(client, site: str, customer_id: str) -> Person:
    rows = client.query(VISITORS_OF_CUSTOMER, parameters={"site": site, "customer_id": customer_id}).result_rows
    return Person(site, tuple(sorted(r[0] for r in rows)), customer_id)


def export(client, person: Person) -> list[dict]:
    result = client.query(f"SELECT * FROM events WHERE {MATCH} ORDER BY ts", parameters=person.parameters())
    return list(result.named_results())


def delete(runner: Runner, person: Person) -> int:
    """Delete the person's events and the rows derived from them; returns how many events there
    were. Deleted rows are invisible to every query when this returns (lightweight DELETE, waited
    for) and gone from disk at the next merge.
    On a cluster the runner deletes from every shard's local table (a Distributed table cannot)."""
    found = runner.client.query(f"SELECT count() FROM events WHERE {MATCH}", parameters=person.parameters()).result_rows[0][0]
    with kept_sessions.paused(runner.client):
        if found:
            for table in PERSON_TABLES:
                runner.run(f"DELETE FROM {table} WHERE {MATCH}", parameters=person.parameters(), settings={"lightweight_deletes_sync": 2})
        # Even when no event was left: a retry after a deletion cut short here finds none.
        for table in VISITOR_TABLES:
            runner.run(f"DELETE FROM {table} WHERE {VISITOR_MATCH}", parameters=person.parameters(), settings={"lightweight_deletes_sync": 2})
    return found
