"""Webhook test support: a real receiver (a threaded http.server on loopback that records every
request and answers each cart's deliveries from a plan: 200, 500, or `hang`, never answering),
the app with fast webhook settings, and carts about to become abandoned."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
from starlette.testclient import TestClient

from tests.conftest import BROWSER_UA
from tests.query_support import event, insert
from tracker.app import create_app
from tracker.config import Settings

IDLE_S = 60  # the webhooks' idle time in these tests
FAST = dict(webhook_interval_s=0.2, webhook_timeout_s=1.0, webhook_retry_first_s=0.3)


def running(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), headers={"user-agent": BROWSER_UA})


def abandoned_soon(ch, *visitors: int, value: float = 20.0, in_s: float = 2.0) -> dict[int, datetime]:
    """A cart per visitor whose last activity was IDLE_S - in_s ago: abandoned in in_s. Returns its start."""
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=IDLE_S - in_s)
    insert(ch, [event("add_to_cart", start, v, items=[("A", value, 1, "Apron")], currency="EUR") for v in visitors])
    return {v: start for v in visitors}


@dataclass
class Delivery:
    headers: dict[str, str]  # names in lower case
    body: bytes
    received_at: float

    @property
    def json(self) -> dict:
        return orjson.loads(self.body)

    @property
    def visitor(self) -> str:
        return self.json["cart"]["visitor_id"]


@dataclass
class Receiver:
    """plan: visitor id -> answers for its successive deliveries (then 200)."""

    plan: dict[str, list] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  # ends every hang
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/carts"

    def of(self, visitor: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.visitor == visitor]

    def wait_for(self, count: int, visitor: str | None = None, timeout: float = 30.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(visitor) if visitor else list(self.deliveries)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        return self.of(visitor) if visitor else list(self.deliveries)


def start_receiver(plan: dict[str, list] | None = None) -> Receiver:
    receiver = Receiver(plan or {})
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            delivery = Delivery({k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
            with lock:
                receiver.deliveries.append(delivery)
                answers = receiver.plan.get(delivery.visitor, [])
                answer = answers.pop(0) if answers else 200
            if answer == "hang":
                receiver.release.wait(60)
                return  # closes the connection without an answer
            self.send_response(answer)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    receiver.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.server.daemon_threads = True
    threading.Thread(target=receiver.server.serve_forever, daemon=True).start()
    return receiver


def stop_receiver(receiver: Receiver) -> None:
    receiver.release.set()
    receiver.server.shutdown()
    receiver.server.server_close()
