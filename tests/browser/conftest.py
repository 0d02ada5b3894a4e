"""Browser fixtures: the real tracker over HTTP, a shop on another origin, and Debian's chromium.

The tracker runs in uvicorn on 127.0.0.1 with the test's own ClickHouse database. The shop's
pages come from a second small HTTP server on `localhost`, a different origin, so the tag loads
and sends across origins the way it does on a real shop (CORS included).
"""

from __future__ import annotations

import html
import http.server
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page, sync_playwright

from tests.conftest import wait_for
from tracker.app import create_app
from tracker.http.snippet import SNIPPET_PATH

CHROMIUM = "/usr/bin/chromium"
# Headless chromium says "HeadlessChrome", which the tracker drops as a bot, as it should. The
# browser-wide flag matters for beacons sent while a page unloads: they leave without the
# per-page override that Playwright's user_agent option installs.
DESKTOP_CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", f"--user-agent={DESKTOP_CHROME}",
]
QUEUE_STUB = "window.fh=window.fh||function(){(fh.q=fh.q||[]).push(arguments)}"


@dataclass
class LiveTracker:
    url: str
    server: uvicorn.Server
    thread: threading.Thread


@pytest.fixture
def tracker_settings() -> dict:
    """Settings of the test's tracker beyond the test defaults: a test module overrides this fixture."""
    return {}


@pytest.fixture
def tracker(make_settings, tracker_settings) -> LiveTracker:
    """The tracker app served by uvicorn in a thread on a free port of 127.0.0.1."""
    config = uvicorn.Config(create_app(make_settings(**tracker_settings)), host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="tracker", daemon=True)
    thread.start()
    assert wait_for(lambda: server.started or not thread.is_alive(), True, timeout=30), "uvicorn did not start"
    assert server.started, "uvicorn stopped during startup"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield LiveTracker(f"http://127.0.0.1:{port}", server, thread)
    server.should_exit = True
    thread.join(timeout=15)


@dataclass
class Shop:
    """Pages of a pretend shop; `page()` registers one and returns its URL."""

    url: str
    tracker_url: str
    pages: dict[str, str] = field(default_factory=dict)

    def page(self, path: str, *, tag: dict[str, str] | None = None, before: str = "", body: str = "", stub: bool = True, src: str = "") -> str:
        """A page with the tag (data-site="demo" plus `tag`), `before` run ahead of it, and `body`."""
        attributes = {"data-site": "demo", **(tag or {})}
        tag_html = " ".join(f'{name}="{html.escape(value)}"' for name, value in attributes.items())
        self.pages[path] = (
            "<!doctype html><html><head><meta charset=utf-8><title>shop</title>"
            + (f"<script>{QUEUE_STUB}</script>" if stub else "")
            + (f"<script>{before}</script>" if before else "")
            + f'<script defer src="{src or self.tracker_url + "/js/t.js"}" {tag_html}></script>'
            + f"</head><body><h1>{html.escape(path)}</h1>{body}</body></html>"
        )
        return self.url + path


@pytest.fixture
def shop(tracker) -> Shop:
    pages: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/t.js":  # a copy of the tag hosted by the shop itself
                self.send_response(200)
                self.send_header("content-type", "text/javascript")
                self.end_headers()
                self.wfile.write(SNIPPET_PATH.read_bytes())
                return
            page = pages.get(self.path.split("?", 1)[0].split("#", 1)[0])
            self.send_response(200 if page else 404)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((page or "not found").encode())

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Shop(f"http://localhost:{server.server_address[1]}", tracker.url, pages)
    server.shutdown()
    server.server_close()


# Per module, not per session: while Playwright's sync API runs it owns the thread's asyncio
# loop, and the suite's other tests call asyncio.run() in that thread.
@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Tab:
    """A browser context and its page, with what the page sent to the tracker and any page errors."""

    def __init__(self, browser, tracker_url: str, init_script: str = "") -> None:
        self.context = browser.new_context(user_agent=DESKTOP_CHROME)
        if init_script:
            self.context.add_init_script(init_script)
        self.page: Page = self.context.new_page()
        self._sent: list = []
        self._errors: list[str] = []
        self.context.on("request", lambda r: self._sent.append(r) if r.url == tracker_url + "/api/event" else None)
        self.page.on("pageerror", lambda exc: self._errors.append(str(exc)))

    # Playwright's sync API delivers browser events only while a call is in progress: a cheap one
    # first, so the lists below are current and not as of the last Playwright call.
    @property
    def sent(self) -> list:
        """Requests to POST /api/event, in order."""
        self.page.wait_for_timeout(0)
        return self._sent

    @property
    def errors(self) -> list[str]:
        """Errors that reached the page (uncaught exceptions)."""
        self.page.wait_for_timeout(0)
        return self._errors

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_tab(browser, tracker):
    tabs: list[Tab] = []

    def open_tab(init_script: str = "") -> Tab:
        tabs.append(Tab(browser, tracker.url, init_script))
        return tabs[-1]

    yield open_tab
    for tab in tabs:
        tab.close()


def stored(ch, columns: str = "name, path", where: str = "1") -> list[tuple]:
    return [tuple(r) for r in ch.query(f"SELECT {columns} FROM events WHERE {where} ORDER BY ts, name").result_rows]


def wait_for_rows(ch, count: int, where: str = "1", timeout: float = 15.0) -> int:
    fetch = lambda: ch.query(f"SELECT count() FROM events WHERE {where}").result_rows[0][0]  # noqa: E731
    return wait_for(fetch, count, timeout)


def wait_until(predicate, timeout: float = 15.0) -> bool:
    return wait_for(lambda: bool(predicate()), True, timeout)


def sentinel_arrives(open_tab, shop: Shop, ch) -> None:
    """Send one event from a fresh, unrestricted tab and wait until it is stored.

    A test that checks that something was *not* sent opens its tab first; the sentinel's batch
    leaves later than that tab's would have, so once the sentinel is stored, the absence of the
    other tab's events is an answer and not a matter of waiting long enough.
    """
    tab = open_tab()
    tab.page.goto(shop.page("/sentinel", before="fh('track', 'sentinel')"))
    assert wait_for_rows(ch, 1, "name = 'sentinel'") == 1


# Screenshots of the pages (tests/browser/test_app_pages.py) go here; the directory is ignored by
# git and its path is printed at the end of the run.
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
_written: list[Path] = []


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    _written.append(path)
    return path


def pytest_terminal_summary(terminalreporter) -> None:
    if _written:
        terminalreporter.write_line(f"browser screenshots ({len(_written)}): {SCREENSHOTS}/ " + " ".join(p.name for p in _written))
