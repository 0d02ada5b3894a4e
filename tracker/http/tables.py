"""CSV answers of the query API: each result flattened to one header and rows, one concept per row
(a funnel step, a period, a cart) so a spreadsheet can pivot them."""

from __future__ import annotations

import csv
import io

from starlette.responses import Response


def csv_response(header: list[str], rows: list[list], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


STEP_FIELDS = ["step", "label", "count", "conversion_from_previous", "conversion_from_first", "dropped", "median_time_s", "p90_time_s"]


def funnel_rows(result: dict) -> tuple[list[str], list[list]]:
    """One row per step: first the whole funnel (scope=all), then each breakdown group (scope=group)."""
    header = ["scope", "breakdown_value", *STEP_FIELDS]
    rows = [["all", None, *(s[f] for f in STEP_FIELDS)] for s in result["steps"]]
    for group in result.get("breakdown", {}).get("groups", []):
        rows += [["group", group["value"], *(s[f] for f in STEP_FIELDS)] for s in group["steps"]]
    return header, rows


def trend_rows(result: dict) -> tuple[list[str], list[list]]:
    labels = result["steps"]
    header = ["period", "entered", "completed", "conversion", *(f"step_{i + 1}_count" for i in range(len(labels)))]
    rows = [[p["period"], p["entered"], p["completed"], p["conversion"], *(s["count"] for s in p["steps"])] for p in result["series"]]
    return header, rows


CART_FIELDS = ["cart_id", "visitor_id", "customer_id", "started_at", "last_activity", "last_step", "item_count", "value",
               "currency", "source", "medium", "campaign"]
RECOVERED_FIELDS = ["abandoned_at", "purchased_at", "time_to_recover_s", "transaction_id", "order_value", "order_currency",
                    "notified_at", "after_notice"]


def cart_rows(result: dict) -> tuple[list[str], list[list]]:
    """One row per cart; items as `item_id x quantity @ price` joined with `; `."""
    recovered = result["kind"] == "recovered"
    fields = CART_FIELDS + (RECOVERED_FIELDS if recovered else [])
    rows = []
    for cart in result["carts"]:
        items = "; ".join(f"{i['item_id']} x {i['quantity']} @ {i['price']}" for i in cart["items"])
        rows.append([*(cart[f] for f in fields), items])
    return fields + ["items"], rows


def _currencies(figures: list[dict]) -> list[str]:
    return sorted({r["currency"] for f in figures for r in f["revenue"]})


def _revenue_header(currencies: list[str]) -> list[str]:
    return [f"revenue_{c}" for c in currencies] + [f"average_order_value_{c}" for c in currencies]


def _revenue_cells(figures: dict, currencies: list[str]) -> list:
    """Revenue and AOV with a column per currency (amounts in different currencies are never added)."""
    by_currency = {r["currency"]: r for r in figures["revenue"]}
    return [
        *(by_currency[c]["revenue"] if c in by_currency else 0 for c in currencies),
        *(by_currency[c]["average_order_value"] if c in by_currency else None for c in currencies),
    ]


def stats_rows(result: dict) -> tuple[list[str], list[list]]:
    """One row per period and a last row `total`; revenue and AOV get a column per currency."""
    currencies = _currencies([result["totals"], *result["series"]])
    header = ["period", "visitors", "sessions", "page_views", "orders", "conversion_rate", *_revenue_header(currencies)]

    def row(period: str, figures: dict) -> list:
        return [
            period, figures["visitors"], figures["sessions"], figures["page_views"], figures["orders"], figures["conversion_rate"],
            *_revenue_cells(figures, currencies),
        ]

    return header, [row(p["period"], p) for p in result["series"]] + [row("total", result["totals"])]


# --- channels and sales cycle ------------------------------------------------------------------


def channel_rows(result: dict) -> tuple[list[str], list[list]]:
    """One row per channel and a last row with scope `total`; revenue and AOV per currency columns."""
    currencies = _currencies([result["totals"], *result["channels"]])
    header = ["scope", result["by"], "sessions", "orders", "conversion_rate", *_revenue_header(currencies)]

    def row(scope: str, value: str | None, figures: dict) -> list:
        return [scope, value, figures["sessions"], figures["orders"], figures["conversion_rate"], *_revenue_cells(figures, currencies)]

    return header, [row("channel", c["value"], c) for c in result["channels"]] + [row("total", None, result["totals"])]


def sales_cycle_rows(result: dict) -> tuple[list[str], list[list]]:
    """One row for all orders (scope `all`), then one per channel; a column per histogram bucket."""
    buckets = [b["bucket"] for b in result["totals"]["histogram"]]
    header = ["scope", result["by"], "orders", "orders_without_start", "median_time_s", "p90_time_s", *(f"orders_{b}" for b in buckets)]

    def row(scope: str, value: str | None, figures: dict) -> list:
        return [scope, value, figures["orders"], figures["orders_without_start"], figures["median_time_s"], figures["p90_time_s"],
                *(b["orders"] for b in figures["histogram"])]

    return header, [row("all", None, result["totals"]), *(row("channel", c["value"], c) for c in result["channels"])]


# --- cohorts and products ---------------------------------------------------------------------


def _currencies_in(entries: list[list[dict]]) -> list[str]:
    return sorted({e["currency"] for entry in entries for e in entry})


def cohort_rows(result: dict) -> tuple[list[str], list[list]]:
    """One row per cohort and period; cumulative revenue and LTV get a column per currency."""
    periods = [(c, p) for c in result["cohorts"] for p in c["periods"]]
    currencies = _currencies_in([p["ltv"] for _, p in periods])
    fields = ["offset", "period", "buyers", "retention", "repeat_customers", "repeat_rate", "churned", "churn_rate"]
    header = ["cohort", "customers", *fields, *(f"revenue_{c}" for c in currencies), *(f"ltv_{c}" for c in currencies)]
    rows = []
    for cohort, period in periods:
        by_currency = {e["currency"]: e for e in period["ltv"]}
        rows.append([
            cohort["cohort"], cohort["customers"], *(period[f] for f in fields),
            *(by_currency[c]["revenue"] if c in by_currency else 0 for c in currencies),
            *(by_currency[c]["per_customer"] if c in by_currency else 0 for c in currencies),
        ])
    return header, rows


PRODUCT_FIELDS = ["item_id", "item_name", "views", "viewers", "adds", "added_units", "orders", "units", "buyers", "view_to_purchase"]


def product_rows(result: dict) -> tuple[list[str], list[list]]:
    """One row per item; revenue gets a column per currency."""
    currencies = _currencies_in([i["revenue"] for i in result["items"]])
    rows = []
    for item in result["items"]:
        by_currency = {e["currency"]: e["revenue"] for e in item["revenue"]}
        rows.append([*(item[f] for f in PRODUCT_FIELDS), *(by_currency.get(c, 0) for c in currencies)])
    return PRODUCT_FIELDS + [f"revenue_{c}" for c in currencies], rows


def abandoned_product_rows(result: dict) -> tuple[list[str], list[list]]:
    """One row per item; the value left in carts gets a column per currency."""
    currencies = _currencies_in([i["value"] for i in result["items"]])
    rows = []
    for item in result["items"]:
        by_currency = {e["currency"]: e["value"] for e in item["value"]}
        rows.append([item["item_id"], item["item_name"], item["carts"], item["units"], *(by_currency.get(c, 0) for c in currencies)])
    return ["item_id", "item_name", "carts", "units", *(f"value_{c}" for c in currencies)], rows


# --- pages and devices ------------------------------------------------------------------------

PAGE_FIELDS = ["path", "visitors", "views", "entries", "exits", "entry_conversion_rate"]


def page_rows(result: dict) -> tuple[list[str], list[list]]:
    """One row per path, in the order of the kind's list."""
    return PAGE_FIELDS, [[p[f] for f in PAGE_FIELDS] for p in result["pages"]]


def device_rows(result: dict) -> tuple[list[str], list[list]]:
    """One row per value and a last row with scope `total`; revenue and AOV per currency columns."""
    currencies = _currencies([result["totals"], *result["values"]])
    header = ["scope", result["by"], "visitors", "sessions", "orders", "conversion_rate", *_revenue_header(currencies)]

    def row(scope: str, value: str | None, figures: dict) -> list:
        return [scope, value, figures["visitors"], figures["sessions"], figures["orders"], figures["conversion_rate"],
                *_revenue_cells(figures, currencies)]

    return header, [row("value", v["value"], v) for v in result["values"]] + [row("total", None, result["totals"])]


def realtime_rows(result: dict) -> tuple[list[str], list[list]]:
    """The newest events (the figures of the 30 minutes are in the JSON answer)."""
    header = ["ts", "name", "path", "source", "device", "value", "currency"]
    return header, [[e[c] for c in header] for e in result["newest"]]
