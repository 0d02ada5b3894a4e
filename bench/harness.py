"""Process and load-generator plumbing for `make bench`: servers on loopback, wrk runs, RSS readings."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LUA = ROOT / "bench" / "post.lua"
# What `tracker serve` passes to uvicorn, so the baseline runs under the same server settings.
UVICORN_FLAGS = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning", "--no-proxy-headers"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 300.0) -> None:  # a loaded 2-core machine can take minutes to start workers
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer")


@dataclass
class Server:
    process: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout.split()
        return [int(p) for p in out] or [self.process.pid]

    def cpu_s(self) -> float:
        """CPU time (user + system) the serving processes have used so far, summed."""
        return sum(process_cpu_s(pid) for pid in self.worker_pids())

    def rss_mb(self) -> float:
        """Resident memory of the serving processes (uvicorn workers), summed."""
        total = 0
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()


def process_cpu_s(pid: int) -> float:
    """CPU time (user + system, all threads) one process has used so far, from /proc; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def start_bare(workers: int) -> Server:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "bench"), "bare_app:app", "--port", str(port),
         "--workers", str(workers), *UVICORN_FLAGS],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = Server(process, port)
    wait_http(server.url + "/api/event")
    return server


def start_tracker(data_dir: Path, clickhouse_url: str, workers: int, log_path: Path, extra_env: dict[str, str] | None = None) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "TRACKER_DATA_DIR": str(data_dir),
        "TRACKER_CLICKHOUSE_URL": clickhouse_url,
        "TRACKER_WORKERS": str(workers),
        "TRACKER_PORT": str(port),
        # One load generator on one address would be throttled; the limits are not what is measured.
        "TRACKER_RATE_LIMIT_IP_PER_S": "0",
        "TRACKER_RATE_LIMIT_SITE_PER_S": "0",
        "TRACKER_LOG_LEVEL": "warning",
        **(extra_env or {}),
    }
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "tracker", "serve"], env=env, stdout=log, stderr=log, cwd=ROOT)
    server = Server(process, port)
    wait_http(server.url + "/healthz")
    return server


@dataclass
class WrkResult:
    requests_per_s: float
    requests: int
    non_2xx: int
    p50_ms: float
    p99_ms: float
    seconds: float


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, seconds: float, connections: int, batch: int = 1, threads: int = 2) -> WrkResult:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(LUA), url + "/api/event"],
        capture_output=True, text=True, env={**os.environ, "BATCH": str(batch)}, timeout=seconds + 60,
    ).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    done = re.search(r"(\d+) requests in ([\d.]+)(s|m)", out)
    return WrkResult(
        requests_per_s=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        requests=int(done.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        p50_ms=_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        p99_ms=_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        seconds=float(done.group(2)) * (60 if done.group(3) == "m" else 1),
    )
