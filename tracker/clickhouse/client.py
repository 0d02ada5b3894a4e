"""clickhouse-connect clients for the embedded server or a ClickHouse server URL; one identifier quoting function."""

from __future__ import annotations

import re
import ssl
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from tracker.config import Settings


@dataclass(frozen=True)
class Target:
    """Where ClickHouse is: parsed from TRACKER_CLICKHOUSE_URL or the embedded server's port."""

    host: str
    port: int
    username: str = "default"
    password: str = ""
    database: str = "funnelhouse"
    secure: bool = False

    @classmethod
    def from_url(cls, url: str, default_database: str) -> "Target":
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SystemExit(f"TRACKER_CLICKHOUSE_URL must look like http://user:pass@host:8123/db, got {url!r}")
        secure = parts.scheme == "https"
        return cls(
            host=parts.hostname,
            port=parts.port or (8443 if secure else 8123),
            username=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
            database=parts.path.strip("/") or default_database,
            secure=secure,
        )

    @property
    def base_url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.host}:{self.port}"

    def display(self) -> str:
        scheme = "https" if self.secure else "http"
        return f"{scheme}://{self.username}@{self.host}:{self.port}/{self.database}"


# A TCP connect to a live host takes milliseconds; one to a hung ClickHouse usually still succeeds
# (the kernel completes the handshake), so it is the read timeout that ends a call to a hung server.
CONNECT_TIMEOUT_S = 2
READ_TIMEOUT_S = 60  # migrations and the CLI; workers pass shorter ones for what a request waits on


def connect(target: Target, database: bool = True, *, read_timeout_s: int = READ_TIMEOUT_S,
            connect_timeout_s: int = CONNECT_TIMEOUT_S, **settings) -> Client:
    """A client of its own: clickhouse-connect clients are not safe to share between threads.

    Creating it already queries the server, so it blocks like any other call: never on the event
    loop. Timeouts are whole seconds (clickhouse-connect rounds them). urllib3 also applies the
    connect timeout while it sends a request body: a large insert needs a longer one."""
    return clickhouse_connect.get_client(
        host=target.host,
        port=target.port,
        username=target.username,
        password=target.password,
        database=target.database if database else "",
        secure=target.secure,
        autogenerate_session_id=False,
        connect_timeout=connect_timeout_s,
        send_receive_timeout=read_timeout_s,
        settings=settings or None,
    )


def ping(target: Target, timeout_s: float) -> bool:
    """Whether the server answers GET /ping within timeout_s (no client needed, no query run)."""
    context = ssl.create_default_context() if target.secure else None
    try:
        with urllib.request.urlopen(target.base_url + "/ping", timeout=timeout_s, context=context) as response:
            return response.read().strip() == b"Ok."
    except OSError:  # refused, timed out, reset, HTTP errors
        return False


def target_for(settings: Settings, embedded_port: int | None = None) -> Target:
    if settings.clickhouse_url:
        return Target.from_url(settings.clickhouse_url, settings.clickhouse_database)
    if embedded_port is None:
        raise RuntimeError("the embedded ClickHouse port is needed when no TRACKER_CLICKHOUSE_URL is set")
    return Target(host="127.0.0.1", port=embedded_port, database=settings.clickhouse_database)


def as_utc(value: datetime) -> datetime:
    """clickhouse-connect gives DateTime columns in UTC as naive datetimes: mark them as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_identifier(name: str) -> str:
    """The one way an identifier enters SQL: backquoted, with backquotes and backslashes escaped."""
    if _IDENTIFIER.match(name):
        return f"`{name}`"
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def resolve(settings: Settings):
    """The Target to talk to, plus the embedded server if this process had to start it (else None)."""
    if settings.clickhouse_url:
        return target_for(settings), None
    from tracker.clickhouse import embedded

    server = embedded.ensure(settings.data_path, settings.clickhouse_uncompressed_cache_bytes)
    return target_for(settings, server.port), (server if server.process else None)
