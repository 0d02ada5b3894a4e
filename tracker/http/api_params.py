"""The query API's endpoints and their parameters, declared once: the handlers accept exactly
these parameters and the OpenAPI description (tracker/http/openapi.py) is generated from them."""

from __future__ import annotations

from dataclasses import dataclass

from tracker.queries import channels, cohorts, devices, pages, products, realtime, sales_cycle, segments
from tracker.queries.carts import DEFAULT_LIMIT, MAX_LIMIT
from tracker.queries.funnels import BREAKDOWNS, ORDERS, UNITS
from tracker.queries.steps import MAX_STEPS
from tracker.queries.timerange import COMPARE_MODES, INTERVALS, YEAR_SHIFT_DAYS


@dataclass(frozen=True)
class Param:
    name: str
    schema: dict
    description: str
    repeated: bool = False


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str  # relative to /api/v1/sites/{site}
    summary: str
    params: tuple[Param, ...]
    response: str  # a schema in openapi.SCHEMAS
    csv: bool = True


RANGE = (
    Param("from", {"type": "string", "example": "2024-05-01"},
          "Start: a date (local midnight in the site's time zone) or an ISO-8601 date and time. Default: 30 days before `to`."),
    Param("to", {"type": "string", "example": "2024-05-31"},
          "End: a date (included, to local midnight after it) or an ISO-8601 date and time (excluded). Default: now."),
    Param("format", {"type": "string", "enum": ["json", "csv"], "default": "json"},
          "json, or csv (same as the header Accept: text/csv)."),
)
# --- segments (`filter`), shared by stats, funnels, channels and the sales cycle ---------------
SEGMENT = (
    Param("filter", {"type": "string", "example": "source==google"},
          f"Only sessions that match: FIELD==VALUE or FIELD!=VALUE, values separated by | (any of). Fields "
          f"{', '.join(segments.FIELDS)} (the session's entry) and path, props.NAME (any event of the session). "
          f"Repeat for several filters (all must hold, at most {segments.MAX_FILTERS}).", repeated=True),
)
# --- end segments -----------------------------------------------------------------------------
# --- comparison (`compare`), on stats, funnel and channels -------------------------------------
COMPARE = (
    Param("compare", {"type": "string", "enum": list(COMPARE_MODES)},
          "Also answer the same figures for an earlier period, under `compare`, with the changes: previous: the "
          f"period of the same length right before `from`; year: the range {YEAR_SHIFT_DAYS} days (52 weeks) earlier, "
          "so weekdays line up. JSON only."),
)
# --- end comparison ---------------------------------------------------------------------------
STEPS = (
    Param("step", {"type": "string", "example": "add_to_cart|view_cart"},
          f"A funnel step, repeat the parameter for each step in order (at most {MAX_STEPS}): an event name or * "
          "(any event), alternatives separated by |, filters after ; like page_view;props.page=/pricing. "
          "None: the site's default funnel `shop`: the shop funnel (awareness, interest, consideration, intent, purchase, "
          "repurchase) unless edited.", repeated=True),
    Param("window", {"type": "string", "example": "7d"},
          "Conversion window from the first step, a duration (90s, 30m, 1h30m, 7d, 2w) from 1s to 90d. "
          "Default: TRACKER_FUNNEL_DEFAULT_WINDOW."),
    Param("order", {"type": "string", "enum": list(ORDERS), "default": "ordered"},
          "ordered: steps in order, other events between allowed; strict: from step 1 on no other event may "
          "come between steps; any: the steps in any order."),
    Param("unit", {"type": "string", "enum": list(UNITS), "default": "visitor"},
          "Count visitors, or sessions (TRACKER_SESSION_GAP_MINUTES without an event ends a session)."),
    Param("funnel", {"type": "string", "example": "shop"},
          "Run a saved funnel (GET .../funnels): its steps, window, order and unit; window, order and unit given here "
          "take precedence. Not with step. Without funnel and step: the site's default funnel `shop`."),
)
FUNNEL = RANGE + SEGMENT + COMPARE + STEPS + (
    Param("breakdown", {"type": "string", "enum": list(BREAKDOWNS)},
          "Also split the funnel by the visitor's or session's first event's value of this field."),
    Param("breakdown_limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
          "How many breakdown groups to return (largest first)."),
)
TRENDS = RANGE + SEGMENT + STEPS + (
    Param("interval", {"type": "string", "enum": list(INTERVALS), "default": "day"},
          "Period length; units count in the period (site time zone) in which they reached step 1."),
)
CARTS = RANGE + (
    Param("idle", {"type": "string", "example": "1h"},
          "How long a cart must sit without activity to count as abandoned, 1m to 30d. "
          "Default: TRACKER_ABANDONED_IDLE_MINUTES."),
    Param("min_value", {"type": "number", "minimum": 0}, "Only carts worth at least this much (in their own currency)."),
    Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}, "Carts per page."),
    Param("cursor", {"type": "string"}, "The next_cursor of the previous page."),
)
STATS = RANGE + SEGMENT + COMPARE + (
    Param("interval", {"type": "string", "enum": list(INTERVALS), "default": "day"}, "Period length (site time zone)."),
)
# --- channels and sales cycle ------------------------------------------------------------------
ATTRIBUTION = SEGMENT + (
    Param("by", {"type": "string", "enum": list(channels.DIMENSIONS), "default": "source"},
          "The channel: the session entry's source, medium, campaign or device."),
    Param("attribution", {"type": "string", "enum": list(channels.ATTRIBUTIONS), "default": "last"},
          "Credit each order to the buyer's visit in which it was placed (last), or to their earliest visit "
          "within `lookback` before it (first)."),
    Param("lookback", {"type": "string", "example": channels.DEFAULT_LOOKBACK},
          f"How far before an order first-touch attribution (and the sales cycle) looks for visits: a duration "
          f"from 1h to 90d. Default: {channels.DEFAULT_LOOKBACK}."),
    Param("limit", {"type": "integer", "minimum": 1, "maximum": channels.MAX_LIMIT, "default": channels.DEFAULT_LIMIT},
          "How many channels to list (most orders first); totals cover all."),
)
CHANNELS = RANGE + ATTRIBUTION + COMPARE
SALES_CYCLE = RANGE + ATTRIBUTION + (
    Param("from_event", {"type": "string", "enum": list(sales_cycle.FROM_EVENTS), "default": "visit"},
          "Where a cycle starts: the buyer's first visit, or first view_item, after their previous order."),
)
# --- end channels and sales cycle ---------------------------------------------------------------

# --- cohorts and products ---------------------------------------------------------------------
COHORTS = (
    Param("from", {"type": "string", "example": "2024-01-01"},
          "Cohorts whose first order is from here on: a date (local midnight in the site's time zone) or an ISO-8601 "
          f"date and time. Default: {cohorts.DEFAULT_COHORTS} cohorts, the last one holding `to`."),
    *RANGE[1:],
    Param("period", {"type": "string", "enum": list(cohorts.PERIODS), "default": "month"},
          "Cohorts and their periods by month, or by week from Monday (site time zone)."),
    Param("churn_after", {"type": "string", "example": "90d"},
          "A customer without an order for longer than this is churned, 1d to 730d. Default: 90d."),
)
PRODUCTS = RANGE + (
    Param("sort", {"type": "string", "enum": list(products.SORTS), "default": "units"},
          "Items with the most units bought, orders, views or adds to cart first."),
    Param("limit", {"type": "integer", "minimum": 1, "maximum": products.MAX_LIMIT, "default": products.DEFAULT_LIMIT},
          "How many items."),
)
_CART_PARAMS = {p.name: p for p in CARTS}
ABANDONED_PRODUCTS = RANGE + (
    _CART_PARAMS["idle"],  # the carts of /carts/abandoned, chosen the same way
    _CART_PARAMS["min_value"],
    Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
          "How many items, most often abandoned first."),
)
# --- end of cohorts and products ---------------------------------------------------------------
# --- realtime ----------------------------------------------------------------------------------
REALTIME = (
    Param("limit", {"type": "integer", "minimum": 1, "maximum": realtime.MAX_LIMIT, "default": realtime.DEFAULT_LIMIT},
          "How many of the newest events to list."),
    RANGE[2],  # format
)
# --- end realtime ------------------------------------------------------------------------------

# --- pages and devices ------------------------------------------------------------------------
PAGES = RANGE + SEGMENT + (
    Param("kind", {"type": "string", "enum": list(pages.KINDS), "default": "top"},
          "top: paths with page views, most visitors first; entry: the paths visits began on; exit: the paths they ended on."),
    Param("limit", {"type": "integer", "minimum": 1, "maximum": pages.MAX_LIMIT, "default": pages.DEFAULT_LIMIT},
          "How many paths to list; totals cover all."),
)
DEVICES = RANGE + SEGMENT + (
    Param("by", {"type": "string", "enum": list(devices.DIMENSIONS), "default": "device"},
          "The visit entry's device (desktop, mobile, tablet), browser or os."),
    Param("limit", {"type": "integer", "minimum": 1, "maximum": devices.MAX_LIMIT, "default": devices.DEFAULT_LIMIT},
          "How many values to list, most visitors first; totals cover all."),
)
# --- end of pages and devices -----------------------------------------------------------------

ENDPOINTS = (
    Endpoint("funnel", "/funnel", "Funnel: units per step, conversion, drop-off and time to convert", FUNNEL, "Funnel"),
    Endpoint("funnel_trends", "/funnel/trends", "The funnel's conversion per day, week or month", TRENDS, "FunnelTrends"),
    Endpoint("abandoned_carts", "/carts/abandoned", "Carts with items and no purchase, idle for longer than `idle`", CARTS, "AbandonedCarts"),
    Endpoint("recovered_carts", "/carts/recovered", "Abandoned carts that were purchased later", CARTS, "RecoveredCarts"),
    Endpoint("stats", "/stats", "Visitors, sessions, page views, orders, revenue, AOV and conversion rate per period", STATS, "Stats"),
    # channels and sales cycle
    Endpoint("channels", "/channels", "Sessions, conversion rate, orders, revenue and AOV per source, medium, campaign or device", CHANNELS, "Channels"),
    Endpoint("sales_cycle", "/sales-cycle", "Time from first visit or first view_item to purchase: median, p90, histogram, per channel", SALES_CYCLE, "SalesCycle"),
    # --- cohorts and products ---
    Endpoint("cohorts", "/cohorts", "Customers by the period of their first order: retention, repeat rate, LTV and churn", COHORTS, "Cohorts"),
    Endpoint("products", "/products", "Per item: views, adds to cart, orders, units, revenue and view-to-purchase conversion", PRODUCTS, "Products"),
    Endpoint("abandoned_products", "/products/abandoned", "The items most often left in abandoned carts, with units and value", ABANDONED_PRODUCTS, "AbandonedProducts"),
    # --- end of cohorts and products ---
    Endpoint("pages", "/pages", "Top, entry and exit pages: views, visitors, visits that began or ended on each path", PAGES, "Pages"),
    Endpoint("devices", "/devices", "Visitors, sessions, conversion rate, orders and revenue per device, browser or OS", DEVICES, "Devices"),
    Endpoint("realtime", "/realtime", "Visitors, page views and events of the last 30 minutes, and the newest events", REALTIME, "Realtime"),
)
