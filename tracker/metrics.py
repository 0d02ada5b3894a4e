"""Prometheus collectors, declared once.

With several uvicorn workers the CLI sets PROMETHEUS_MULTIPROC_DIR before the workers start,
and /metrics aggregates every worker's figures (prometheus-client's multiprocess mode); process_*
are then summed over the workers and their parent by tracker/process_tree.py.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess

from tracker.process_tree import ProcessTreeCollector

EVENTS_RECEIVED = Counter("tracker_events_received_total", "Events received in ingest requests")
EVENTS_ACCEPTED = Counter("tracker_events_accepted_total", "Events made durable in the spool and acknowledged")
EVENTS_REJECTED = Counter("tracker_events_rejected_total", "Events refused at validation", ["reason"])
EVENTS_DROPPED = Counter("tracker_events_dropped_total", "Valid events dropped by a pipeline step", ["reason"])
REQUESTS = Counter("tracker_http_requests_total", "HTTP requests", ["route", "status"])
REQUEST_LATENCY = Histogram(
    "tracker_http_request_duration_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
SPOOL_BYTES = Gauge("tracker_spool_bytes", "Bytes waiting in the spool", multiprocess_mode="livesum")
SPOOL_SEGMENTS = Gauge("tracker_spool_segments", "Sealed spool segments waiting to be flushed", multiprocess_mode="livesum")
SPOOL_FULL = Counter("tracker_spool_full_total", "Requests answered 503 because the spool was full")
FLUSH_BATCHES = Counter("tracker_flush_batches_total", "Inserts into ClickHouse that succeeded")
FLUSH_ROWS = Counter("tracker_flush_rows_total", "Rows inserted into ClickHouse")
FLUSH_FAILURES = Counter("tracker_flush_failures_total", "Inserts into ClickHouse that failed (and will be retried)")
FLUSH_LATENCY = Histogram(
    "tracker_flush_duration_seconds",
    "Time of one insert into ClickHouse",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
WEBHOOK_NOTICES = Counter("tracker_webhook_notices_total", "Abandoned carts queued in the webhook outbox")
WEBHOOK_DELIVERIES = Counter(
    "tracker_webhook_deliveries_total",
    "Webhook delivery attempts by outcome (delivered, http_error, timeout, connection_error), and notices closed"
    " undelivered (gave_up, bought)",
    ["outcome"],
)
WEBHOOK_OUTBOX_DEPTH = Gauge(
    "tracker_webhook_outbox_depth", "Webhook notices neither delivered nor given up", multiprocess_mode="livemax"
)
CLICKHOUSE_UP = Gauge("tracker_clickhouse_up", "1 when the last ClickHouse call succeeded", multiprocess_mode="max")
# Business figures of the last hour, for the sites in TRACKER_BUSINESS_METRICS_SITES (tracker/business_metrics.py).
# One worker computes them; mostrecent: with several workers /metrics shows the newest value written.
SHOP_VISITORS = Gauge("tracker_shop_visitors", "Distinct visitors in the last hour", ["site"], multiprocess_mode="livemostrecent")
SHOP_ORDERS = Gauge("tracker_shop_orders", "Orders in the last hour", ["site"], multiprocess_mode="livemostrecent")
SHOP_REVENUE = Gauge("tracker_shop_revenue", "Revenue of the last hour's orders, per currency", ["site", "currency"],
                     multiprocess_mode="livemostrecent")
SHOP_CHECKOUTS = Gauge("tracker_shop_checkouts", "Visitors who reached checkout in the last hour", ["site"],
                       multiprocess_mode="livemostrecent")
SHOP_CHECKOUT_CONVERSION = Gauge(
    "tracker_shop_checkout_conversion", "Share (0 to 1) of the last hour's checkout visitors who bought; NaN without checkouts",
    ["site"], multiprocess_mode="livemostrecent",
)
SHOP_UPDATED = Gauge("tracker_shop_metrics_updated_timestamp_seconds", "When the tracker_shop_* gauges were last computed",
                     multiprocess_mode="livemostrecent")


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(ProcessTreeCollector())
        return generate_latest(registry)
    return generate_latest()
