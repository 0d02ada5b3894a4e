"""The schema on a ClickHouse cluster: the single-server SQL of schema/, placed on every node.

One source of truth: schema/migrations and schema/views are written for one server, and
`Cluster.place` rewrites each statement for a cluster instead of keeping a second copy of every
file. Where each table goes:

- Sharded (`SHARDED`): the table is created as `<name>_local` on every node, and `<name>` becomes
  a Distributed table over those. `events` is sharded by visitor_id (already a 64-bit hash), so
  every event of a visitor is on one shard: per-visitor funnels, sessions and carts are computed
  shard-locally, and queries keep reading `events`. `event_names` (fed by a materialized view on
  `events_local`, so each shard counts its own inserts) is sharded by (site, name).
- Everything else (sites, api_tokens, schema_migrations, traffic_rollup): small tables with a full
  copy on every node (one replication path for the whole cluster), so any node can answer them
  and a query never has to fetch them from elsewhere.
- Views: on every node, over the Distributed tables.

Local tables use Replicated*MergeTree with the `{shard}` and `{replica}` macros (each node's
config.d/macros.xml; see deploy/cluster/). `replicated=False` keeps the plain engines: one copy
per shard, for clusters without Keeper and for tests (chdb-core runs no Keeper).

DDL reaches every node with ON CLUSTER (the distributed DDL queue, which needs Keeper), or, when
`nodes` lists each node's HTTP URL, by running it on each node in turn. Data statements
(INSERT ... SELECT backfills) run once, on the node the migration talks to: through the
Distributed tables they read and write the whole cluster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tracker.clickhouse.client import quote_identifier

# Sharded table -> its sharding key (an expression over its columns).
SHARDED: dict[str, str] = {"events": "visitor_id", "event_names": "cityHash64(site, name)"}
LOCAL_SUFFIX = "_local"

# Keeper paths: a shard's replicas share one path; tables copied to every node share one for all.
SHARD_PATH = "/clickhouse/tables/{shard}/{database}/{table}"
EVERYWHERE_PATH = "/clickhouse/tables/all/{database}/{table}"

_HEAD = re.compile(
    r"^(?P<verb>CREATE(?: OR REPLACE)? (?:TABLE|VIEW|MATERIALIZED VIEW)(?: IF NOT EXISTS)?"
    r"|DROP (?:TABLE|VIEW)(?: IF EXISTS)?|ALTER TABLE) (?P<name>\w+)",
    re.MULTILINE,
)
_ENGINE = re.compile(r"\bENGINE = (?P<engine>\w*MergeTree)(?:\((?P<args>[^)]*)\))?")
_TO = re.compile(r"\bTO (?P<name>\w+)\b")
_FROM = re.compile(r"\bFROM (?P<name>\w+)\b")


@dataclass(frozen=True)
class Statement:
    sql: str
    ddl: bool  # DDL runs on every node; anything else once, on the node the migration talks to


@dataclass(frozen=True)
class Cluster:
    name: str
    replicated: bool = True
    on_cluster: bool = True  # False: the caller runs each DDL statement on every node itself

    def place(self, sql: str, database: str) -> list[Statement]:
        """The cluster statements for one single-server statement."""
        code = _code(sql)
        head = _HEAD.search(code)
        if head is None:
            if code.lstrip().upper().startswith("INSERT"):
                return [Statement(sql, ddl=False)]
            raise ValueError(f"no cluster placement for this statement (add one to tracker/clickhouse/cluster.py):\n{sql}")
        name = head.group("name")
        if head.group("verb").startswith("CREATE") and "TABLE" in head.group("verb"):
            return self._table(sql, head, name, database)
        if "MATERIALIZED VIEW" in head.group("verb"):
            sql = self._feed_locally(sql)
        table = name + LOCAL_SUFFIX if head.group("verb") == "ALTER TABLE" and name in SHARDED else name
        return [Statement(self._rename(sql, head, table), ddl=True)]

    def _table(self, sql: str, head: re.Match, name: str, database: str) -> list[Statement]:
        if name not in SHARDED:
            return [Statement(self._engine(self._rename(sql, head, name), EVERYWHERE_PATH), ddl=True)]
        local = name + LOCAL_SUFFIX
        distributed = (
            f"CREATE TABLE IF NOT EXISTS {name}{self._on()} AS {local}"
            f" ENGINE = Distributed({quote_identifier(self.name)}, {quote_identifier(database)}, {local}, {SHARDED[name]})"
        )
        return [
            Statement(self._engine(self._rename(sql, head, local), SHARD_PATH), ddl=True),
            Statement(distributed, ddl=True),
        ]

    def _rename(self, sql: str, head: re.Match, name: str) -> str:
        """The statement with its object renamed and ON CLUSTER after the name."""
        start, end = _span_in(sql, head)
        return f"{sql[:start]}{head.group('verb')} {name}{self._on()}{sql[end:]}"

    def _engine(self, sql: str, path: str) -> str:
        if not self.replicated:
            return sql

        def replicated(match: re.Match) -> str:
            args = [f"'{path}'", "'{replica}'"] + ([match.group("args")] if match.group("args") else [])
            return f"ENGINE = Replicated{match.group('engine')}({', '.join(args)})"

        return _ENGINE.sub(replicated, sql, count=1)

    def _feed_locally(self, sql: str) -> str:
        """A materialized view into a sharded table reads and writes the local tables: each shard
        aggregates the rows it receives (a view on the Distributed table would see every insert
        on the node that received it, before sharding)."""
        target = _TO.search(sql)
        if target is None or target.group("name") not in SHARDED:
            return sql
        sql = _TO.sub(lambda m: f"TO {m.group('name')}{LOCAL_SUFFIX}", sql, count=1)
        return _FROM.sub(lambda m: f"FROM {m.group('name')}{LOCAL_SUFFIX}" if m.group("name") in SHARDED else m.group(0), sql)

    def _on(self) -> str:
        return f" ON CLUSTER {quote_identifier(self.name)}" if self.on_cluster else ""


def _code(sql: str) -> str:
    """The statement without its comment lines (comments may mention SQL words)."""
    return "\n".join("" if line.lstrip().startswith("--") else line for line in sql.splitlines())


def _span_in(sql: str, head: re.Match) -> tuple[int, int]:
    # _code keeps every line (comment lines blanked), and only shortens comment lines, so look up
    # the matched text again in the original to get its offsets.
    index = sql.find(head.group(0), _line_offset(sql, _code(sql)[: head.start()].count("\n")))
    return index, index + len(head.group(0))


def _line_offset(sql: str, line_no: int) -> int:
    offset = 0
    for _ in range(line_no):
        offset = sql.index("\n", offset) + 1
    return offset
