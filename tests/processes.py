"""Run the tracker as a real process (python -m tracker serve), for crash and shutdown tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class TrackerProcess:
    process: subprocess.Popen
    base_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_tracker_process(data_dir: Path, env: dict[str, str], timeout: float = 60.0) -> TrackerProcess:
    port = free_port()
    full_env = {**os.environ, "TRACKER_DATA_DIR": str(data_dir), "TRACKER_PORT": str(port), **env}
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / f"tracker-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "tracker", "serve"], env=full_env, stdout=log, stderr=subprocess.STDOUT)
    tracker = TrackerProcess(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tracker exited with {process.returncode}:\n{tracker.log()}")
        try:
            with urllib.request.urlopen(tracker.base_url + "/healthz", timeout=1):
                return tracker
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise TimeoutError(f"tracker did not come up:\n{tracker.log()}")
