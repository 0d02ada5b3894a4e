"""Every setting of the tracker, declared once: name, type, default and what it does.

Settings come from environment variables named TRACKER_<NAME>. `python -m tracker settings`
prints this table, and the README's settings section is checked against it by a test.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    data_dir: str = "./data"
    clickhouse_url: str = ""
    clickhouse_database: str = "funnelhouse"
    clickhouse_uncompressed_cache_bytes: int = 1024 * 1024 * 1024
    cluster: str = ""
    cluster_replicated: bool = True
    cluster_nodes: str = ""
    migrate_on_start: bool = True
    demo_site: bool = True
    max_body_bytes: int = 256 * 1024
    max_events_per_request: int = 500
    backfill_horizon_days: int = 30
    cors_origins: str = "*"
    trust_proxy_headers: bool = False
    trusted_proxies: str = "127.0.0.1,::1"
    snippet_paths: str = "/js/t.js"
    ingest_paths: str = "/api/event"
    spool_commit_interval_ms: float = 0.0
    spool_max_bytes: int = 1024 * 1024 * 1024
    spool_retry_after_s: int = 5
    flush_interval_s: float = 2.0
    flush_max_rows: int = 20_000
    flush_max_bytes: int = 16 * 1024 * 1024
    shutdown_flush_deadline_s: float = 10.0
    retention_days: int = 730
    sites_refresh_s: float = 5.0
    dedupe_horizon_h: float = 24.0
    dedupe_max_ids: int = 2_000_000
    spam_referrers: str = ""
    body_timeout_s: float = 10.0
    rate_limit_ip_per_s: float = 200.0
    rate_limit_ip_burst: float = 1000.0
    rate_limit_site_per_s: float = 20_000.0
    rate_limit_site_burst: float = 100_000.0
    log_level: str = "info"
    session_gap_minutes: int = 30
    abandoned_idle_minutes: int = 60
    cart_lookback_days: int = 14
    funnel_default_window: str = "7d"
    query_max_execution_s: float = 10.0
    query_max_memory_bytes: int = 2 * 1024 * 1024 * 1024
    webhook_interval_s: float = 30.0
    webhook_timeout_s: float = 10.0
    webhook_retry_first_s: float = 30.0
    webhook_retry_for_h: float = 24.0
    business_metrics_sites: str = ""
    business_metrics_interval_s: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"TRACKER_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _parse(f.name, raw, type(getattr(cls, f.name)))
        values.update(overrides)
        return cls(**values)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).resolve()

    @property
    def spool_path(self) -> Path:
        return self.data_path / "spool"

    @property
    def embedded(self) -> bool:
        return not self.clickhouse_url


# What each setting does; kept beside the dataclass so the two cannot drift (a test checks).
DOCS: dict[str, str] = {
    "host": "Address the HTTP server binds to.",
    "port": "Port the HTTP server listens on.",
    "workers": "Number of uvicorn worker processes; each has its own spool slot.",
    "data_dir": "Directory for the embedded ClickHouse, the spool and the visitor-hash salts.",
    "clickhouse_url": "ClickHouse server as http(s)://user:pass@host:port/database. Empty: start the embedded chdb-core server.",
    "clickhouse_database": "Database used when the URL names none (and always for the embedded server).",
    "clickhouse_uncompressed_cache_bytes": "Embedded ClickHouse: memory for decompressed column blocks, which the query API reads again instead of decompressing them (uncompressed_cache_size; filled only as queries read, 0: off). A ClickHouse server has its own setting (docs/operations.md).",
    "cluster": "ClickHouse cluster (a remote_servers name) to create the schema on: events sharded by visitor behind a Distributed table. Empty: one server.",
    "cluster_replicated": "With a cluster: local tables are Replicated*MergeTree with {shard}/{replica} macros (needs Keeper); off: plain MergeTree, one copy per shard.",
    "cluster_nodes": "With a cluster that runs no distributed DDL (no Keeper): comma-separated http(s) URLs of every node; migrations run on each instead of ON CLUSTER.",
    "migrate_on_start": "Apply schema migrations when the service starts.",
    "demo_site": "Create the site `demo` on first start so the README example works.",
    "max_body_bytes": "Largest accepted request body for POST /api/event (413 above).",
    "max_events_per_request": "Most events in one request (413 above).",
    "backfill_horizon_days": "Events older than this many days are rejected.",
    "cors_origins": "Comma-separated origins allowed to send events from a browser; `*` allows any.",
    "trust_proxy_headers": "Take the client IP from X-Forwarded-For (only behind a trusted proxy).",
    "trusted_proxies": "With trust_proxy_headers: comma-separated addresses or networks (10.0.0.0/8) of the proxies whose X-Forwarded-For is believed; the client is the right-most address not among them. `*`: any peer.",
    "snippet_paths": "Comma-separated paths the tag is served at, e.g. `/js/t.js,/a/s.js` for first-party serving through the shop's own domain (docs/integrations/proxy.md).",
    "ingest_paths": "Comma-separated paths that take events like POST /api/event, e.g. `/api/event,/a/e`; the tag served at the n-th snippet path sends to the n-th of these.",
    "spool_commit_interval_ms": "Extra wait before each spool fsync so more requests share it; 0: commit as soon as the previous fsync ends (requests arriving meanwhile share the next).",
    "spool_max_bytes": "Spool size limit; past it ingest answers 503 with Retry-After.",
    "spool_retry_after_s": "Retry-After seconds sent with 503 when the spool is full.",
    "flush_interval_s": "Longest time an event waits in the spool before it is sent to ClickHouse.",
    "flush_max_rows": "Rows per spool segment, and so per ClickHouse insert.",
    "flush_max_bytes": "Bytes per spool segment, and so per ClickHouse insert.",
    "shutdown_flush_deadline_s": "On shutdown, how long to keep flushing before leaving the rest in the spool.",
    "retention_days": "Events older than this are deleted by ClickHouse TTL.",
    "sites_refresh_s": "How often each worker reloads the site list (so changed origins and time zones take effect); an unknown site id reloads it at once.",
    "dedupe_horizon_h": "A client event_id acknowledged within this many hours, by any worker, is dropped as a duplicate.",
    "dedupe_max_ids": "Most event_ids each worker remembers (about 75 bytes each); past it the oldest quarter is forgotten early.",
    "spam_referrers": "Extra comma-separated referrer domains whose traffic is dropped as spam.",
    "body_timeout_s": "A request body not fully received within this time gets 408 (slow clients).",
    "rate_limit_ip_per_s": "Events per second one client IP may send, per worker (0: no limit); 429 above.",
    "rate_limit_ip_burst": "Events one client IP may send at once before its rate applies.",
    "rate_limit_site_per_s": "Events per second one site may send, per worker (0: no limit); 429 above.",
    "rate_limit_site_burst": "Events one site may send at once before its rate applies.",
    "log_level": "Log level: debug, info, warning or error.",
    "session_gap_minutes": "A visitor's session ends after this many minutes without an event (sessions view, stats, session funnels).",
    "abandoned_idle_minutes": "A cart with items and no purchase for longer than this is abandoned (default of the `idle` query parameter).",
    "cart_lookback_days": "Cart queries read events from this many days before `from`, so carts started earlier are complete.",
    "funnel_default_window": "Conversion window of a funnel when the query gives no `window` (a duration like 30m, 1h, 7d).",
    "query_max_execution_s": "Longest time one query API request may run in ClickHouse (max_execution_time).",
    "query_max_memory_bytes": "Most memory one query API request may use in ClickHouse (max_memory_usage).",
    "webhook_interval_s": "How often the webhook sender looks for newly abandoned carts and for deliveries due (docs/webhooks.md).",
    "webhook_timeout_s": "Longest a webhook receiver may take to answer a delivery; slower answers count as failed and are retried.",
    "webhook_retry_first_s": "Wait before retrying a failed webhook delivery; it doubles with each failure, up to an hour.",
    "webhook_retry_for_h": "How long a webhook delivery is retried before it is given up.",
    "business_metrics_sites": "Sites whose last hour's visitors, orders, revenue and checkout conversion are gauges on /metrics: comma-separated site ids, or `*` for all. Empty: none (docs/operations.md).",
    "business_metrics_interval_s": "How often those gauges are computed (by one worker, on the query threads); a scrape only reads them.",
}


def _parse(name: str, raw: str, kind: type) -> Any:
    try:
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        return kind(raw)
    except ValueError:
        raise SystemExit(f"TRACKER_{name.upper()}={raw!r} is not a valid {kind.__name__}") from None


def describe() -> list[tuple[str, str, str]]:
    """(environment variable, default, doc) for every setting."""
    defaults = Settings()
    return [(f"TRACKER_{f.name.upper()}", str(getattr(defaults, f.name)), DOCS[f.name]) for f in fields(Settings)]
