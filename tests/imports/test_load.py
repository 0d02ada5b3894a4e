"""Importing files into a real ClickHouse: any age, live validation, rejected lines, re-runs store once, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from tracker.clickhouse.client import Target
from tracker.clickhouse.migrate import migrate
from tracker.imports.load import Importer
from tracker.ingest.salts import DailySalts
from tracker.sites import Site, add_site

PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile/15E148 Safari/604.1"
# 400 days ago, on a whole second: far past the live backfill horizon, within the retention.
OLD = (int(time.time()) - 400 * 86_400) * 1000
OLD_ISO = datetime.fromtimestamp(OLD / 1000 + 1, timezone.utc).isoformat()


@pytest.fixture
def shop(clickhouse, database, ch):
    migrate(Target("127.0.0.1", clickhouse.port, database=database))
    add_site(ch, Site("shop"))
    return ch


def run_import(ch, tmp_path, path, fmt="jsonl", mapping=None, batch_rows=3):
    importer = Importer(ch, "shop", DailySalts(tmp_path / "salts"), frozenset(), batch_rows, retention_days=730)
    return importer.run(path, fmt, mapping or {})


def stored(ch):
    return ch.query("SELECT name, toUnixTimestamp64Milli(ts), transaction_id, value, device, items.item_id "
                    "FROM events ORDER BY ts, name").result_rows


def jsonl(path, events) -> None:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" if not isinstance(e, bytes) else e + b"\n" for e in events))


def test_old_events_are_imported_once_however_often_the_file_is(shop, tmp_path):
    path = tmp_path / "history.jsonl"
    jsonl(path, [
        {"name": "page_view", "ts": OLD, "url": "https://shop.example/?utm_source=news", "client_ip": "192.0.2.1", "user_agent": PHONE_UA},
        {"name": "add_to_cart", "ts": OLD_ISO, "items": [{"item_id": "A", "price": 5}], "currency": "EUR"},
        {"name": "purchase", "ts": OLD + 2000, "transaction_id": "T-1", "value": 5, "currency": "EUR", "site": "shop"},
        {"name": "purchase", "ts": OLD + 3000, "transaction_id": "T-1", "value": 5, "currency": "EUR"},  # the same order again
        {"name": "view_item", "ts": OLD + 4000, "user_agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"},
        {"name": "view_item"},  # no ts
        {"name": "view_item", "ts": OLD, "value": 3},  # no currency
        {"name": "view_item", "ts": OLD, "site": "other"},
        {"name": "view_item", "ts": "2020-01-01T00:00:00Z"},
        b"{broken",
        {"name": "page_view", "ts": OLD + 5000, "event_id": "6f1c1e1e-8a47-4c6a-9d7b-0c2a8e7c1b11"},
    ])
    report = run_import(shop, tmp_path, path)
    assert (report.rows, report.imported, report.dropped) == (11, 4, {"duplicate": 1, "bot": 1})
    assert [(line, [(e.path, e.reason) for e in errors]) for line, errors in report.rejected[:-1]] == [
        (6, [("ts", "is required in an import (milliseconds since the epoch or ISO-8601)")]),
        (7, [("currency", "is required when value or item prices are given")]),
        (8, [("site", "is not the site being imported (shop)")]),
        (9, [("ts", "is older than the retention of 730 days (TRACKER_RETENTION_DAYS)")]),
    ]
    assert report.rejected[-1][0] == 10 and report.rejected[-1][1][0].reason.startswith("not valid JSON")
    expected = [
        ("page_view", OLD, "", None, "mobile", []),
        ("add_to_cart", OLD + 1000, "", None, "", ["A"]),
        ("purchase", OLD + 2000, "T-1", 5, "", []),
        ("page_view", OLD + 5000, "", None, "", []),
    ]
    assert [(*r[:3], None if r[3] is None else float(r[3]), *r[4:]) for r in stored(shop)] == expected
    again = run_import(shop, tmp_path, path)
    assert again.imported == 4 and len(stored(shop)) == 4  # the same chunks: ClickHouse drops them
    ids = {row[0] for row in shop.query("SELECT toString(event_id) FROM events").result_rows}
    assert "6f1c1e1e-8a47-4c6a-9d7b-0c2a8e7c1b11" in ids
    # An id we chose is derived from the file and the line, so it is the same on each run.
    assert all(uuid.UUID(i).version in (4, 5) for i in ids)


def test_an_imported_order_already_sent_live_counts_once(shop, tmp_path):
    live = tmp_path / "live.jsonl"
    jsonl(live, [{"name": "purchase", "ts": OLD, "transaction_id": "T-9", "value": 20, "currency": "EUR"}])
    run_import(shop, tmp_path, live)
    history = tmp_path / "history.jsonl"
    jsonl(history, [{"name": "purchase", "ts": OLD + 60_000, "transaction_id": "T-9", "value": 20, "currency": "EUR"}])
    run_import(shop, tmp_path, history)  # another file: stored, as a second node's ingest would store it
    assert len(stored(shop)) == 2
    day = datetime.fromtimestamp(OLD / 1000, timezone.utc).replace(tzinfo=None)
    orders = shop.query("SELECT count() FROM orders(site = 'shop', from = {f:DateTime64(3)}, to = {t:DateTime64(3)})",
                        parameters={"f": day - timedelta(days=1), "t": day + timedelta(days=1)})
    assert orders.result_rows[0][0] == 1


def test_cli_imports_csv_with_a_mapping_a_progress_bar_and_a_rejects_file(shop, tmp_path, clickhouse, database):
    path = tmp_path / "orders.csv"
    lines = ["order_id,event,when,total,currency,items"]
    lines += [f'O-{i},purchase,{OLD + i},{i + 1}.5,EUR,"[{{""item_id"": ""sku-{i}"", ""quantity"": 2}}]"' for i in range(30)]
    lines += [f"O-bad-{i},purchase,{OLD},-2e13,EUR," for i in range(25)]
    path.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "TRACKER_CLICKHOUSE_URL": f"{clickhouse.url}/{database}", "TRACKER_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "tracker", "import", str(path), "--site", "shop",
               "--map", "order_id=transaction_id", "--map", "event=name", "--map", "when=ts", "--map", "total=value"]
    out = subprocess.run(command, capture_output=True, text=True, env=env)
    assert out.returncode == 1, out.stderr  # some rows were rejected
    assert out.stdout.strip() == "55 rows: 30 events imported for site shop, 25 rejected, dropped: none"
    assert "100%" in out.stderr and "rows/s" in out.stderr  # the progress bar: done, with its rate
    assert "rejected line 32: value: must be between -1e+12 and 1e+12" in out.stderr
    rejects = (tmp_path / "orders.csv.rejects.txt").read_text().splitlines()
    assert len(rejects) == 25 and rejects[-1] == "line 56: value: must be between -1e+12 and 1e+12"
    rows = shop.query("SELECT transaction_id, value, items.item_id, items.quantity FROM events ORDER BY ts").result_rows
    assert [(t, float(v), i, q) for t, v, i, q in rows[:2]] == [("O-0", 1.5, ["sku-0"], [2]), ("O-1", 2.5, ["sku-1"], [2])]
    assert subprocess.run(command, capture_output=True, text=True, env=env).returncode == 1
    assert len(shop.query("SELECT 1 FROM events").result_rows) == 30
    missing = subprocess.run([*command[:6], "nope"], capture_output=True, text=True, env=env)
    assert missing.returncode == 2 and "there is no site 'nope'" in missing.stderr
