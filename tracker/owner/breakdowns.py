"""The breakdown panels of /app/{site}: top, entry and exit pages; devices, browsers and OS;
products and the items left in abandoned carts; customer cohorts; sales-cycle time.

Each panel shows one or more query API answers as they are (templates/app/_pages.html,
_devices.html, _products.html, _cohorts.html, _sales_cycle.html), fetched together: the queries
run at once on the query threads. `query(name, days, **extra)` answers what
GET /api/v1/sites/{site}/<name>?from=..&to=..&extra.. answers (pages.query_api for the request's
site), so this module needs nothing from the page module that calls it.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

Query = Callable[..., Awaitable[dict]]

SHOWN = 10  # rows per table; the API (and its CSV) has the rest
PAGE_KINDS = ("top", "entry", "exit")
DEVICE_DIMENSIONS = ("device", "browser", "os")


async def gather(query: Query, days: dict[str, str], abandoned_products: Awaitable[dict],
                 devices: Awaitable[list[dict]], sales_cycle: Awaitable[dict]) -> dict:
    """The panels' answers: {"pages": {kind: answer}, "devices": {by: answer}, "products",
    "abandoned_products", "cohorts", "sales_cycle"}. The caller gets abandoned_products, devices
    (the answers by DEVICE_DIMENSIONS) and sales_cycle along with other lists (pages.py: with the
    abandoned carts, with the channels)."""
    limit = str(SHOWN)
    answers = await asyncio.gather(
        *(query("pages", days, kind=kind, limit=limit) for kind in PAGE_KINDS),
        devices,
        query("products", days, limit=limit),
        abandoned_products,
        # Cohorts need more than a month to say anything: the API's default twelve monthly cohorts
        # up to the range's end (`from` would only keep the customers who first bought in the range).
        query("cohorts", {"to": days["to"]}),
        sales_cycle,
    )
    pages, device_answers, rest = answers[:3], answers[3], answers[4:]
    return {
        "pages": dict(zip(PAGE_KINDS, pages)),
        "devices": dict(zip(DEVICE_DIMENSIONS, device_answers)),
        **dict(zip(("products", "abandoned_products", "cohorts", "sales_cycle"), rest)),
    }
