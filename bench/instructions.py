"""Instructions per ingest request, counted by callgrind: a figure that neighbours cannot disturb.

One tracker worker runs under `valgrind --tool=callgrind` with collection off; after a warm-up,
collection is switched on for a fixed number of requests (single events, then batches of 20) sent
by a few client threads over keep-alive connections, and off again. Everything the worker process
runs is counted (uvloop, httptools, Python, the spool's threads), ClickHouse is not.

    python bench/instructions.py [--requests 2000] [--batch 20] [--clients 4]

Needs valgrind (`apt-get install valgrind`). Takes a few minutes: callgrind runs Python ~50x slower.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness  # noqa: E402
from tracker.clickhouse import embedded  # noqa: E402

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PAGES = ("/", "/c/shoes", "/p/sku-1", "/cart", "/checkout")
NAMES = ("page_view", "view_item", "add_to_cart", "begin_checkout", "page_view")


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


def send(port: int, requests: int, batch: int, clients: int) -> None:
    def one_client(n: int, seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        for _ in range(n):
            conn.request("POST", "/api/event", body(batch, rng), {"Content-Type": "application/json", "User-Agent": UA})
            response = conn.getresponse()
            response.read()
            assert response.status == 202, response.status
        conn.close()

    threads = [threading.Thread(target=one_client, args=(requests // clients, i)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def callgrind_control(pid: int, *args: str) -> str:
    return subprocess.run(["callgrind_control", *args, str(pid)], capture_output=True, text=True, check=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--keep", help="directory to keep the callgrind.out files in (for callgrind_annotate)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="funnelhouse-callgrind-") as tmp:
        tmp = Path(tmp)
        out_dir = Path(args.keep) if args.keep else tmp
        out_dir.mkdir(parents=True, exist_ok=True)
        clickhouse = embedded.start(tmp / "clickhouse")
        port = harness.free_port()
        metrics_dir = tmp / "metrics"
        metrics_dir.mkdir()
        env = {
            **os.environ,
            "TRACKER_DATA_DIR": str(tmp / "tracker"),
            "TRACKER_CLICKHOUSE_URL": f"{clickhouse.url}/bench_callgrind",
            "TRACKER_WORKERS": "1",
            "TRACKER_PORT": str(port),
            "TRACKER_RATE_LIMIT_IP_PER_S": "0",
            "TRACKER_RATE_LIMIT_SITE_PER_S": "0",
            "TRACKER_LOG_LEVEL": "warning",
            # Timers run at wall-clock pace while callgrind slows the worker ~50x: the site list's
            # reload (a new ClickHouse client each time) would otherwise weigh on every request.
            "TRACKER_SITES_REFRESH_S": "3600",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),  # as with several workers in production
        }
        process = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out_dir}/callgrind.out.%p",
             sys.executable, "-m", "tracker", "serve"],
            env=env, cwd=harness.ROOT, stdout=subprocess.DEVNULL, stderr=open(tmp / "valgrind.log", "wb"),
        )
        try:
            harness.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=600)
            results = {}
            for label, batch in (("single event", 1), (f"batch of {args.batch}", args.batch)):
                send(port, max(args.clients, args.requests // 20), batch, args.clients)  # warm-up: caches, code paths
                callgrind_control(process.pid, "--zero")
                callgrind_control(process.pid, "--instr=on")
                send(port, args.requests, batch, args.clients)
                callgrind_control(process.pid, "--instr=off")
                callgrind_control(process.pid, "--dump=" + label.replace(" ", "_"))
                time.sleep(1)
                dump = max(out_dir.glob(f"callgrind.out.{process.pid}*"), key=lambda p: p.stat().st_mtime)
                total = instructions(dump)
                results[label] = total / args.requests, total / args.requests / batch
        finally:
            process.terminate()
            process.wait(120)
            clickhouse.stop()
    for label, (per_request, per_event) in results.items():
        print(f"{label}: {per_request:,.0f} instructions per request, {per_event:,.0f} per event")
    return 0


def instructions(dump: Path) -> int:
    text = dump.read_text(errors="replace")
    return int(re.search(r"^totals:\s+(\d+)", text, re.M).group(1))


if __name__ == "__main__":
    sys.exit(main())
