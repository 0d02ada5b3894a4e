"""Instructions per ingest request, counted by callgrind: a figure that neighbours cannot disturb.

The tracker's ASGI app runs in this process with its real parts (spool with fsync, pipeline,
embedded ClickHouse in its own, untraced process) and is called directly, without sockets, by
CLIENTS concurrent tasks. Its background tasks are stopped: under callgrind the process runs ~50x
slower while their timers keep wall-clock pace, so they would weigh on every request. Each figure
is the difference of two runs under `valgrind --tool=callgrind`: with and without the measured
requests (both after the same warm-up). uvicorn's HTTP parsing is not included (the same for
any version of the tracker).

    python bench/instructions.py [--requests 2000] [--batch 20]

Needs valgrind (`apt-get install valgrind`); takes a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

UA = b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PAGES = ("/", "/c/shoes", "/p/sku-1", "/cart", "/checkout")
NAMES = ("page_view", "view_item", "add_to_cart", "begin_checkout", "page_view")
CLIENTS = 16
WARM_UP = 300


def body(batch: int, rng: random.Random) -> bytes:
    """The same shape as bench/post.lua sends."""
    events = []
    for _ in range(batch):
        k = rng.randrange(len(PAGES))
        events.append(
            f'{{"name":"{NAMES[k]}","url":"https://shop.example{PAGES[k]}?utm_source=news",'
            f'"referrer":"https://www.google.com/","event_id":"{uuid.UUID(int=rng.getrandbits(128), version=4)}",'
            f'"visitor":"v{rng.randint(1, 50000)}"}}'
        )
    return ('{"site":"demo","events":[' + ",".join(events) + "]}").encode()


async def drive(app, bodies: list[bytes]) -> None:
    headers = [(b"content-type", b"application/json"), (b"user-agent", UA), (b"host", b"bench")]

    async def one(data: bytes) -> None:
        async def receive():
            return {"type": "http.request", "body": data, "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start" and message["status"] != 202:
                raise RuntimeError(f"status {message['status']}")

        scope = {"type": "http", "method": "POST", "path": "/api/event", "root_path": "", "query_string": b"",
                 "client": ("127.0.0.1", 40000),
                 "headers": [*headers, (b"content-length", str(len(data)).encode())]}
        await app(scope, receive, send)

    async def client(mine: list[bytes]) -> None:
        for data in mine:
            await one(data)

    await asyncio.gather(*(client(bodies[i::CLIENTS]) for i in range(CLIENTS)))


async def replay(app, requests: int, send: int, batch: int) -> None:
    """Warm up, then send `send` of `requests` bodies. All are made in both runs of a difference,
    so that making them is not counted as the app's work."""
    rng = random.Random(1)
    warm_up, measured = [body(batch, rng) for _ in range(WARM_UP)], [body(batch, rng) for _ in range(requests)]
    await drive(app, warm_up)
    await drive(app, measured[:send])


async def serve(tmp: Path, clickhouse_url: str, requests: int, send: int, batch: int) -> None:
    """The traced part: start the tracker, warm up, send `send` of `requests` batches of `batch`, stop."""
    from tracker.app import create_app, start_tracker, stop_tracker
    from tracker.config import Settings

    settings = Settings(data_dir=str(tmp / "tracker"), clickhouse_url=clickhouse_url, rate_limit_ip_per_s=0.0,
                        rate_limit_site_per_s=0.0, log_level="warning")
    app = create_app(settings)
    tracker = app.state.tracker = await start_tracker(settings)
    for task in [*tracker.tasks, tracker.flusher._task, tracker.webhooks._task]:
        task.cancel()
    await replay(app, requests, send, batch)
    await stop_tracker(tracker)


async def serve_bare(requests: int, send: int, batch: int) -> None:
    from bench.bare_app import app

    await replay(app, requests, send, batch)


def traced(tmp: Path, clickhouse_url: str, requests: int, send: int, batch: int, mode: str = "--serve") -> int:
    """Instructions of one whole run under callgrind."""
    out = tmp / f"callgrind{mode}.{send}.{batch}"
    subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
         mode, str(tmp / f"run{mode}-{send}-{batch}"), clickhouse_url, str(requests), str(send), str(batch)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return int(re.search(r"^totals:\s+(\d+)", out.read_text(errors="replace"), re.M).group(1))


def main() -> int:
    if sys.argv[1:2] == ["--serve"]:
        Path(sys.argv[2]).mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="metrics-", dir=sys.argv[2])  # as with 2 workers
        asyncio.run(serve(Path(sys.argv[2]), sys.argv[3], *map(int, sys.argv[4:7])))
        return 0
    if sys.argv[1:2] == ["--serve-bare"]:
        asyncio.run(serve_bare(*map(int, sys.argv[4:7])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()
    from tracker.clickhouse import embedded

    with tempfile.TemporaryDirectory(prefix="funnelhouse-callgrind-") as tmp:
        tmp = Path(tmp)
        clickhouse = embedded.start(tmp / "clickhouse")
        try:
            for batch in (1, args.batch):
                # A fresh database for each run: both runs create the same tables.
                n = args.requests
                base = traced(tmp, f"{clickhouse.url}/callgrind_{batch}_0", n, 0, batch)
                total = traced(tmp, f"{clickhouse.url}/callgrind_{batch}_{n}", n, n, batch)
                per_request = (total - base) / n
                bare = (traced(tmp, "", n, n, batch, "--serve-bare") - traced(tmp, "", n, 0, batch, "--serve-bare")) / n
                print(f"batch of {batch}: {per_request:,.0f} instructions per request, {per_request / batch:,.0f} per event;"
                      f" bare Starlette endpoint {bare:,.0f} per request: ratio {per_request / bare:.2f}", flush=True)
        finally:
            clickhouse.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
