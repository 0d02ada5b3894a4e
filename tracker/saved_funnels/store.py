"""Saved funnels in ClickHouse (schema/migrations/0050_saved_funnels.sql), with a clickhouse-connect
client: the CLI's own, or a query thread's (tracker/queries/runner.py QueryRunner.client) for the
API and the pages, so no call runs on the event loop.

Versioned rows like the webhooks' (tracker/webhooks/registry.py): a save writes the whole funnel
with a newer version, a removal writes it once more with deleted = 1, reads take the newest row
of each funnel with FINAL. Funnel `shop` without a live row is the built-in shop funnel.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import replace
from datetime import datetime, timezone

from tracker.clickhouse.client import as_utc
from tracker.queries.event_presence import never_sent, step_names
from tracker.saved_funnels.definition import DEFAULT_ID, SavedFunnel, builtin_default

_COLUMNS = ["site", "funnel_id", "name", "steps", "step_labels", "window_s", "step_order", "unit", "created_at", "updated_at",
            "deleted", "version"]
_SELECT = ("SELECT site, funnel_id, name, steps, step_labels, window_s, step_order, unit, created_at, updated_at"
           " FROM saved_funnels FINAL WHERE deleted = 0 AND site = {site:String}")


def _funnel(row) -> SavedFunnel:
    site, funnel_id, name, steps, labels, window_s, order, unit, created_at, updated_at = row
    return SavedFunnel(site, funnel_id, name, tuple(zip(steps, labels)), window_s, order, unit,
                       created_at=as_utc(created_at), updated_at=as_utc(updated_at))


def list_funnels(client, site: str, default_window_s: int) -> list[SavedFunnel]:
    """The site's funnels: the default first (built-in unless edited), then the others by name."""
    saved = [_funnel(r) for r in client.query(_SELECT + " ORDER BY lower(name), funnel_id", parameters={"site": site}).result_rows]
    default = next((f for f in saved if f.is_default), None) or builtin_default(site, default_window_s)
    return [default, *(f for f in saved if not f.is_default)]


def get_funnel(client, site: str, funnel_id: str, default_window_s: int) -> SavedFunnel | None:
    rows = client.query(_SELECT + " AND funnel_id = {funnel_id:String}", parameters={"site": site, "funnel_id": funnel_id}).result_rows
    if rows:
        return _funnel(rows[0])
    return builtin_default(site, default_window_s) if funnel_id == DEFAULT_ID else None


def new_id() -> str:
    return secrets.token_hex(4)


def _now() -> datetime:
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)  # as stored: DateTime64(3)


def _write(client, funnel: SavedFunnel, deleted: bool) -> None:
    client.insert(
        "saved_funnels",
        [[funnel.site, funnel.funnel_id, funnel.name, [t for t, _ in funnel.steps], [label for _, label in funnel.steps],
          funnel.window_s, funnel.order, funnel.unit, funnel.created_at, funnel.updated_at, int(deleted), time.time_ns()]],
        column_names=_COLUMNS,
    )


def save_funnel(client, funnel: SavedFunnel, previous: SavedFunnel | None = None) -> SavedFunnel:
    """Store a new funnel, or a new version of `previous` (same id); returns it as stored."""
    now = _now()
    created = previous.created_at if previous is not None and previous.created_at else now
    stored = replace(funnel, builtin=False, created_at=created, updated_at=now)
    _write(client, stored, deleted=False)
    return stored


def remove_funnel(client, funnel: SavedFunnel) -> None:
    """Remove a saved funnel; for the default, forget its edits (it is the built-in funnel again)."""
    if not funnel.builtin:
        _write(client, replace(funnel, updated_at=_now()), deleted=True)


def never_sent_names(client, site: str, funnels: list[SavedFunnel]) -> set[str]:
    """The funnels' event names the site never sent (one query for all): allowed, and flagged in the answers."""
    return never_sent(client, site, step_names(step for f in funnels for step in f.parsed_steps()))


def name_taken(funnels: list[SavedFunnel], name: str, funnel_id: str) -> bool:
    """Another funnel of the site already has this name (case and spaces aside): the picker shows names."""
    key = " ".join(name.lower().split())
    return any(" ".join(f.name.lower().split()) == key and f.funnel_id != funnel_id for f in funnels)
