"""The schema on a ClickHouse cluster: the single-server SQL of schema/, placed on every node.

One source of truth: schema/migrations and schema/views are written for one server, and
`Cluster.place` rewrites each statement for a cluster instead of keeping a second copy of every
file. Where each table goes:

- Sharded (`SHARDED`): the table is created as `<name>_local` on every node, and `<name>` becomes
  a Distributed table over those. `events` is sharded by visitor_id (already a 64-bit hash), so
  every event of a visitor is on one shard: per-visitor funnels, sessions and carts are computed
  shard-locally, and queries keep reading `events`. `event_names` (fed by a materialized view on
  `events_local`, so each shard counts its own inserts) is sharded by (site, name); `purchases`
  (fed likewise) by visitor_id, so a shard's purchases are those of its events.
- Everything else (sites, api_tokens, schema_migrations, traffic_rollup): small tables with a full
  copy on every node (one replication path for the whole cluster), so any node can answer them
  and a query never has to fetch them from elsewhere.
- Views: on every node, over the Distributed tables.
- Single-server only (`SINGLE_SERVER`): the views that keep kept_sessions (migration 0120) are not
  placed. Every replica of a cluster would run its own refresh into the same tables, and a
  refresh reading a touched-visitors table that another node fills could miss visitors; with
  no refresh, kept_sessions stays empty and its readers compute every session from the events.
- ALTER TABLE of a sharded table acts on the local tables; one that changes columns (ADD COLUMN ...)
  also on the Distributed table, which must list the same columns.

Local tables use Replicated*MergeTree with the `{shard}` and `{replica}` macros (each node's
config.d/macros.xml; see deploy/cluster/). `replicated=False` keeps the plain engines: one copy
per shard, for clusters without Keeper and for tests (chdb-core runs no Keeper).

`Runner` executes statements written for one server, placed or not. DDL (and a person's DELETE,
which must act on the local tables: a Distributed table cannot delete) reaches every node with
ON CLUSTER (the distributed DDL queue, which needs Keeper), or, when `nodes` lists each node,
by running it on each node in turn. Data statements (INSERT ... SELECT backfills) run once, on
the node we talk to: through the Distributed tables they read and write the whole cluster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

from tracker.clickhouse.client import Target, connect, quote_identifier
from tracker.config import Settings

# Sharded table -> its sharding key (an expression over its columns).
SHARDED: dict[str, str] = {"events": "visitor_id", "event_names": "cityHash64(site, name)", "purchases": "visitor_id"}
LOCAL_SUFFIX = "_local"
SINGLE_SERVER = frozenset({"touched_visitors_mv", "kept_sessions_refresh", "kept_sessions_state_refresh"})

# Keeper paths: a shard's replicas share one path; tables copied to every node share one for all.
SHARD_PATH = "/clickhouse/tables/{shard}/{database}/{table}"
EVERYWHERE_PATH = "/clickhouse/tables/all/{database}/{table}"

_HEAD = re.compile(
    r"^(?P<verb>CREATE(?: OR REPLACE)? (?:TABLE|VIEW|MATERIALIZED VIEW)(?: IF NOT EXISTS)?"
    r"|DROP (?:TABLE|VIEW)(?: IF EXISTS)?|ALTER TABLE|DELETE FROM) (?P<name>\w+)",
    re.MULTILINE,
)
_ENGINE = re.compile(r"\bENGINE = (?P<engine>\w*MergeTree)(?:\((?P<args>[^)]*)\))?")
_DEDUPE_WINDOW = re.compile(r"\bnon_replicated_deduplication_window = (?P<blocks>\d+)")
# Replicated tables forget insert tokens after replicated_deduplication_window_seconds (default one
# hour); a tracker that was down for longer would resend its spool as duplicates. A week covers it.
DEDUPE_WINDOW_S = 7 * 86400
# ALTER TABLE clauses that change a table's columns (the others: TTLs, settings, constraints, deletes).
_COLUMNS_CHANGE = re.compile(r"\b(?:ADD|DROP|MODIFY|RENAME|COMMENT) COLUMN\b")
_TO = re.compile(r"\bTO (?P<name>\w+)\b")
_FROM = re.compile(r"\bFROM (?P<name>\w+)\b")


@dataclass(frozen=True)
class Statement:
    sql: str
    ddl: bool  # DDL (and deletes) run on every node; anything else once, on the node we talk to


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
        if name in SINGLE_SERVER:
            return []
        if head.group("verb").startswith("CREATE") and "TABLE" in head.group("verb"):
            return self._table(sql, head, name, database)
        if "MATERIALIZED VIEW" in head.group("verb"):
            sql = self._feed_locally(sql)
        # Retention TTLs and deletes act on the rows, which live in the local tables.
        on_rows = head.group("verb") in ("ALTER TABLE", "DELETE FROM")
        table = name + LOCAL_SUFFIX if on_rows and name in SHARDED else name
        placed = [Statement(self._rename(sql, head, table), ddl=True)]
        if table != name and _COLUMNS_CHANGE.search(code):
            # The Distributed table has the columns of the local ones: it reads and writes them by name.
            placed.append(Statement(self._rename(sql, head, name), ddl=True))
        return placed

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
        return f"{sql[:head.start()]}{head.group('verb')} {name}{self._on()}{sql[head.end():]}"

    def _engine(self, sql: str, path: str) -> str:
        if not self.replicated:
            return sql

        def replicated(match: re.Match) -> str:
            args = [f"'{path}'", "'{replica}'"] + ([match.group("args")] if match.group("args") else [])
            return f"ENGINE = Replicated{match.group('engine')}({', '.join(args)})"

        def window(match: re.Match) -> str:
            blocks = match.group("blocks")
            return (f"{match.group(0)}, replicated_deduplication_window = {blocks},"
                    f" replicated_deduplication_window_seconds = {DEDUPE_WINDOW_S}")

        return _DEDUPE_WINDOW.sub(window, _ENGINE.sub(replicated, sql, count=1))

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
    """The statement with its comment lines blanked out (comments may mention SQL words); same
    length, so offsets found in it are offsets in the statement."""
    return "\n".join(" " * len(line) if line.lstrip().startswith("--") else line for line in sql.split("\n"))


class Runner:
    """Runs statements written for one server: on that server, or placed on a cluster, where DDL
    goes out ON CLUSTER or, with `nodes` (each node's Target), to each node in turn."""

    def __init__(self, target: Target, cluster: Cluster | None = None, nodes: Sequence[Target] = ()) -> None:
        self.target = target
        self.nodes = list(nodes) if cluster is not None else []
        self.cluster = replace(cluster, on_cluster=False) if cluster is not None and self.nodes else cluster
        self._client = None
        self._node_clients: list = []

    @classmethod
    def configured(cls, settings: Settings, target: Target) -> "Runner":
        """The runner for what the settings describe: one server, or the nodes of TRACKER_CLUSTER."""
        if not settings.cluster:
            return cls(target)
        urls = [url.strip() for url in settings.cluster_nodes.split(",") if url.strip()]
        nodes = [Target.from_url(url, target.database) for url in urls]
        return cls(target, Cluster(settings.cluster, replicated=settings.cluster_replicated), nodes)

    @property
    def client(self):
        """A client of the server we talk to (the entry node on a cluster), created on first use."""
        if self._client is None:
            self._client = connect(self.target)
        return self._client

    def create_database(self) -> None:
        create = f"CREATE DATABASE IF NOT EXISTS {quote_identifier(self.target.database)}"
        if self.nodes:
            for node in self.nodes:
                connect(node, database=False).command(create)
        elif self.cluster is not None:
            connect(self.target, database=False).command(f"{create} ON CLUSTER {quote_identifier(self.cluster.name)}")
        else:
            connect(self.target, database=False).command(create)

    def run(self, sql: str, parameters: dict | None = None, settings: dict | None = None) -> None:
        if self.cluster is None:
            self.client.command(sql, parameters=parameters, settings=settings)
            return
        for statement in self.cluster.place(sql, self.target.database):
            for client in self._every_node() if statement.ddl and self.nodes else [self.client]:
                client.command(statement.sql, parameters=parameters, settings=settings)

    def _every_node(self) -> list:
        if not self._node_clients:
            self._node_clients = [connect(node) for node in self.nodes]
        return self._node_clients
