"""Build the Starlette app: the routes in one table, and a lifespan that starts and stops the workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Callable, TypeVar

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from tracker import log as tracker_log
from tracker.business_metrics import BusinessMetrics
from tracker.clickhouse.client import Target, connect, ping, resolve
from tracker.clickhouse.embedded import EmbeddedServer
from tracker.clickhouse.migrate import migrate_configured
from tracker.clickhouse.threads import ClickHouseThreads, ClickHouseUnavailable
from tracker.config import Settings
from tracker.dedupe import RecentIds
from tracker.flusher import Flusher
from tracker.gc_tuning import settle_heap
from tracker.http import api_params, health, ingest, openapi, pages, privacy, query, saved_funnels, snippet
from tracker.http.deadlines import BodyDeadlines
from tracker.http.proxy import ForwardedClient
from tracker.http.served_paths import served_paths
from tracker.http.responses import EXCEPTION_HANDLERS, json_response
from tracker.http.timing import TimingMiddleware
from tracker.ingest.intake import Intake
from tracker.ingest import useragent
from tracker.ingest.keys import INGEST_KEYS
from tracker.ingest.pipeline import Pipeline
from tracker.ingest.ratelimit import RateLimiter
from tracker.ingest.salts import DailySalts
from tracker.ingest import shared_salts
from tracker.ingest.shared_salts import SharedSalts
from tracker.integrations import ga4mp_endpoint, shopify_webhook
from tracker.integrations.shopify_secrets import SecretCache
from tracker.owner import funnels as owner_funnels, live as app_live, pages as app_pages, share_pages as app_share_pages
from tracker.owner.share import SHARE_LINKS
from tracker.sites import Site, SiteCache, SitesUnavailable, add_site, get_site, list_sites
from tracker.queries.runner import QueryRunner
from tracker.spool import Spool
from tracker.tally import TALLY
from tracker.tokens import TokenCache, list_tokens
from tracker.webhooks.sender import WebhookSender

log = logging.getLogger("tracker.app")
T = TypeVar("T")

DEMO_SITE = Site("demo", "Demo shop")
DEDUPE_SYNC_S = 0.2  # how soon one worker learns the event_ids another acknowledged

# The small calls requests may wait on (site and token lists, the readiness ping) have a pool of
# their own, apart from the query API's long queries and the flusher's inserts, and short timeouts:
# with ClickHouse hung they give up within CONTROL_DEADLINE_S instead of the default minute.
CONTROL_THREADS = 4
CONTROL_READ_TIMEOUT_S = 2
CONTROL_DEADLINE_S = 3.0
WARM_UP_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PING_TIMEOUT_S = 1.0


@dataclass
class Tracker:
    """Everything the handlers share in one worker process."""

    settings: Settings
    target: Target
    spool: Spool
    pipeline: Pipeline
    ip_limiter: RateLimiter
    site_limiter: RateLimiter
    control: ClickHouseThreads = field(init=False)
    sites: SiteCache = field(init=False)
    intake: Intake = field(init=False)
    ingest_keys: TokenCache = field(default_factory=lambda: TokenCache(INGEST_KEYS))  # shop backends' keys
    flusher: Flusher | None = None
    webhooks: WebhookSender | None = None
    embedded: EmbeddedServer | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)
    tokens: TokenCache = field(default_factory=TokenCache)  # query API tokens, loaded on first use
    share_links: TokenCache = field(default_factory=lambda: TokenCache(SHARE_LINKS))  # read-only links to the pages
    body_deadlines: BodyDeadlines = field(default_factory=BodyDeadlines)
    shopify_secrets: SecretCache = field(default_factory=SecretCache)  # sites' Shopify webhook secrets
    _queries: QueryRunner | None = None
    _ping: asyncio.Future | None = None

    def __post_init__(self) -> None:
        self.control = ClickHouseThreads(
            "clickhouse-control", CONTROL_THREADS, lambda: connect(self.target, read_timeout_s=CONTROL_READ_TIMEOUT_S)
        )
        self.sites = SiteCache(self._load_sites)
        self.intake = Intake(self.settings, self.sites, self.pipeline, self.spool, self.ip_limiter, self.site_limiter,
                             self.ingest_keys, self._look_up_key)

    async def _look_up_key(self, key: str) -> str | None:
        """An ingest key this worker does not know (or a stale list): reloaded on the control threads."""
        return await self.ingest_keys.site_of(key, lambda: self.run_control(
            lambda: list_tokens(self.control.client(), kind=INGEST_KEYS)))

    async def run_control(self, work: Callable[[], T]) -> T:
        """A small call requests wait on, on the control threads; ClickHouseUnavailable past CONTROL_DEADLINE_S."""
        return await self.control.run(work, CONTROL_DEADLINE_S)

    async def _load_sites(self) -> list[Site]:
        return await self.run_control(lambda: list_sites(self.control.client()))

    @property
    def queries(self) -> QueryRunner:
        """Runs the query API's read-only SQL (created on first use)."""
        if self._queries is None:
            s = self.settings
            self._queries = QueryRunner(self.target, s.query_max_execution_s, s.query_max_memory_bytes)
        return self._queries

    def close_threads(self) -> None:
        self.control.close()
        if self._queries is not None:
            self._queries.close()

    async def clickhouse_reachable(self) -> bool:
        # Readiness probes arriving together share one ping.
        if self._ping is None or self._ping.done():
            self._ping = asyncio.ensure_future(self._ping_once())
        return await asyncio.shield(self._ping)

    async def _ping_once(self) -> bool:
        try:
            return await self.control.run(lambda: ping(self.target, PING_TIMEOUT_S), PING_TIMEOUT_S + 0.5)
        except ClickHouseUnavailable:  # unreachable is the answer, not an error
            return False

    async def share_event_ids_forever(self) -> None:
        # In the event loop, not a thread: the handlers read the same ids.
        while True:
            await asyncio.sleep(DEDUPE_SYNC_S)
            try:
                self.pipeline.recent.sync()
            except OSError as exc:
                log.warning("event id log sync failed", extra={"cause": str(exc)[:300]})

    async def refresh_sites_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sites_refresh_s)
            try:
                await self.sites.refresh()
            except SitesUnavailable:
                pass  # logged by the reload; the last known list stays in use


def prepare_database(settings: Settings, target: Target) -> None:
    """Migrations and the demo site: done by `serve` before workers start, and by each worker if asked."""
    if settings.migrate_on_start:
        migrate_configured(settings, target)
    if settings.demo_site:
        client = connect(target)
        if get_site(client, DEMO_SITE.site) is None:
            add_site(client, DEMO_SITE)


def open_database(settings: Settings) -> tuple[Target, EmbeddedServer | None]:
    target, embedded = resolve(settings)
    prepare_database(settings, target)
    return target, embedded


async def start_tracker(settings: Settings) -> Tracker:
    # In a thread like every ClickHouse call, although no request is served yet: a worker that
    # restarts while ClickHouse hangs must not freeze its event loop.
    target, embedded = await asyncio.to_thread(open_database, settings)
    spool = Spool(
        settings.spool_path,
        max_bytes=settings.spool_max_bytes,
        segment_rows=settings.flush_max_rows,
        segment_bytes=settings.flush_max_bytes,
        commit_interval_s=settings.spool_commit_interval_ms / 1000,
    )
    spam = frozenset(d.strip() for d in settings.spam_referrers.split(",") if d.strip())
    recent = RecentIds(settings.spool_path, spool.slot, settings.dedupe_horizon_h * 3600, settings.dedupe_max_ids)
    recent.load()
    salts = SharedSalts(DailySalts(settings.data_path / "salts"))  # the node's own salts: only while ClickHouse has none
    pipeline = Pipeline(salts, recent, spam)
    tracker = Tracker(
        settings, target, spool, pipeline,
        ip_limiter=RateLimiter(settings.rate_limit_ip_per_s, settings.rate_limit_ip_burst),
        site_limiter=RateLimiter(settings.rate_limit_site_per_s, settings.rate_limit_site_burst),
        embedded=embedded,
    )
    await tracker.sites.refresh()
    # A failure is logged; events are taken regardless (with the node's own salt until a refresh succeeds).
    await salts.refresh(lambda work: tracker.control.run(work, shared_salts.START_DEADLINE_S), tracker.control.client)
    spool.start()
    tracker.flusher = Flusher(spool, target, settings.flush_interval_s)
    tracker.flusher.start()
    tracker.webhooks = WebhookSender(settings, target)
    tracker.webhooks.start()
    tracker.tasks.append(asyncio.create_task(tracker.refresh_sites_forever(), name="sites-refresh"))
    tracker.tasks.append(asyncio.create_task(tracker.share_event_ids_forever(), name="dedupe-sync"))
    tracker.tasks.append(asyncio.create_task(salts.keep_fresh_forever(tracker.run_control, tracker.control.client),
                                             name="visitor-salts"))
    tracker.tasks.append(asyncio.create_task(tracker.body_deadlines.sweep_forever(), name="body-deadlines"))
    tracker.tasks.append(asyncio.create_task(TALLY.apply_forever(), name="metrics-tally"))
    if settings.business_metrics_sites:
        tracker.tasks.append(asyncio.create_task(BusinessMetrics(tracker).run_forever(), name="business-metrics"))
    # The user-agent parsers compile their patterns on first use (1.7 s on a busy 2-core machine):
    # here, in a thread, rather than in the first shopper's request.
    await asyncio.to_thread(useragent.describe, WARM_UP_AGENT)
    settle_heap()
    log.info(
        "tracker started",
        extra={"clickhouse": target.display(), "embedded": settings.embedded, "spool": str(spool.slot)},
    )
    return tracker


async def stop_tracker(tracker: Tracker) -> None:
    for task in tracker.tasks:
        task.cancel()
    await tracker.webhooks.stop()
    TALLY.apply()
    await tracker.flusher.halt()  # before the spool closes (see Flusher.halt)
    await tracker.spool.close()
    tracker.pipeline.recent.sync()  # write the last acknowledged ids for the next start
    await tracker.flusher.stop(tracker.settings.shutdown_flush_deadline_s)
    tracker.spool.release()
    tracker.close_threads()
    if tracker.embedded:
        tracker.embedded.stop()
    log.info("tracker stopped")


async def index(request: Request):
    return json_response(
        {
            "name": "funnelhouse",
            "endpoints": {
                "ingest": "POST /api/event",
                "GA4 Measurement Protocol": "POST /mp/collect?measurement_id=SITE&api_secret=KEY | /debug/mp/collect",
                "health": "GET /healthz",
                "ready": "GET /readyz",
                "metrics": "GET /metrics",
                "snippet": "GET /js/t.js",
                "demo": "GET /demo",
                "pages": "GET /app (shop owner's pages: funnel, chart, channels, carts, breakdowns, realtime; sign in with a query API token)",
                "query API": "GET /api/v1/sites/{site}/funnel | funnel/trends | carts/abandoned | carts/recovered | stats | realtime",
                "query API description": "GET /api/v1/openapi.json",
            },
        }
    )


def routes(settings: Settings | None = None) -> list[BaseRoute]:
    settings = settings or Settings()
    return [
        Route("/", index),
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        Route("/metrics", health.metrics_endpoint),
        *snippet.routes(served_paths(settings.snippet_paths, settings.ingest_paths).snippets),
        Route("/demo", pages.demo_shop),
        Route("/demo/{path:path}", pages.demo_shop),
        *app_pages.routes(),
        Route("/mp/collect", ga4mp_endpoint.collect, methods=["POST"]),
        Route("/debug/mp/collect", ga4mp_endpoint.debug_collect, methods=["POST"]),
        *app_share_pages.routes(),
        *app_live.routes(),
        *owner_funnels.routes(),  # saved funnels' forms under /app/{site}/funnels
        Route("/api/v1/openapi.json", openapi.openapi_json),
        Route("/api/v1/sites/{site}/visitors/{id}", privacy.visitor, methods=["DELETE"]),
        Route("/api/v1/sites/{site}/visitors/{id}/export", privacy.visitor),
        Route("/api/v1/sites/{site}/customers/{id}", privacy.customer, methods=["DELETE"]),
        Route("/api/v1/sites/{site}/customers/{id}/export", privacy.customer),
        Route(shopify_webhook.PATH, shopify_webhook.orders, methods=["POST"]),
        Route(f"{openapi.PREFIX}/funnels", saved_funnels.collection, methods=["GET", "POST"]),
        Route(f"{openapi.PREFIX}/funnels/{{funnel_id}}", saved_funnels.item, methods=["GET", "PUT", "DELETE"]),
        *(Route(f"{openapi.PREFIX}{e.path}", query.HANDLERS[e.name]) for e in api_params.ENDPOINTS),
    ]


class TrackerApp:
    """The ASGI app: /api/event goes straight to the ingest endpoint, everything else through Starlette.

    Ingest is the hot path. Under load, Starlette's middleware stack and router took as much of a
    worker as the endpoint's own work (py-spy), so it is dispatched before them. Its paths
    (TRACKER_INGEST_PATHS) are a frozenset: one hash lookup, about 25 ns more than the one string
    comparison it replaces (the path is a fresh string to hash), against ~50 us for a request.
    Behind a proxy (TRACKER_TRUST_PROXY_HEADERS), uvicorn's ProxyHeadersMiddleware comes first and
    puts the shopper's address from X-Forwarded-For into scope["client"] (tracker/http/proxy.py)."""

    def __init__(self, starlette: Starlette, ingest_endpoint: ingest.IngestEndpoint,
                 ingest_paths: frozenset[str] = frozenset({ingest.PATH}), trusted_proxies: str | None = None) -> None:
        self.starlette = starlette
        self.ingest = ingest_endpoint
        self.ingest_paths = ingest_paths
        self.forwarded = None if trusted_proxies is None else ForwardedClient(trusted_proxies)

    @property
    def state(self):
        return self.starlette.state

    async def __call__(self, scope, receive, send) -> None:
        if self.forwarded is not None:
            await self.forwarded.apply(scope)
        if scope["type"] == "http" and scope["path"] in self.ingest_paths:
            scope["app"] = self.starlette
            await self.ingest(scope, receive, send)
        else:
            await self.starlette(scope, receive, send)


def create_app(settings: Settings | None = None) -> TrackerApp:
    settings = settings or Settings.from_env()
    tracker_log.setup(settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        app.state.tracker = await start_tracker(settings)
        try:
            yield
        finally:
            await stop_tracker(app.state.tracker)

    paths = served_paths(settings.snippet_paths, settings.ingest_paths)  # exits on a wrong setting, before any work
    starlette = Starlette(
        routes=routes(settings),
        middleware=[Middleware(TimingMiddleware)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    trusted = settings.trusted_proxies if settings.trust_proxy_headers else None
    return TrackerApp(starlette, ingest.IngestEndpoint(settings), paths.ingest, trusted)
