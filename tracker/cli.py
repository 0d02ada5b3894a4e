"""Command line: python -m tracker serve | migrate | site add/list | token create/list/revoke | events | settings | version."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
from dataclasses import replace
from importlib.metadata import version as package_version

from tracker import log as tracker_log
from tracker.clickhouse.client import connect, resolve
from tracker.config import Settings, describe

log = logging.getLogger("tracker.cli")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tracker", description="Funnelhouse: web analytics for online shops.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("serve", help="apply migrations and serve the tracker (settings from TRACKER_* variables)")
    migrate = commands.add_parser("migrate", help="apply schema migrations that are not applied yet")
    migrate.add_argument("--cluster", metavar="NAME", help="create the schema on this ClickHouse cluster (TRACKER_CLUSTER)")
    migrate.add_argument("--plain-merge-tree", action="store_true",
                         help="with --cluster: plain MergeTree local tables instead of Replicated (TRACKER_CLUSTER_REPLICATED=0)")
    migrate.add_argument("--node", metavar="URL", action="append", default=[],
                         help="with --cluster: run the DDL on each node's http URL instead of ON CLUSTER (repeat; TRACKER_CLUSTER_NODES)")
    site = commands.add_parser("site", help="manage the sites that may send events")
    site_commands = site.add_subparsers(dest="site_command", required=True, metavar="SITE_COMMAND")
    add = site_commands.add_parser("add", help="add a site (or update it)")
    add.add_argument("site", help="site id used by the snippet, e.g. my-shop")
    add.add_argument("--name", default="", help="display name")
    add.add_argument("--origin", action="append", default=[], help="allowed browser origin (repeatable); none = any")
    add.add_argument("--timezone", default="UTC", help="time zone for day buckets, e.g. Europe/Berlin")
    site_commands.add_parser("list", help="list sites")
    token = commands.add_parser("token", help="manage query API tokens (one site each)")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="TOKEN_COMMAND")
    create = token_commands.add_parser("create", help="create a token for a site and print it (only this once)")
    create.add_argument("site", help="the site the token may read")
    create.add_argument("--note", default="", help="what the token is for, shown by `token list`")
    token_list = token_commands.add_parser("list", help="list active tokens (ids, not the tokens)")
    token_list.add_argument("--site", default=None)
    revoke = token_commands.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id")
    events = commands.add_parser("events", help="show the newest stored events of a site")
    events.add_argument("--site", default="demo")
    events.add_argument("--limit", type=int, default=20)
    settings_parser = commands.add_parser("settings", help="list every TRACKER_* setting with its default")
    settings_parser.add_argument("--markdown", action="store_true", help="as the table in docs/operations.md")
    commands.add_parser("version", help="print the version")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    tracker_log.setup(settings.log_level)
    handler = {
        "serve": serve, "migrate": migrate_command, "site": site_command, "token": token_command, "events": events_command,
        "settings": settings_command, "version": version_command,
    }[args.command]
    return handler(settings, args) or 0


def version_command(settings: Settings, args) -> int:
    print(package_version("funnelhouse"))
    return 0


def settings_command(settings: Settings, args) -> int:
    if args.markdown:
        print("| setting | default | what it does |\n|---|---|---|")
    for name, default, doc in describe():
        print(f"| `{name}` | `{default}` | {doc} |" if args.markdown else f"{name:<34} {default!r:<14} {doc}")
    return 0


def _with_clickhouse(settings: Settings, work):
    """Run work(target) against ClickHouse; an embedded server started for it stops afterwards."""
    target, owned = resolve(settings)
    try:
        return work(target)
    finally:
        if owned:
            owned.stop()


def migrate_command(settings: Settings, args) -> int:
    from tracker.clickhouse.migrate import migrate_configured

    if args.cluster:
        settings = replace(settings, cluster=args.cluster)
    if args.plain_merge_tree:
        settings = replace(settings, cluster_replicated=False)
    if args.node:
        settings = replace(settings, cluster_nodes=",".join(args.node))
    if (args.plain_merge_tree or args.node) and not settings.cluster:
        print("error: --plain-merge-tree and --node need --cluster NAME", file=sys.stderr)
        return 2
    applied = _with_clickhouse(settings, lambda t: migrate_configured(settings, t))
    print(f"applied {len(applied)} migration(s)" + "".join(f"\n  {m.version:04d} {m.name}" for m in applied))
    return 0


def site_command(settings: Settings, args) -> int:
    from tracker.app import prepare_database
    from tracker.sites import Site, add_site, check_site_id, check_timezone, list_sites

    def work(target):
        prepare_database(settings, target)
        client = connect(target)
        if args.site_command == "add":
            try:
                site = Site(check_site_id(args.site), args.name, tuple(args.origin), check_timezone(args.timezone))
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            add_site(client, site)
            print(f"site {site.site} saved; running trackers pick it up within {settings.sites_refresh_s:g} s")
            print(f'snippet: <script defer src="http://{settings.host}:{settings.port}/js/t.js" data-site="{site.site}"></script>')
            return 0
        for s in list_sites(client):
            origins = ",".join(s.allowed_origins) or "*"
            print(f"{s.site:<24} {s.timezone:<20} origins={origins:<30} {s.name}")
        return 0

    return _with_clickhouse(settings, work)


def token_command(settings: Settings, args) -> int:
    from tracker.app import prepare_database
    from tracker.sites import get_site
    from tracker.tokens import TOKEN_CACHE_S, create_token, list_tokens, revoke_token

    def work(target):
        prepare_database(settings, target)
        client = connect(target)
        if args.token_command == "create":
            if get_site(client, args.site) is None:
                print(f"error: there is no site {args.site!r} (add it with: python -m tracker site add {args.site})", file=sys.stderr)
                return 2
            token_id, token = create_token(client, args.site, args.note)
            print(token)
            print(f"token {token_id} for site {args.site}: shown only now, store it safely; send it as "
                  f"'Authorization: Bearer <token>'", file=sys.stderr)
            return 0
        if args.token_command == "revoke":
            if not revoke_token(client, args.token_id):
                print(f"error: no active token {args.token_id!r}", file=sys.stderr)
                return 2
            print(f"token {args.token_id} revoked; running trackers stop accepting it within {TOKEN_CACHE_S:g} s")
            return 0
        for t in list_tokens(client, args.site):
            print(f"{t.token_id:<14} {t.site:<24} {t.created_at}  {t.note}")
        return 0

    return _with_clickhouse(settings, work)


def events_command(settings: Settings, args) -> int:
    from tracker.queries.recent import recent_events

    rows = _with_clickhouse(settings, lambda t: recent_events(connect(t), args.site, args.limit))
    if not rows:
        print(f"no events stored for site {args.site!r} yet (they reach ClickHouse within TRACKER_FLUSH_INTERVAL_S)")
        return 0
    header = ("ts", "name", "path", "source", "medium", "device", "browser", "value", "currency")
    print("  ".join(f"{h:<12}" for h in header))
    for row in rows:
        print("  ".join(f"{'' if v is None else str(v):<12}" for v in row))
    return 0


def serve(settings: Settings, args) -> int:
    import uvicorn

    from tracker.app import create_app, prepare_database

    target, owned = resolve(settings)
    try:
        prepare_database(settings, target)
        worker_env = {"TRACKER_MIGRATE_ON_START": "0", "TRACKER_DEMO_SITE": "0"}  # done once, here
        if settings.workers > 1:
            metrics_dir = settings.data_path / "metrics"
            shutil.rmtree(metrics_dir, ignore_errors=True)
            metrics_dir.mkdir(parents=True)
            worker_env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        os.environ.update(worker_env)
        base = f"http://{settings.host}:{settings.port}"
        print(
            f"Funnelhouse is serving on {base}  (ClickHouse: {target.display()}{', embedded' if owned else ''})\n"
            f"  ingest   POST {base}/api/event\n"
            f"  health   {base}/healthz   ready {base}/readyz   metrics {base}/metrics\n"
            f"Send a first event:\n"
            f"  curl -X POST {base}/api/event -H 'Content-Type: application/json' -A 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' \\\n"
            f"       -d '{{\"site\": \"demo\", \"name\": \"page_view\", \"url\": \"https://shop.example/\"}}'\n"
            f"See it (after ~{settings.flush_interval_s:g} s):  .venv/bin/python -m tracker events --site demo\n",
            flush=True,
        )
        # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal: turn that into a
        # normal exit so the owned embedded ClickHouse is stopped in order below.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
        # proxy_headers off: TRACKER_TRUST_PROXY_HEADERS alone decides whether X-Forwarded-For is believed.
        options = dict(host=settings.host, port=settings.port, access_log=False, log_level="warning", proxy_headers=False)
        if settings.workers > 1:
            uvicorn.run("tracker.app:create_app", factory=True, workers=settings.workers, **options)
        else:
            uvicorn.run(create_app(Settings.from_env()), **options)
    finally:
        if owned:
            owned.stop()
    return 0
