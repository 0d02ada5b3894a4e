"""Open-loop load: requests go out on a fixed schedule, whatever pace the server answers at.

wrk is closed-loop: a connection waits for its answer before sending again, so a stalled server
also stalls the load and the stall hides in the percentiles (coordinated omission). Here latency
counts from the moment a request was due, so queueing shows. Used for "p99 at half the rate".
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass

import orjson

MAX_CONNECTIONS = 512
_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.I)
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@dataclass
class OpenLoopResult:
    target_per_s: float
    sent_per_s: float
    requests: int
    non_2xx: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def request_bytes(port: int, batch: int, index: int) -> bytes:
    """An ingest request like bench/post.lua sends: fresh event_ids, so dedupe does real work."""
    pages = ("/", "/c/shoes", "/p/sku-1", "/cart", "/checkout")
    names = ("page_view", "view_item", "add_to_cart", "begin_checkout", "page_view")
    events = [
        {"name": names[(index + i) % 5], "url": f"https://shop.example{pages[(index + i) % 5]}?utm_source=news",
         "referrer": "https://www.google.com/", "event_id": str(uuid.uuid4()), "visitor": f"v{(index * batch + i) % 50000}"}
        for i in range(batch)
    ]
    body = orjson.dumps({"site": "demo", "events": events})
    head = (
        f"POST /api/event HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"User-Agent: {UA}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _drive(port: int, rate_per_s: float, seconds: float, batch: int) -> OpenLoopResult:
    loop = asyncio.get_running_loop()
    total = max(1, int(rate_per_s * seconds))
    payloads = [request_bytes(port, batch, i) for i in range(total)]
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    slots = asyncio.Semaphore(MAX_CONNECTIONS)
    latencies: list[float] = []
    non_2xx = 0

    async def send(due: float, payload: bytes) -> None:
        nonlocal non_2xx
        async with slots:
            reused = bool(idle)
            reader, writer = idle.pop() if idle else await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(payload)
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                if not reused:
                    raise
                # The server closed an idle keep-alive connection: send again on a new one.
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(payload)
                head = await reader.readuntil(b"\r\n\r\n")
            match = _LENGTH.search(head)
            await reader.readexactly(int(match.group(1)) if match else 0)
            latencies.append(loop.time() - due)
            if not head[9:10] == b"2":
                non_2xx += 1
            idle.append((reader, writer))

    tasks = []
    start = loop.time() + 0.05
    for i, payload in enumerate(payloads):
        due = start + i / rate_per_s
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(send(due, payload)))
    sent_s = loop.time() - start
    await asyncio.gather(*tasks)
    for _, writer in idle:
        writer.close()
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return OpenLoopResult(rate_per_s, total / sent_s, total, non_2xx, pct(0.50), pct(0.99), latencies[-1] * 1000)


def open_loop(port: int, rate_per_s: float, seconds: float, batch: int) -> OpenLoopResult:
    return asyncio.run(_drive(port, rate_per_s, seconds, batch))
