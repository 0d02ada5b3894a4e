"""Versioned schema migrations: schema/migrations/NNNN_name.sql, applied once each, in order, recorded in a table."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from tracker.clickhouse.client import Target, connect, quote_identifier

log = logging.getLogger("tracker.migrate")

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schema"
MIGRATIONS_DIR = SCHEMA_DIR / "migrations"
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


def migrate(target: Target, retention_days: int | None = None, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply what is missing; returns the migrations applied by this call (empty when up to date)."""
    connect(target, database=False).command(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(target.database)}")
    client = connect(target)
    client.command(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, applied_at DateTime DEFAULT now())"
        " ENGINE = MergeTree ORDER BY version"
    )
    done = {row[0] for row in client.query("SELECT DISTINCT version FROM schema_migrations").result_rows}
    applied = []
    for migration in available(directory):
        if migration.version in done:
            continue
        for statement in migration.statements():
            client.command(statement)
        client.insert("schema_migrations", [[migration.version, migration.name]], column_names=["version", "name"])
        log.info("migration applied", extra={"version": migration.version, "migration": migration.name})
        applied.append(migration)
    if retention_days is not None:
        set_retention(client, retention_days)
    return applied


def set_retention(client, days: int) -> None:
    # Old parts are dropped at merges; re-reading every existing part on each start would be costly.
    client.command(
        "ALTER TABLE events MODIFY TTL toDateTime(ts) + toIntervalDay({days:UInt32})",
        parameters={"days": days},
        settings={"materialize_ttl_after_modify": 0},
    )
