"""A real webhook receiver for the tests: a threaded http.server on loopback that records every
request and answers each cart's deliveries from a plan (200, 500, or `hang`: never answers)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson


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
