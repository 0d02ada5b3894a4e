"""`python -m tracker import` speed: a generated JSONL file of shop events through the real CLI into
an embedded ClickHouse, then the same file again (which must store nothing new).

    python bench/import_file.py [--events 1000000]

The file is made in a temporary directory and deleted afterwards. Results go to bench/import.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.clickhouse import embedded  # noqa: E402
from tracker.clickhouse.client import Target, connect  # noqa: E402
from tracker.clickhouse.migrate import migrate  # noqa: E402
from tracker.sites import Site, add_site  # noqa: E402

UAS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
]


def write_events(path: Path, n: int, seed: int = 7) -> None:
    """n events of a year's shopping: journeys of page views, product views, carts and purchases."""
    rnd = random.Random(seed)
    start_ms = (int(time.time()) - 365 * 86_400) * 1000
    names = ["page_view", "page_view", "view_item", "add_to_cart", "begin_checkout", "purchase"]
    with open(path, "wb") as f:
        for i in range(n):
            name = names[rnd.randrange(len(names))]
            event = {"name": name, "ts": start_ms + rnd.randrange(360 * 86_400_000),
                     "url": f"https://shop.example/p/{rnd.randrange(500)}?utm_source=news" if i % 7 == 0 else f"https://shop.example/p/{rnd.randrange(500)}",
                     "client_ip": f"198.51.{rnd.randrange(256)}.{rnd.randrange(256)}", "user_agent": UAS[rnd.randrange(3)]}
            if name in ("add_to_cart", "purchase"):
                event["items"] = [{"item_id": f"sku-{rnd.randrange(500)}", "price": 19.99, "quantity": 1}]
                event["currency"] = "EUR"
            if name == "purchase":
                event["transaction_id"] = f"T-{i}"
                event["value"] = 19.99
            f.write(orjson.dumps(event) + b"\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="funnelhouse-bench-import-") as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "events.jsonl"
        started = time.perf_counter()
        write_events(path, args.events)
        print(f"wrote {args.events} events ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s", flush=True)
        server = embedded.start(tmp / "clickhouse")
        try:
            target = Target("127.0.0.1", server.port, database="bench_import")
            connect(target, database=False).command("CREATE DATABASE IF NOT EXISTS bench_import")
            migrate(target)
            client = connect(target)
            add_site(client, Site("shop"))
            env = {**os.environ, "TRACKER_CLICKHOUSE_URL": f"{server.url}/bench_import", "TRACKER_DATA_DIR": str(tmp / "data")}
            command = [sys.executable, "-m", "tracker", "import", str(path), "--site", "shop"]
            runs = []
            for attempt in ("first", "again"):
                started = time.perf_counter()
                out = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)
                seconds = time.perf_counter() - started
                stored = client.query("SELECT count() FROM events").result_rows[0][0]
                print(f"{attempt}: {seconds:.1f} s, {args.events / seconds:,.0f} events/s; {out.stdout.strip()}; stored {stored}", flush=True)
                runs.append({"run": attempt, "seconds": round(seconds, 1), "events_per_s": round(args.events / seconds),
                             "stored": stored, "exit": out.returncode})
        finally:
            server.stop()
    result = {"events": args.events, "cpus": os.cpu_count(), "runs": runs}
    (Path(__file__).parent / "import.json").write_text(json.dumps(result, indent=2) + "\n")
    ok = all(r["stored"] == runs[0]["stored"] for r in runs) and runs[0]["exit"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
