"""The OpenAPI 3 description of the query API, served at /api/v1/openapi.json. Paths and
parameters come from tracker/http/api_params.py, the same declarations the handlers enforce."""

from __future__ import annotations

from importlib.metadata import version

from starlette.requests import Request
from starlette.responses import Response

from tracker.http.api_params import ENDPOINTS, Endpoint
from tracker.http.responses import json_response

PREFIX = "/api/v1/sites/{site}"

_NUM = {"type": "number", "nullable": True}
_STR = {"type": "string"}
_TIME = {"type": "string", "format": "date-time"}


def _obj(properties: dict, required: list[str] | None = None) -> dict:
    return {"type": "object", "properties": properties, "required": required or list(properties)}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


_RANGE = {"site": _STR, "from": _TIME, "to": _TIME, "timezone": _STR}
_FILTER = {"filter": {"type": "array", "items": _STR, "description": "The filters applied (none: every session)."}}
_FUNNEL_HEAD = {**_RANGE, **_FILTER, "window": _STR, "order": _STR, "unit": _STR,
                "funnel": {**_obj({"funnel_id": _STR, "name": _STR}), "nullable": True,
                           "description": "The saved funnel that ran (null for steps given as step)."}}
_REVENUE = _obj({"currency": _STR, "orders": {"type": "integer"}, "revenue": {"type": "number"}, "average_order_value": _NUM})
_FIGURES = _obj({
    "visitors": {"type": "integer"}, "sessions": {"type": "integer"}, "page_views": {"type": "integer"},
    "orders": {"type": "integer"}, "revenue": {"type": "array", "items": _REVENUE}, "conversion_rate": _NUM,
})
_CART = {
    "cart_id": _STR, "visitor_id": _STR, "customer_id": {"type": "string", "nullable": True}, "started_at": _TIME,
    "last_activity": _TIME, "last_step": {"type": "string", "enum": ["cart", "checkout", "shipping", "payment"]},
    "items": {"type": "array", "items": _obj({"item_id": _STR, "item_name": _STR, "quantity": {"type": "integer"}, "price": _NUM})},
    "item_count": {"type": "integer"}, "value": {"type": "number"}, "currency": _STR,
    "source": _STR, "medium": _STR, "campaign": _STR,
}
_RECOVERED = {
    **_CART, "abandoned_at": _TIME, "purchased_at": _TIME, "time_to_recover_s": {"type": "number"},
    "transaction_id": _STR, "order_value": _NUM, "order_currency": _STR,
    "notified_at": {**_TIME, "nullable": True}, "after_notice": {"type": "boolean"},
}
_VALUES = {"type": "array", "items": _obj({"currency": _STR, "value": {"type": "number"}})}
_TOTALS = _obj({"carts": {"type": "integer"}, "value": _VALUES})
_RECOVERED_TOTALS = _obj({**_TOTALS["properties"], "after_notice": _obj({"carts": {"type": "integer"}, "revenue": _VALUES})})
_CARTS_HEAD = {**_RANGE, "kind": {"type": "string", "enum": ["abandoned", "recovered"]}, "idle": _STR,
               "totals": _TOTALS, "next_cursor": {"type": "string", "nullable": True}}

SCHEMAS = {
    "Error": _obj({"error": _obj({
        "code": _STR, "message": _STR,
        "fields": {"type": "array", "items": _obj({"path": _STR, "reason": _STR})},
    })}),
    "FunnelStep": _obj({
        "step": {"type": "integer"}, "label": _STR, "count": {"type": "integer"},
        "conversion_from_previous": _NUM, "conversion_from_first": _NUM, "dropped": {"type": "integer"},
        "median_time_s": _NUM, "p90_time_s": _NUM,
        "missing_events": {"type": "array", "items": _STR,
                           "description": "The step's event names of which the site sent none in the range."},
    }),
    "Funnel": _obj(
        {
            **_FUNNEL_HEAD,
            "steps": {"type": "array", "items": _ref("FunnelStep")},
            "overall_conversion": _NUM,
            "breakdown": _obj({
                "by": _STR, "groups_total": {"type": "integer"},
                "groups": {"type": "array", "items": _obj({
                    "value": _STR, "steps": {"type": "array", "items": _ref("FunnelStep")}, "overall_conversion": _NUM,
                })},
            }),
        },
        [*_FUNNEL_HEAD, "steps", "overall_conversion"],
    ),
    "FunnelTrends": _obj({
        **_FUNNEL_HEAD, "interval": _STR, "steps": {"type": "array", "items": _STR},
        "series": {"type": "array", "items": _obj({
            "period": {"type": "string", "format": "date"}, "entered": {"type": "integer"}, "completed": {"type": "integer"},
            "conversion": _NUM,
            "steps": {"type": "array", "items": _obj({"step": {"type": "integer"}, "count": {"type": "integer"}, "conversion_from_first": _NUM})},
        })},
    }),
    "AbandonedCarts": _obj({**_CARTS_HEAD, "carts": {"type": "array", "items": _obj(_CART)}}),
    "RecoveredCarts": _obj({**_CARTS_HEAD, "totals": _RECOVERED_TOTALS, "carts": {"type": "array", "items": _obj(_RECOVERED)}}),
    "Stats": _obj({
        **_RANGE, **_FILTER, "interval": _STR, "totals": _FIGURES,
        "series": {"type": "array", "items": {"allOf": [_obj({"period": {"type": "string", "format": "date"}}), _FIGURES]}},
    }),
}

# --- channels and sales cycle ------------------------------------------------------------------
_INT = {"type": "integer"}
_CHANNEL_HEAD = {**_RANGE, **_FILTER, "by": _STR, "attribution": {"type": "string", "enum": ["first", "last"]},
                 "lookback": _STR, "channels_total": _INT}
_CHANNEL_FIGURES = {"sessions": _INT, "orders": _INT, "revenue": {"type": "array", "items": _REVENUE}, "conversion_rate": _NUM}
_CYCLE_FIGURES = {
    "orders": _INT, "orders_without_start": _INT, "median_time_s": _NUM, "p90_time_s": _NUM,
    "histogram": {"type": "array", "items": _obj({"bucket": _STR, "from_s": _INT, "to_s": {"type": "integer", "nullable": True}, "orders": _INT})},
}
SCHEMAS["Channels"] = _obj({
    **_CHANNEL_HEAD, "totals": _obj(_CHANNEL_FIGURES),
    "channels": {"type": "array", "items": _obj({"value": _STR, **_CHANNEL_FIGURES})},
})
SCHEMAS["SalesCycle"] = _obj({
    **_CHANNEL_HEAD, "from_event": {"type": "string", "enum": ["visit", "view_item"]}, "totals": _obj(_CYCLE_FIGURES),
    "channels": {"type": "array", "items": _obj({"value": _STR, **_CYCLE_FIGURES})},
})
# --- end channels and sales cycle --------------------------------------------------------------
# --- cohorts and products ---------------------------------------------------------------------
_DATE = {"type": "string", "format": "date"}
_COHORT_PERIOD = _obj({
    "offset": _INT, "period": _DATE, "buyers": _INT, "retention": _NUM, "repeat_customers": _INT, "repeat_rate": _NUM,
    "churned": _INT, "churn_rate": _NUM,
    "ltv": {"type": "array", "items": _obj({"currency": _STR, "revenue": {"type": "number"}, "per_customer": {"type": "number"}})},
})
SCHEMAS["Cohorts"] = _obj({
    **_RANGE, "period": {"type": "string", "enum": ["month", "week"]}, "churn_after": _STR, "as_of": _TIME,
    "cohorts": {"type": "array", "items": _obj({"cohort": _DATE, "customers": _INT, "periods": {"type": "array", "items": _COHORT_PERIOD}})},
})
SCHEMAS["Products"] = _obj({
    **_RANGE, "sort": _STR, "items_total": _INT,
    "items": {"type": "array", "items": _obj({
        "item_id": _STR, "item_name": _STR, "views": _INT, "viewers": _INT, "adds": _INT, "added_units": _INT,
        "orders": _INT, "units": _INT, "buyers": _INT, "view_to_purchase": _NUM,
        "revenue": {"type": "array", "items": _obj({"currency": _STR, "revenue": {"type": "number"}})},
    })},
})
_CURRENCY_VALUES = {"type": "array", "items": _obj({"currency": _STR, "value": {"type": "number"}})}
SCHEMAS["AbandonedProducts"] = _obj({
    **_RANGE, "idle": _STR, "items_total": _INT, "totals": _obj({"carts": _INT, "value": _CURRENCY_VALUES}),
    "items": {"type": "array", "items": _obj({"item_id": _STR, "item_name": _STR, "carts": _INT, "units": _INT, "value": _CURRENCY_VALUES})},
})
# --- end of cohorts and products ---------------------------------------------------------------
# --- comparison (`compare`, tracker/queries/compare.py): an optional part of three answers ------
_CHANGE = _obj({"change": _NUM, "change_percent": _NUM})
_REVENUE_CHANGES = {"type": "array", "items": _obj({"currency": _STR, "orders": _CHANGE, "revenue": _CHANGE, "average_order_value": _CHANGE})}
_COMPARE_HEAD = {"mode": {"type": "string", "enum": ["previous", "year"]}, "from": _TIME, "to": _TIME}


def _compare(properties: dict, changes: dict, optional: tuple[str, ...] = ()) -> dict:
    schema = _obj({**_COMPARE_HEAD, **properties, "changes": _obj(changes)})
    schema["required"] = [name for name in schema["required"] if name not in optional]
    schema["description"] = "Present with `compare`: the same figures for the compared period, and the changes to this one."
    return schema


_stats = SCHEMAS["Stats"]["properties"]
_stats["compare"] = _compare(
    {"interval": _STR, "totals": _FIGURES, "series": _stats["series"]},
    {"totals": _obj({**{k: _CHANGE for k in ("visitors", "sessions", "page_views", "orders", "conversion_rate")}, "revenue": _REVENUE_CHANGES})},
)
_funnel = SCHEMAS["Funnel"]["properties"]
_funnel["compare"] = _compare(
    {"steps": _funnel["steps"], "overall_conversion": _NUM, "breakdown": _funnel["breakdown"]},
    {"overall_conversion": _CHANGE, "steps": {"type": "array", "items": _obj({
        "step": _INT, "label": _STR,
        **{k: _CHANGE for k in ("count", "conversion_from_previous", "conversion_from_first", "dropped", "median_time_s")},
    })}},
    optional=("breakdown",),
)
_channel_changes = {**{k: _CHANGE for k in ("sessions", "orders", "conversion_rate")}, "revenue": _REVENUE_CHANGES}
SCHEMAS["Channels"]["properties"]["compare"] = _compare(
    {"channels": SCHEMAS["Channels"]["properties"]["channels"], "channels_total": _INT, "totals": _obj(_CHANNEL_FIGURES)},
    {"totals": _obj(_channel_changes), "channels": {"type": "array", "items": _obj({"value": _STR, **_channel_changes})}},
)
# --- end comparison ------------------------------------------------------------------------------
# --- pages and devices ------------------------------------------------------------------------
SCHEMAS["Pages"] = _obj({
    **_RANGE, **_FILTER, "kind": {"type": "string", "enum": ["top", "entry", "exit"]}, "pages_total": _INT,
    "totals": _obj({"visitors": _INT, "views": _INT, "sessions": _INT}),
    "pages": {"type": "array", "items": _obj({
        "path": _STR, "visitors": _INT, "views": _INT, "entries": _INT, "exits": _INT, "entry_conversion_rate": _NUM,
    })},
})
_DEVICE_FIGURES = {"visitors": _INT, **_CHANNEL_FIGURES}
SCHEMAS["Devices"] = _obj({
    **_RANGE, **_FILTER, "by": {"type": "string", "enum": ["device", "browser", "os"]}, "values_total": _INT,
    "totals": _obj(_DEVICE_FIGURES), "values": {"type": "array", "items": _obj({"value": _STR, **_DEVICE_FIGURES})},
})
# --- end of pages and devices -----------------------------------------------------------------
# --- realtime ----------------------------------------------------------------------------------
SCHEMAS["Realtime"] = _obj({
    "site": _STR, "since": _TIME, "as_of": _TIME, "timezone": _STR, "flush_interval_s": {"type": "number"},
    "visitors": _INT, "page_views": _INT, "events": _INT,
    "newest": {"type": "array", "items": _obj({
        "ts": _TIME, "name": _STR, "path": _STR, "source": _STR, "device": _STR, "value": _NUM, "currency": _STR,
    })},
})
# --- end realtime ------------------------------------------------------------------------------


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _operation(endpoint: Endpoint) -> dict:
    parameters = [{"name": "site", "in": "path", "required": True, "schema": _STR, "description": "Site id."}]
    for p in endpoint.params:
        schema = {"type": "array", "items": p.schema} if p.repeated else p.schema
        parameters.append({"name": p.name, "in": "query", "required": False, "schema": schema, "description": p.description,
                           **({"style": "form", "explode": True} if p.repeated else {})})
    content = {"application/json": {"schema": _ref(endpoint.response)}}
    if endpoint.csv:
        content["text/csv"] = {"schema": {"type": "string"}}
    return {
        "operationId": endpoint.name,
        "summary": endpoint.summary,
        "security": [{"bearer": []}],
        "parameters": parameters,
        "responses": {
            "200": {"description": "The result (CSV with Accept: text/csv or format=csv).", "content": content},
            "400": _error("A parameter cannot be used: bad date, unknown step, window out of range..."),
            "401": _error("No token, or a token that is not valid."),
            "403": _error("The token belongs to another site."),
            "404": _error("No such site."),
            "503": _error("The query hit its time or memory limit, or ClickHouse cannot be reached."),
        },
    }


def _privacy_operation(operation_id: str, summary: str, kind: str, response: str) -> dict:
    id_schema = {"type": "string", "pattern": "^[0-9]+$"} if kind == "visitor" else {"type": "string", "maxLength": 128}
    return {
        "operationId": operation_id,
        "summary": summary,
        "security": [{"bearer": []}],
        "parameters": [
            {"name": "site", "in": "path", "required": True, "schema": _STR, "description": "Site id."},
            {"name": "id", "in": "path", "required": True, "schema": id_schema,
             "description": "The visitor id (a number, as in exports and cart lists)" if kind == "visitor"
             else "The customer id the shop sent with identify(); the visitor ids that carried it are included."},
        ],
        "responses": {
            "200": {"description": "Done.", "content": {"application/json": {"schema": _ref(response)}}},
            "400": _error("A malformed id, or an unknown query parameter."),
            "401": _error("No token, or a token that is not valid."),
            "403": _error("The token belongs to another site."),
            "404": _error("No such site."),
        },
    }


# Data-subject requests (tracker/http/privacy.py), with the same token as the queries.
PRIVACY_PATHS = {
    f"{PREFIX}/visitors/{{id}}": {"delete": _privacy_operation("delete_visitor", "Delete a visitor's events", "visitor", "Deletion")},
    f"{PREFIX}/visitors/{{id}}/export": {"get": _privacy_operation("export_visitor", "A visitor's events as JSON", "visitor", "Export")},
    f"{PREFIX}/customers/{{id}}": {"delete": _privacy_operation("delete_customer", "Delete a customer's events", "customer", "Deletion")},
    f"{PREFIX}/customers/{{id}}/export": {"get": _privacy_operation("export_customer", "A customer's events as JSON", "customer", "Export")},
}
SCHEMAS["Deletion"] = _obj({"status": {"type": "string", "enum": ["deleted"]}, "deleted_events": {"type": "integer"},
                            "visitor_ids": {"type": "array", "items": _STR}})
SCHEMAS["Export"] = _obj({"site": _STR, "visitor_ids": {"type": "array", "items": _STR},
                          "events": {"type": "array", "items": {"type": "object", "description": "Every stored column of the event."}}})


# Saved funnels (tracker/http/saved_funnels.py), with the same token as the queries.
_SAVED_STEP = _obj({"step": _STR, "label": _STR, "never_sent": {"type": "array", "items": _STR}})
SCHEMAS["SavedFunnel"] = _obj({
    "funnel_id": _STR, "name": _STR, "default": {"type": "boolean"}, "builtin": {"type": "boolean"},
    "steps": {"type": "array", "items": _SAVED_STEP}, "window": _STR, "order": {"type": "string", "enum": ["ordered", "strict", "any"]},
    "unit": {"type": "string", "enum": ["visitor", "session"]}, "updated_at": {**_TIME, "nullable": True},
})
SCHEMAS["SavedFunnels"] = _obj({"site": _STR, "funnels": {"type": "array", "items": _ref("SavedFunnel")}})
SCHEMAS["FunnelRemoval"] = _obj({"site": _STR, "funnel_id": _STR, "status": {"type": "string", "enum": ["deleted", "reset"]}})
SCHEMAS["FunnelDefinition"] = {
    "type": "object", "required": ["name", "steps"],
    "properties": {
        "name": {"type": "string", "maxLength": 100},
        "steps": {"type": "array", "minItems": 1, "maxItems": 20, "items": {"oneOf": [
            _STR, {"type": "object", "required": ["step"], "properties": {"step": _STR, "label": {"type": "string", "maxLength": 64}}},
        ]}},
        "window": {"type": "string", "example": "7d"}, "order": {"type": "string", "enum": ["ordered", "strict", "any"]},
        "unit": {"type": "string", "enum": ["visitor", "session"]},
    },
}


def _funnel_operation(operation_id: str, summary: str, response: str, status: str = "200", item: bool = False,
                      body: bool = False) -> dict:
    parameters = [{"name": "site", "in": "path", "required": True, "schema": _STR, "description": "Site id."}]
    if item:
        parameters.append({"name": "funnel_id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[a-z0-9]{1,32}$"},
                           "description": "The funnel's id; `shop` is the site's default funnel."})
    operation = {
        "operationId": operation_id,
        "summary": summary,
        "security": [{"bearer": []}],
        "parameters": parameters,
        "responses": {
            status: {"description": "Done.", "content": {"application/json": {"schema": _ref(response)}}},
            "400": _error("A definition that cannot be saved (field paths like steps[2].step), bad JSON, or a query parameter."),
            "401": _error("No token, or a token that is not valid."),
            "403": _error("The token belongs to another site."),
            "404": _error("No such site, or no such funnel."),
            "503": _error("ClickHouse cannot be reached."),
        },
    }
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref("FunnelDefinition")}}}
    if operation_id == "create_funnel":
        operation["responses"]["409"] = _error("The site has the most saved funnels it may keep.")
    return operation


SAVED_FUNNEL_PATHS = {
    f"{PREFIX}/funnels": {
        "get": _funnel_operation("list_funnels", "The site's saved funnels, the default (shop) first", "SavedFunnels"),
        "post": _funnel_operation("create_funnel", "Save a new funnel", "SavedFunnel", "201", body=True),
    },
    f"{PREFIX}/funnels/{{funnel_id}}": {
        "get": _funnel_operation("get_funnel", "One saved funnel", "SavedFunnel", item=True),
        "put": _funnel_operation("update_funnel", "Replace a saved funnel's definition (shop: edit the default funnel)", "SavedFunnel",
                                 item=True, body=True),
        "delete": _funnel_operation("delete_funnel", "Remove a saved funnel (shop: back to the built-in shop funnel)", "FunnelRemoval",
                                    item=True),
    },
}


def document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Funnelhouse query API",
            "version": version("funnelhouse"),
            "description": "Funnels, abandoned and recovered carts, site statistics, channels, sales-cycle time, cohorts, products, pages and devices (docs/queries.md), and export or deletion of one person's data (docs/privacy.md).",
        },
        "paths": {**{f"{PREFIX}{e.path}": {"get": _operation(e)} for e in ENDPOINTS}, **PRIVACY_PATHS, **SAVED_FUNNEL_PATHS},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A token from: python -m tracker token create SITE"}},
        },
    }


async def openapi_json(request: Request) -> Response:
    return json_response(document())
