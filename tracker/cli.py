"""Command line: python -m tracker serve | migrate | site add/list | token create/list/revoke |
key create/list/revoke | share create/list/revoke | webhook add/list/remove | shopify secret | funnel add/list/edit/remove | import | events | settings | version."""

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
from tracker.saved_funnels import command as funnel_cli

log = logging.getLogger("tracker.cli")

IMPORT_HELP = """Import past events of one site from CSV or JSONL, straight into ClickHouse (docs/import.md).

Rows hold the event fields of docs/events.md (`ts` is required; any age within TRACKER_RETENTION_DAYS). In CSV, `props` and
`items` are JSON cells. Other column names: --map SRC=FIELD. Each row is validated as a live
event; rejected rows are listed with their line numbers (in a file when there are more than 20).
Running the same file again stores nothing twice (keep --batch-rows the same)."""
MAX_REJECTS_SHOWN = 20
IMPORT_TIMEOUT_S = 300


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
    for command, what, may in (("token", "query API tokens", "read"), ("key", "ingest keys of shop backends", "send events for")):
        secret = commands.add_parser(command, help=f"manage {what} (one site each)")
        secret_commands = secret.add_subparsers(dest="token_command", required=True, metavar=f"{command.upper()}_COMMAND")
        create = secret_commands.add_parser("create", help=f"create a {command} for a site and print it (only this once)")
        create.add_argument("site", help=f"the site the {command} may {may}")
        create.add_argument("--note", default="", help=f"what the {command} is for, shown by `{command} list`")
        secret_list = secret_commands.add_parser("list", help=f"list active {command}s (ids, not the secrets)")
        secret_list.add_argument("--site", default=None)
        revoke = secret_commands.add_parser("revoke", help=f"revoke a {command} by its id")
        revoke.add_argument("token_id", metavar=f"{command.upper()}_ID")
    share = commands.add_parser("share", help="manage read-only links to a site's page (/app) for an agency or a colleague")
    share_commands = share.add_subparsers(dest="share_command", required=True, metavar="SHARE_COMMAND")
    share_create = share_commands.add_parser("create", help="create a shared link for a site and print it (only this once)")
    share_create.add_argument("site", help="the site whose page the link shows")
    share_create.add_argument("--note", default="", help="who the link is for, shown by `share list` and on the page")
    share_create.add_argument("--base-url", default=None,
                              help="the address people open the pages at, e.g. https://stats.my-shop.example "
                                   "(default: http://TRACKER_HOST:TRACKER_PORT)")
    share_list = share_commands.add_parser("list", help="list active shared links (ids, not the links)")
    share_list.add_argument("--site", default=None)
    share_revoke = share_commands.add_parser("revoke", help="revoke a shared link by its id")
    share_revoke.add_argument("link_id", metavar="ID")
    load = commands.add_parser("import", help="import past events from a CSV or JSONL file straight into ClickHouse",
                               description=IMPORT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    load.add_argument("file", help="a .csv or .jsonl file")
    load.add_argument("--site", required=True, help="the site the events belong to (rows may not name another)")
    load.add_argument("--format", choices=("csv", "jsonl"), help="default: from the file name (.csv, else JSONL)")
    load.add_argument("--map", action="append", default=[], metavar="SRC=DST",
                      help="read column/field SRC as the event field DST, e.g. --map order_id=transaction_id (repeatable)")
    load.add_argument("--rejects", metavar="FILE", help="where to write rejected rows when there are many (default: FILE.rejects.txt)")
    load.add_argument("--batch-rows", type=int, default=100_000, help="rows per ClickHouse insert (default 100000)")
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    webhook = commands.add_parser("webhook", help="manage the webhooks that announce abandoned carts (docs/webhooks.md)")
    webhook_commands = webhook.add_subparsers(dest="webhook_command", required=True, metavar="WEBHOOK_COMMAND")
    webhook_add = webhook_commands.add_parser("add", help="POST each newly abandoned cart of SITE to URL; prints the signing secret (only this once)")
    webhook_add.add_argument("site", help="the site whose carts are announced")
    webhook_add.add_argument("url", help="the receiver, http:// or https://")
    webhook_add.add_argument("--idle", default=None, help="how long a cart sits idle before it is announced, e.g. 30m or 2h "
                             "(default: TRACKER_ABANDONED_IDLE_MINUTES)")
    webhook_list = webhook_commands.add_parser("list", help="list webhooks (ids and URLs, not secrets)")
    webhook_list.add_argument("--site", default=None)
    webhook_remove = webhook_commands.add_parser("remove", help="stop announcing carts to a webhook, by its id")
    webhook_remove.add_argument("webhook_id")
    shopify = commands.add_parser("shopify", help="connect a Shopify shop (docs/integrations/shopify.md)")
    shopify_commands = shopify.add_subparsers(dest="shopify_command", required=True, metavar="SHOPIFY_COMMAND")
    shopify_secret = shopify_commands.add_parser(
        "secret", help="set the secret Shopify signs the shop's webhooks with (read from stdin, or asked for)")
    shopify_secret.add_argument("site", help="the site the shop's orders belong to")
    shopify_customer = shopify_commands.add_parser(
        "customer", help="print the customer_id stored for a Shopify customer id (for export and deletion requests)")
    shopify_customer.add_argument("site")
    shopify_customer.add_argument("customer", metavar="SHOPIFY_CUSTOMER_ID", help="the customer's id in Shopify, e.g. 7012345678901")
    funnel_cli.add_parser(commands)
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
        "serve": serve, "migrate": migrate_command, "site": site_command, "token": token_command, "key": token_command,
        "share": share_command,
        "webhook": webhook_command, "shopify": shopify_command, "funnel": funnel_command, "import": import_command, "events": events_command,
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


def _site_missing(client, site: str) -> bool:
    """True (and says so on stderr) when `site` does not exist: commands about a site stop there."""
    from tracker.sites import get_site

    if get_site(client, site) is not None:
        return False
    print(f"error: there is no site {site!r} (add it with: python -m tracker site add {site})", file=sys.stderr)
    return True


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
            print(f"site {site.site} saved; running trackers accept its events at once")
            print(f'snippet: <script defer src="http://{settings.host}:{settings.port}/js/t.js" data-site="{site.site}"></script>')
            return 0
        for s in list_sites(client):
            origins = ",".join(s.allowed_origins) or "*"
            print(f"{s.site:<24} {s.timezone:<20} origins={origins:<30} {s.name}")
        return 0

    return _with_clickhouse(settings, work)


def token_command(settings: Settings, args) -> int:
    """`token ...` (query API tokens) and `key ...` (ingest keys): the same secrets in two tables."""
    from tracker.app import prepare_database
    from tracker.ingest.keys import INGEST_KEYS
    from tracker.tokens import QUERY_TOKENS, TOKEN_CACHE_S, create_token, list_tokens, revoke_token

    what, kind = ("key", INGEST_KEYS) if args.command == "key" else ("token", QUERY_TOKENS)
    use = "POST /api/event" if what == "key" else "the query API"

    def work(target):
        prepare_database(settings, target)
        client = connect(target)
        if args.token_command == "create":
            if _site_missing(client, args.site):
                return 2
            token_id, token = create_token(client, args.site, args.note, kind)
            print(token)
            print(f"{what} {token_id} for site {args.site}: shown only now, store it safely; send it to {use} as "
                  f"'Authorization: Bearer <{what}>'", file=sys.stderr)
            return 0
        if args.token_command == "revoke":
            if not revoke_token(client, args.token_id, kind):
                print(f"error: no active {what} {args.token_id!r}", file=sys.stderr)
                return 2
            print(f"{what} {args.token_id} revoked; running trackers stop accepting it within {TOKEN_CACHE_S:g} s")
            return 0
        for t in list_tokens(client, args.site, kind):
            print(f"{t.token_id:<14} {t.site:<24} {t.created_at}  {t.note}")
        return 0

    return _with_clickhouse(settings, work)


def share_command(settings: Settings, args) -> int:
    from tracker.app import prepare_database
    from tracker.owner.share import create_link, link, list_links, revoke_link
    from tracker.tokens import TOKEN_CACHE_S

    def work(target):
        prepare_database(settings, target)
        client = connect(target)
        if args.share_command == "create":
            if _site_missing(client, args.site):
                return 2
            link_id, secret = create_link(client, args.site, args.note)
            print(link(args.base_url or f"http://{settings.host}:{settings.port}", secret))
            print(f"shared link {link_id} for site {args.site}: shown only now; whoever opens it sees the site's page "
                  f"read-only (revoke with: python -m tracker share revoke {link_id})", file=sys.stderr)
            return 0
        if args.share_command == "revoke":
            if not revoke_link(client, args.link_id):
                print(f"error: no active shared link {args.link_id!r}", file=sys.stderr)
                return 2
            print(f"shared link {args.link_id} revoked; running trackers refuse it within {TOKEN_CACHE_S:g} s")
            return 0
        for t in list_links(client, args.site):
            print(f"{t.token_id:<14} {t.site:<24} {t.created_at}  {t.note}")
        return 0

    return _with_clickhouse(settings, work)


def import_command(settings: Settings, args) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from tracker.app import prepare_database
    from tracker.imports.load import Importer, describe_rejects
    from tracker.imports.rows import count_lines, file_format, parse_mapping
    from tracker.ingest.salts import DailySalts
    from tracker.ingest.shared_salts import SharedSalts

    path = Path(args.file)
    if not path.is_file():
        print(f"error: no file {args.file!r}", file=sys.stderr)
        return 2
    try:
        mapping = parse_mapping(args.map)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.batch_rows < 1:
        print("error: --batch-rows must be at least 1", file=sys.stderr)
        return 2
    fmt = file_format(path, args.format)
    spam = frozenset(d.strip() for d in settings.spam_referrers.split(",") if d.strip())

    def work(target):
        prepare_database(settings, target)
        # A busy ClickHouse may stop reading a 30 MB insert for a while (it writes parts meanwhile);
        # urllib3 waits that long only as long as the connect timeout allows.
        client = connect(target, connect_timeout_s=IMPORT_TIMEOUT_S, read_timeout_s=IMPORT_TIMEOUT_S)
        if _site_missing(client, args.site):
            return 2
        total = count_lines(path) - (1 if fmt == "csv" else 0)
        with tqdm(total=total, unit=" rows", unit_scale=True, file=sys.stderr, disable=args.quiet, desc=path.name) as bar:
            salts = SharedSalts(DailySalts(settings.data_path / "salts"))
            salts.load(client)  # the live nodes' salt, so imported visitors match today's live ones
            importer = Importer(client, args.site, salts, spam, args.batch_rows,
                                settings.retention_days, bar.update)
            return importer.run(path, fmt, mapping)

    try:
        report = _with_clickhouse(settings, work)
    except Exception as exc:  # noqa: BLE001 - ClickHouse failed past the retries: say how to go on
        print(f"error: the import stopped: {str(exc)[:500]}\nrun the same command again: "
              "the batches already stored are skipped", file=sys.stderr)
        return 1
    if isinstance(report, int):
        return report
    dropped = ", ".join(f"{n} {reason}" for reason, n in sorted(report.dropped.items())) or "none"
    print(f"{report.rows} rows: {report.imported} events imported for site {args.site}, "
          f"{len(report.rejected)} rejected, dropped: {dropped}")
    lines = describe_rejects(report.rejected)
    for line in lines[:MAX_REJECTS_SHOWN]:
        print(f"  rejected {line}", file=sys.stderr)
    if len(lines) > MAX_REJECTS_SHOWN:
        rejects = Path(args.rejects or f"{args.file}.rejects.txt")
        rejects.write_text("".join(f"{line}\n" for line in lines))
        print(f"  ... all {len(lines)} rejected rows with their reasons are in {rejects}", file=sys.stderr)
    return 1 if report.rejected else 0


def webhook_command(settings: Settings, args) -> int:
    from tracker.app import prepare_database
    from tracker.queries.carts import MAX_IDLE_S, MIN_IDLE_S
    from tracker.queries.durations import format_duration, parse_duration
    from tracker.webhooks.registry import add_webhook, list_webhooks, remove_webhook

    def work(target):
        prepare_database(settings, target)
        client = connect(target)
        if args.webhook_command == "add":
            if _site_missing(client, args.site):
                return 2
            try:
                idle_s = parse_duration(args.idle) if args.idle else settings.abandoned_idle_minutes * 60
                if not MIN_IDLE_S <= idle_s <= MAX_IDLE_S:
                    raise ValueError(f"--idle must be from {format_duration(MIN_IDLE_S)} to {format_duration(MAX_IDLE_S)}")
                hook = add_webhook(client, args.site, args.url, idle_s)
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            print(hook.secret)
            print(f"webhook {hook.webhook_id}: carts of {hook.site} idle for {format_duration(idle_s)} are POSTed to {hook.url}, "
                  f"signed with the secret above (shown only now: store it with the receiver; docs/webhooks.md)", file=sys.stderr)
            return 0
        if args.webhook_command == "remove":
            if not remove_webhook(client, args.webhook_id):
                print(f"error: no webhook {args.webhook_id!r}", file=sys.stderr)
                return 2
            print(f"webhook {args.webhook_id} removed; deliveries not yet made are dropped")
            return 0
        for h in list_webhooks(client, args.site):
            print(f"{h.webhook_id:<14} {h.site:<24} idle={format_duration(h.idle_s):<8} {h.created_at:%Y-%m-%d %H:%M}  {h.url}")
        return 0

    return _with_clickhouse(settings, work)


def shopify_command(settings: Settings, args) -> int:
    import getpass

    from tracker.app import prepare_database
    from tracker.integrations.shopify_orders import customer_hash
    from tracker.integrations.shopify_secrets import CACHE_S, check_secret, load_one, set_secret
    from tracker.integrations.shopify_webhook import PATH

    if args.shopify_command == "customer":
        def show(target):
            shop = load_one(connect(target), args.site)
            if shop is None:
                print(f"error: no Shopify secret is set for site {args.site!r}, so none of its orders is stored", file=sys.stderr)
                return 2
            print(customer_hash(shop.customer_key, args.customer))
            return 0

        return _with_clickhouse(settings, show)
    # Not an argument: a secret on the command line ends up in the shell's history and in `ps`.
    raw = getpass.getpass("Shopify webhook secret: ") if sys.stdin.isatty() else sys.stdin.readline()
    try:
        secret = check_secret(raw)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def work(target):
        prepare_database(settings, target)
        client = connect(target)
        if _site_missing(client, args.site):
            return 2
        set_secret(client, args.site, secret)
        url = f"http://{settings.host}:{settings.port}{PATH.format(site=args.site)}"
        print(f"Shopify secret of site {args.site} saved; running trackers use it within {CACHE_S:g} s.\n"
              f"Webhook URL for the orders/paid event (behind your https address): {url}")
        return 0

    return _with_clickhouse(settings, work)


def funnel_command(settings: Settings, args) -> int:
    from tracker.app import prepare_database

    def work(target):
        prepare_database(settings, target)
        return funnel_cli.run(settings, connect(target), args, _site_missing)

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
    from tracker.http.served_paths import served_paths

    served_paths(settings.snippet_paths, settings.ingest_paths)  # a wrong one stops here, not in every worker
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
        # proxy_headers off: TRACKER_TRUST_PROXY_HEADERS and TRACKER_TRUSTED_PROXIES alone decide whether
        # X-Forwarded-For is believed (the app applies them, tracker/http/proxy.py).
        options = dict(host=settings.host, port=settings.port, access_log=False, log_level="warning", proxy_headers=False)
        if settings.workers > 1:
            uvicorn.run("tracker.app:create_app", factory=True, workers=settings.workers, **options)
        else:
            uvicorn.run(create_app(Settings.from_env()), **options)
    finally:
        if owned:
            owned.stop()
    return 0
