"""Debian's nginx and Caddy running the configurations documented in docs/integrations/proxy.md, for tests.

The tests take the ```nginx and ```caddy blocks from the doc as they stand and change only what
must differ on a test machine: the tracker's and the listening address, and the shop's own part
(a comment in the doc) becomes a proxy to the test's shop server. Each server runs as a plain
process with its own prefix, pid, logs, temp and state paths in a fresh directory, listening on
127.0.0.1 only: nothing needs root, nothing outside the directory is written.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from tests.conftest import BROWSER_UA, count_rows, wait_for
from tracker.config import Settings
from tracker.ingest.salts import DailySalts
from tracker.ingest.shared_salts import SharedSalts
from tracker.ingest.steps import RequestInfo, VisitorIds

PROXY_DOC = Path(__file__).resolve().parents[1] / "docs" / "integrations" / "proxy.md"
NGINX = "/usr/sbin/nginx"
CADDY = "/usr/bin/caddy"
DOC_TRACKER = "127.0.0.1:8000"
DOC_LISTEN = "listen 80;"
DOC_SHOP_PART = "# ... the shop's own configuration ..."
DOC_CADDY_SITE = "shop.example {"
PROXY_ADDRESS = "127.0.0.1"  # where the proxy's connections to the tracker come from in the tests
DOC_CADDY_SHOP_PART = "# ... the shop's own configuration, e.g. reverse_proxy 127.0.0.1:3000 or file_server ..."


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


def _substitute(language: str, replacements: tuple[tuple[str, str], ...]) -> str:
    config = doc_block(language)
    for old, new in replacements:
        assert config.count(old) == 1, f"the doc's {language} block should contain {old!r} once"
        config = config.replace(old, new)
    return config


def documented_server(tracker: str, listen: str, shop: str) -> str:
    """The doc's nginx block with the test's addresses (each replaced exactly once)."""
    return _substitute("nginx", ((DOC_TRACKER, tracker), (DOC_LISTEN, f"listen {listen};"),
                                 (DOC_SHOP_PART, f"location / {{ proxy_pass http://{shop}; }}")))


def documented_caddy_site(tracker: str, listen: str, shop: str) -> str:
    """The doc's Caddyfile block with the test's addresses (each replaced exactly once)."""
    return _substitute("caddy", ((DOC_TRACKER, tracker), (DOC_CADDY_SITE, f"http://{listen} {{"),
                                 (DOC_CADDY_SHOP_PART, f"reverse_proxy {shop}")))


def _spawn(argv: list[str], prefix: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    with open(prefix / "stderr.log", "wb") as stderr:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr, env=env)


def _wait_listening(process: subprocess.Popen, port: int, timeout: float, log) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{log()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}:\n{log()}")


@dataclass
class Proxy:
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


def start_nginx(server_block: str, port: int, timeout: float = 20.0) -> Proxy:
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
    if check.returncode != 0:
        shutil.rmtree(prefix, ignore_errors=True)
        raise AssertionError(f"nginx -t refused the documented configuration:\n{check.stderr}")
    process = _spawn([NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(prefix / "nginx.conf"),
                      "-g", "daemon off;"], prefix)
    nginx = Proxy(process, f"http://127.0.0.1:{port}", prefix)
    try:
        _wait_listening(process, port, timeout, nginx.log)
    except BaseException:
        nginx.stop()
        raise
    return nginx


def start_caddy(site_block: str, port: int, timeout: float = 20.0) -> Proxy:
    prefix = Path(tempfile.mkdtemp(prefix="funnelhouse-caddy-"))
    # Global options for a test: no admin endpoint (parallel runs would share its port), no
    # certificates, listening on loopback only; its state under the prefix.
    (prefix / "Caddyfile").write_text(
        "{\n\tadmin off\n\tauto_https off\n\tdefault_bind 127.0.0.1\n"
        f"\tlog {{\n\t\toutput file {prefix / 'caddy.log'}\n\t}}\n}}\n\n{site_block}"
    )
    env = {**os.environ, "HOME": str(prefix), "XDG_DATA_HOME": str(prefix / "data"), "XDG_CONFIG_HOME": str(prefix / "config")}
    check = subprocess.run([CADDY, "validate", "--config", str(prefix / "Caddyfile"), "--adapter", "caddyfile"],
                           capture_output=True, text=True, env=env)
    if check.returncode != 0:
        shutil.rmtree(prefix, ignore_errors=True)
        raise AssertionError(f"caddy refused the documented configuration:\n{check.stderr}")
    process = _spawn([CADDY, "run", "--config", str(prefix / "Caddyfile"), "--adapter", "caddyfile"], prefix, env)
    caddy = Proxy(process, f"http://127.0.0.1:{port}", prefix)
    try:
        _wait_listening(process, port, timeout, caddy.log)
    except BaseException:
        caddy.stop()
        raise
    return caddy


def visitor_of(ch, settings, ip: str, user_agent: str = BROWSER_UA) -> int:
    """The cookieless visitor id the test's tracker computes today for this address and agent: with
    the day's salt from ClickHouse (tracker/ingest/shared_salts.py), as every node hashes."""
    salts = SharedSalts(DailySalts(settings.data_path / "salts"))
    salts.load(ch)
    return VisitorIds(salts).anonymous("demo", RequestInfo(ip, user_agent, int(time.time() * 1000)))


def post_event(base_url: str, path: str, name: str, source: str, forwarded: str | None = None) -> int:
    """POST one event from the local address `source`, as a shopper whose network has that address."""
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10, source_address=(source, 0))
    headers = {"content-type": "text/plain;charset=UTF-8", "user-agent": BROWSER_UA}
    if forwarded is not None:
        headers["x-forwarded-for"] = forwarded
    try:
        connection.request("POST", path, orjson.dumps({"site": "demo", "events": [{"name": name}]}), headers)
        response = connection.getresponse()
        assert response.status == 202, response.read()
        return orjson.loads(response.read())["accepted"]
    finally:
        connection.close()


def visitors(ch, names: list[str]) -> dict[str, int]:
    fetch = lambda: count_rows(ch, "name IN {names:Array(String)}", {"names": names})  # noqa: E731
    assert wait_for(fetch, len(names)) == len(names)
    return dict(ch.query("SELECT name, visitor_id FROM events WHERE name IN {names:Array(String)}",
                         parameters={"names": names}).result_rows)
