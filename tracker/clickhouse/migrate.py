"""Versioned schema migrations: schema/migrations/NNNN_name.sql, applied once each, in order, recorded in a table.

Views (schema/views/NN_name.sql) are not versioned: they hold no data, so every migrate run
re-creates them (CREATE OR REPLACE) after the migrations, and a changed view takes effect on the
next start. `{{name}}` in a view file is replaced by an integer from view_values(), for the few
definitions that ClickHouse cannot parameterise at query time (a refreshable materialized view).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from tracker.clickhouse.client import Target
from tracker.clickhouse.cluster import Runner
from tracker.config import Settings

log = logging.getLogger("tracker.migrate")

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schema"
MIGRATIONS_DIR = SCHEMA_DIR / "migrations"
VIEWS_DIR = SCHEMA_DIR / "views"
_VIEW_NAME = re.compile(r"^(\d{2})_([a-z0-9_]+)\.sql$")
_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    def statements(self) -> list[str]:
        return split_statements(self.path.read_text())


def split_statements(sql: str) -> list[str]:
    """Statements end with `;` at the end of a line; comment-only chunks are skipped."""
    out = []
    for chunk in re.split(r";[ \t]*(?:\n|$)", sql):
        code = "\n".join(line for line in chunk.splitlines() if not line.strip().startswith("--")).strip()
        if code:
            out.append(chunk.strip())
    return out


def available(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name} must be named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError("two migration files share a version number")
    return found


def migrate(
    target: Target,
    retention_days: int | None = None,
    directory: Path = MIGRATIONS_DIR,
    views_directory: Path = VIEWS_DIR,
    values: dict[str, int] | None = None,
    runner: Runner | None = None,
) -> list[Migration]:
    """Apply what is missing, then (re)create the views; returns the migrations applied by this call.
    A runner for a cluster places every statement on it (tracker/clickhouse/cluster.py)."""
    runner = runner or Runner(target)
    runner.create_database()
    client = runner.client
    runner.run(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, applied_at DateTime DEFAULT now())"
        " ENGINE = MergeTree ORDER BY version"
    )
    done = {row[0] for row in client.query("SELECT DISTINCT version FROM schema_migrations").result_rows}
    applied = []
    for migration in available(directory):
        if migration.version in done:
            continue
        for statement in migration.statements():
            runner.run(statement)
        client.insert("schema_migrations", [[migration.version, migration.name]], column_names=["version", "name"])
        log.info("migration applied", extra={"version": migration.version, "migration": migration.name})
        applied.append(migration)
    if retention_days is not None:
        set_retention(runner, retention_days)
    apply_views(runner, views_directory, view_values() if values is None else values)
    return applied


def migrate_configured(settings: Settings, target: Target) -> list[Migration]:
    """migrate() on what the settings describe: one server, or the nodes of TRACKER_CLUSTER."""
    return migrate(target, settings.retention_days, runner=Runner.configured(settings, target))


def view_values(settings: Settings | None = None) -> dict[str, int]:
    """The settings view files may use as {{name}}. Callers without a Settings read the environment,
    like the service does, so `migrate` and `serve` create the same views."""
    settings = settings or Settings.from_env()
    return {"session_gap_s": settings.session_gap_minutes * 60}


def view_files(directory: Path = VIEWS_DIR) -> list[Path]:
    found = sorted(directory.glob("*.sql"))
    for path in found:
        if not _VIEW_NAME.match(path.name):
            raise ValueError(f"view file {path.name} must be named NN_name.sql")
    return found


def render_view(sql: str, values: dict[str, int]) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"view placeholder {{{{{name}}}}} has no value")
        return str(int(values[name]))  # integers only: nothing else can reach DDL this way

    return _PLACEHOLDER.sub(value, sql)


def apply_views(runner: Runner, directory: Path = VIEWS_DIR, values: dict[str, int] | None = None) -> None:
    for path in view_files(directory):
        for statement in split_statements(render_view(path.read_text(), values or {})):
            runner.run(statement)


# Tables whose rows expire with the events, and the time each row expires by (purchases: a copy of
# the purchase events; kept_sessions: the sessions of the events).
RETAINED_TABLES = {"events": "toDateTime(ts)", "purchases": "toDateTime(ts)", "kept_sessions": "started_at"}


def set_retention(runner: Runner, days: int) -> None:
    # Old parts are dropped at merges; re-reading every existing part on each start would be costly.
    for table, expires in RETAINED_TABLES.items():
        runner.run(
            f"ALTER TABLE {table} MODIFY TTL {expires} + toIntervalDay({{days:UInt32}})",
            parameters={"days": days},
            settings={"materialize_ttl_after_modify": 0},
        )
