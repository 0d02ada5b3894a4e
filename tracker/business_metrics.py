"""Opt-in business gauges on /metrics: per site, visitors, orders, revenue per currency and checkout
conversion over the last hour (tracker/queries/last_hour.py), for Grafana and the alert
"checkout conversion fell below half of the same hour last week" (deploy/prometheus/alerts.yml).

Computed by a background task every TRACKER_BUSINESS_METRICS_INTERVAL_S, not per scrape: a scrape
only reads the last values, so a hung ClickHouse never stalls /metrics (and Prometheus scraping
every 15 s does not run queries every 15 s). The queries run on the query API's threads with its
deadline, never on the event loop; a failed round keeps the last values and logs why, and
tracker_shop_metrics_updated_timestamp_seconds tells how old they are.

With several workers, one computes: the one holding an exclusive lock on a file in the data
directory (whoever gets it first keeps it; if that worker dies, the lock goes with it and another
worker takes over at its next round). The others would only repeat the same queries. The gauges'
multiprocess mode is livemostrecent, so /metrics shows the newest value written whichever worker
wrote it, never a sum over workers.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import math
from datetime import datetime, timezone

from tracker import metrics
from tracker.queries.last_hour import HourFigures, last_hour

log = logging.getLogger("tracker.business_metrics")

LOCK_FILE = "business-metrics.lock"


def chosen_sites(setting: str, known: list[str]) -> list[str]:
    """The sites of TRACKER_BUSINESS_METRICS_SITES that exist: `*` for all, else a comma-separated list."""
    wanted = {s.strip() for s in setting.split(",") if s.strip()}
    return sorted(known) if "*" in wanted else sorted(wanted & set(known))


class BusinessMetrics:
    def __init__(self, tracker) -> None:
        self.tracker = tracker
        self._lock_file = None
        self._currencies: dict[str, set[str]] = {}  # per site, currencies published before (set to 0 when absent)

    def _leading(self) -> bool:
        """True while this worker holds the lock (a non-blocking try on a local file)."""
        if self._lock_file is None:
            path = self.tracker.settings.data_path / LOCK_FILE
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                return False
            self._lock_file = handle
        return True

    async def refresh(self) -> bool:
        """One round: query, then publish. False (values unchanged) when ClickHouse did not answer."""
        settings = self.tracker.settings
        sites = chosen_sites(settings.business_metrics_sites, list(self.tracker.sites.sites))
        if not sites:
            return False
        runner = self.tracker.queries
        now = datetime.now(timezone.utc)
        try:
            figures = await runner.offload(lambda: last_hour(runner, sites, now))
        except Exception as exc:  # noqa: BLE001 - ClickHouse away, a limit, anything: the next round tries again
            log.warning("business metrics not updated", extra={"cause": str(exc)[:300]})
            return False
        self.publish(figures, now)
        return True

    def publish(self, figures: dict[str, HourFigures], now: datetime) -> None:
        for site, f in figures.items():
            metrics.SHOP_VISITORS.labels(site).set(f.visitors)
            metrics.SHOP_ORDERS.labels(site).set(f.orders)
            metrics.SHOP_CHECKOUTS.labels(site).set(f.checkouts)
            conversion = f.checkout_conversion
            metrics.SHOP_CHECKOUT_CONVERSION.labels(site).set(math.nan if conversion is None else conversion)
            currencies = self._currencies.setdefault(site, set())
            currencies |= set(f.revenue)
            for currency in currencies:  # a currency without orders this hour reads 0, not its last value
                metrics.SHOP_REVENUE.labels(site, currency).set(f.revenue.get(currency, 0.0))
        metrics.SHOP_UPDATED.set(now.timestamp())

    async def run_forever(self) -> None:
        try:
            while True:
                if self._leading():
                    await self.refresh()
                await asyncio.sleep(self.tracker.settings.business_metrics_interval_s)
        finally:
            if self._lock_file is not None:
                self._lock_file.close()  # releases the lock for another worker
                self._lock_file = None
