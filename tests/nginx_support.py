"""Debian's nginx running the configuration documented in docs/integrations/proxy.md, for tests.

The test takes the ```nginx block from the doc as it stands and changes only what must differ
on a test machine: the tracker's and the listening ports, and the shop's own part (a comment in
the doc) becomes a proxy to the test's shop server. nginx runs unprivileged-style: its own
prefix, pid, logs and temp paths in a fresh directory, listening on 127.0.0.1 only.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tracker.config import Settings

PROXY_DOC = Path(__file__).resolve().parents[1] / "docs" / "integrations" / "proxy.md"
NGINX = "/usr/sbin/nginx"
DOC_TRACKER = "127.0.0.1:8000"
DOC_LISTEN = "listen 80;"
DOC_SHOP_PART = "# ... the shop's own configuration ..."


def doc_block(language: str) -> str:
    """The one fenced block of `language` in the proxy doc."""
    blocks = re.findall(rf"^```{language}\n(.*?)^```", PROXY_DOC.read_text(), re.M | re.S)
    assert len(blocks) == 1, f"docs/integrations/proxy.md should have one ```{language} block, has {len(blocks)}"
    return blocks[0]


def doc_settings() -> dict[str, object]:
    """The tracker settings of the doc's ```sh block, as Settings field values."""
    env = dict(line.split("=", 1) for line in doc_block("sh").split("\n") if line.strip())
    parsed = Settings.from_env(env)
    return {name.removeprefix("TRACKER_").lower(): getattr(parsed, name.removeprefix("TRACKER_").lower()) for name in env}


def documented_server(tracker: str, listen: str, shop: str) -> str:
    """The doc's nginx block with the test's addresses (each replaced exactly once)."""
    config = doc_block("nginx")
    for old, new in ((DOC_TRACKER, tracker), (DOC_LISTEN, f"listen {listen};"),
                     (DOC_SHOP_PART, f"location / {{ proxy_pass http://{shop}; }}")):
        assert config.count(old) == 1, f"the doc's nginx block should contain {old!r} once"
        config = config.replace(old, new)
    return config


@dataclass
class Nginx:
    process: subprocess.Popen
    url: str
    prefix: Path

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.prefix.glob("*.log")))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.prefix, ignore_errors=True)


def start_nginx(server_block: str, port: int, timeout: float = 20.0) -> Nginx:
    # Its own directory, readable by nginx's worker user when the tests run as root (pytest's
    # temporary directories are private to their owner).
    prefix = Path(tempfile.mkdtemp(prefix="funnelhouse-nginx-"))
    prefix.chmod(0o755)
    temp_paths = "\n".join(f"    {kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (prefix / "nginx.conf").write_text(
        f"pid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} info;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"    access_log {prefix / 'access.log'};\n"
        f"{temp_paths}\n"
        f"{server_block}\n"
        "}\n"
    )
    check = subprocess.run([NGINX, "-t", "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(prefix / "nginx.conf")],
                           capture_output=True, text=True)
    assert check.returncode == 0, f"nginx -t refused the documented configuration:\n{check.stderr}"
    process = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    nginx = Nginx(process, f"http://127.0.0.1:{port}", prefix)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}: {process.stderr.read().decode()}\n{nginx.log()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return nginx
        except OSError:
            time.sleep(0.05)
    nginx.stop()
    raise TimeoutError(f"nginx did not listen on {port}:\n{nginx.log()}")
