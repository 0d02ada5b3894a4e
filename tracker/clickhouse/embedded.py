"""The embedded ClickHouse: a chdb-core HTTP server run as a managed child process.

One data directory belongs to one ClickHouse process, so every tracker process (uvicorn
workers, CLI commands) shares it over HTTP: the server records its port in the data
directory, and whoever finds no live server starts one under a file lock and owns it.
The child is killed with its owner (PR_SET_PDEATHSIG), which is safe: inserted parts are atomic.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tracker.config import Settings

log = logging.getLogger("tracker.clickhouse")

START_TIMEOUT_S = 60.0


@dataclass
class EmbeddedServer:
    """A running chdb-core server; `process` is set only in the process that owns it."""

    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def home(data_dir: Path) -> Path:
    return Path(data_dir) / "clickhouse"


def ping(port: int, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=timeout) as r:
            return r.read().strip() == b"Ok."
    except OSError:
        return False


def running(data_dir: Path) -> EmbeddedServer | None:
    """The server already serving this data directory, if any (a stale port file is removed)."""
    port_file = home(data_dir) / "http_port"
    try:
        port = int(port_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if ping(port):
        return EmbeddedServer(port)
    port_file.unlink(missing_ok=True)
    return None


def ensure(data_dir: Path, uncompressed_cache_bytes: int = Settings.clickhouse_uncompressed_cache_bytes) -> EmbeddedServer:
    """Connect to the data directory's server, starting (and owning) one if none runs."""
    with _locked(home(data_dir) / "lock"):
        server = running(data_dir)
        if server is None:
            server = start(data_dir, uncompressed_cache_bytes=uncompressed_cache_bytes)
        return server


def start(data_dir: Path, port: int = 0, timeout: float = START_TIMEOUT_S, extra_config: str = "",
          uncompressed_cache_bytes: int = Settings.clickhouse_uncompressed_cache_bytes) -> EmbeddedServer:
    """Start a server; extra_config is more config.xml elements (tests of a cluster add theirs)."""
    root = home(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    port_file = root / "http_port"
    port_file.unlink(missing_ok=True)
    port = port or free_port()
    command = [sys.executable, "-m", "tracker.clickhouse.embedded_server", str(root), str(port), str(port_file)]
    # The query API reads a site's range again and again (a page's queries read the same columns,
    # and so does its next load); the cache keeps them decompressed (docs/operations.md).
    config = f"<uncompressed_cache_size>{int(uncompressed_cache_bytes)}</uncompressed_cache_size>{extra_config}"
    (root / "extra_config.xml").write_text(config)
    command.append(str(root / "extra_config.xml"))
    log_file = open(root / "server.log", "ab")
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
        start_new_session=True,  # Ctrl-C in a terminal reaches the owner, which stops the child in order.
    )
    log_file.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"embedded ClickHouse exited with code {process.returncode}; see {root / 'server.log'}"
            )
        if port_file.exists() and ping(port, timeout=0.5):
            log.info("embedded ClickHouse started", extra={"port": port, "data": str(root)})
            return EmbeddedServer(port, process)
        time.sleep(0.05)
    process.kill()
    raise TimeoutError(f"embedded ClickHouse did not answer within {timeout:.0f} s; see {root / 'server.log'}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: if the owner dies (even by kill -9), so does the server.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


if os.name != "posix":  # pragma: no cover - the tracker targets Linux servers
    raise ImportError("the embedded ClickHouse needs a POSIX system")
