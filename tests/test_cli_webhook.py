"""`python -m tracker webhook add | list | remove` as a shop owner runs them, against a real ClickHouse."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.query_support import db  # noqa: F401 - a fixture (a migrated database)
from tracker.webhooks.registry import list_webhooks


def cli(clickhouse, database, tmp_path, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRACKER_CLICKHOUSE_URL": f"{clickhouse.url}/{database}", "TRACKER_DATA_DIR": str(tmp_path),
           "TRACKER_DEMO_SITE": "0", "TRACKER_ABANDONED_IDLE_MINUTES": "45"}
    return subprocess.run([sys.executable, "-m", "tracker", *argv], env=env, capture_output=True, text=True, timeout=120)


def test_add_prints_the_secret_once_list_and_remove(db, clickhouse, database, tmp_path):
    run = lambda *argv: cli(clickhouse, database, tmp_path, *argv)  # noqa: E731
    assert run("site", "add", "shop").returncode == 0
    added = run("webhook", "add", "shop", "https://crm.example/hooks/carts")
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip()
    assert secret.startswith("whsec_") and len(secret) > 40 and "shown only now" in added.stderr
    [hook] = list_webhooks(db.ch)
    assert (hook.site, hook.url, hook.idle_s, hook.secret) == ("shop", "https://crm.example/hooks/carts", 45 * 60, secret)
    assert secret not in repr(hook)

    assert run("webhook", "add", "shop", "http://127.0.0.1:9000/x", "--idle", "2h").returncode == 0
    listed = run("webhook", "list")
    assert listed.returncode == 0 and hook.webhook_id in listed.stdout and "idle=45m" in listed.stdout and "idle=2h" in listed.stdout
    assert "whsec_" not in listed.stdout + listed.stderr

    removed = run("webhook", "remove", hook.webhook_id)
    assert removed.returncode == 0
    assert [h.url for h in list_webhooks(db.ch)] == ["http://127.0.0.1:9000/x"]
    assert run("webhook", "remove", hook.webhook_id).returncode == 2


def test_bad_input_is_refused_with_the_reason(db, clickhouse, database, tmp_path):
    run = lambda *argv: cli(clickhouse, database, tmp_path, *argv)  # noqa: E731
    run("site", "add", "shop")
    for argv, reason in [
        (("webhook", "add", "nope", "https://crm.example/"), "there is no site 'nope'"),
        (("webhook", "add", "shop", "ftp://crm.example/"), "must be http:// or https://"),
        (("webhook", "add", "shop", "https://crm.example/", "--idle", "soon"), "must be a duration"),
        (("webhook", "add", "shop", "https://crm.example/", "--idle", "10s"), "--idle must be from 1m to 30d"),
    ]:
        out = run(*argv)
        assert out.returncode == 2 and reason in out.stderr and out.stdout == "", (argv, out.stderr)
    assert list_webhooks(db.ch) == []
