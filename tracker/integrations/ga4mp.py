"""GA4 Measurement Protocol bodies as our events: the translator behind POST /mp/collect.

A shop's backend, server-side tagging or a shop-platform app that already sends GA4 Measurement
Protocol hits points them at us (docs/integrations/ga4-measurement-protocol.md). `translate`
turns one request body into the validated events /api/event produces (tracker/ingest/payload.py
validates each), so from there they take the intake's own steps (limits, dedupe, spool:
tracker/ingest/intake.py Intake.store). What does not fit is an Issue: a field path in the MP
body, our reason, and GA4's validationCode, for the 400 answer and for /debug/mp/collect.

    body                                   our event
    client_id                              visitor (hashed like a shop visitor id)
    user_id                                customer_id
    timestamp_micros (body, or per event)  ts
    ip_override, user_agent                client_ip, user_agent (the shopper's; never stored)
    user_properties.NAME.value             props["user.NAME"], in the room events' params leave
    events[i].name                         name
    params.page_location / page_referrer   url / referrer (UTM tags and source come from them)
    params.session_id                      session
    params.currency, value, transaction_id currency, value, transaction_id
    params.coupon, shipping, tax           coupon, shipping, tax
    params.items[]                         items: item_id, item_name, item_category..item_category5,
                                           item_brand, item_variant, price, quantity, discount
    any other param                        props (page_title, payment_type, ...)

consent.analytics_storage = DENIED keeps client_id and user_id out of the event: the visitor is
then the cookieless daily hash, as for a browser without consent. consent's ad_* signals,
non_personalized_ads, user_location, device, user_data (hashed e-mail addresses for Google Ads)
and validation_behavior are accepted and not stored: nothing here uses them.

GA4 hits carry no event id, so one is derived (event_id below): a resent request, byte for byte
or with its keys in another order, maps to the same ids and is dropped as `duplicate` like an
/api/event resend.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from tracker.errors import FieldError
from tracker.ingest.event import MAX_ID, MAX_PROP_KEY, MAX_PROP_VALUE, MAX_PROPS, MAX_USER_AGENT, Event
from tracker.ingest.payload import Clock, ip_ok, parse_event

MAX_EVENTS = 25  # per request, GA4's limit
EVENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")  # GA4's rule: a letter first, 40 characters at most
BODY_FIELDS = frozenset({
    "client_id", "user_id", "timestamp_micros", "user_properties", "consent", "non_personalized_ads",
    "user_location", "ip_override", "device", "user_agent", "user_data", "validation_behavior", "events",
})
EVENT_FIELDS = frozenset({"name", "params", "timestamp_micros"})
CONSENT_TYPES = frozenset({"ad_user_data", "ad_personalization", "ad_storage", "analytics_storage"})
CONSENT_VALUES = frozenset({"GRANTED", "DENIED"})
VALIDATION_BEHAVIORS = frozenset({"RELAXED", "ENFORCE_RECOMMENDATIONS"})
USER_PROPERTY_FIELDS = frozenset({"value", "set_timestamp_micros"})
USER_PREFIX = "user."
# Params that have a column of their own (our field: the param).
COLUMN_PARAMS = {"url": "page_location", "referrer": "page_referrer", "session": "session_id",
                 "currency": "currency", "value": "value", "transaction_id": "transaction_id", "items": "items",
                 "coupon": "coupon", "shipping": "shipping", "tax": "tax"}
PARAM_COLUMNS = {param: ours for ours, param in COLUMN_PARAMS.items()}
# Item fields our items keep; the others GA4 knows (an item's own coupon, affiliation, index,
# item_list_*, location_id, promotion_*, creative_*) and custom item params are left out.
ITEM_TEXTS = ("item_id", "item_name", "item_category", "item_category2", "item_category3", "item_category4",
              "item_category5", "item_brand", "item_variant")
ITEM_AMOUNTS = ("price", "discount")
ITEM_FIELDS = (*ITEM_TEXTS, *ITEM_AMOUNTS, "quantity")
# The namespace of derived event ids (uuid5). Never change it: resends across versions would count twice.
ID_NAMESPACE = uuid.UUID("6d1f1f0e-4c1b-5a8e-9a52-6d3c0e2b7f41")

# GA4's validationCode values (its ValidationCode enum) that our reasons map to.
VALUE_INVALID = "VALUE_INVALID"
VALUE_REQUIRED = "VALUE_REQUIRED"
NAME_INVALID = "NAME_INVALID"
VALUE_OUT_OF_BOUNDS = "VALUE_OUT_OF_BOUNDS"
EXCEEDED_MAX_ENTITIES = "EXCEEDED_MAX_ENTITIES"


@dataclass(frozen=True)
class Issue:
    """Why a request cannot be stored: where in the MP body, our reason, GA4's code for it."""

    path: str
    reason: str
    code: str = VALUE_INVALID

    def field_error(self) -> FieldError:
        return FieldError(self.path, self.reason)

    def validation_message(self) -> dict[str, str]:
        """A ValidationMessage in GA4's shape."""
        return {"fieldPath": self.path, "description": f"{self.path}: {self.reason}", "validationCode": self.code}


@dataclass
class Translation:
    events: list[Event] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    received: int = 0  # events in the request


@dataclass
class _Shared:
    """What the body says about all its events, as our fields."""

    fields: dict[str, Any]  # visitor, customer_id, client_ip, user_agent
    user_props: dict[str, Any]  # props key -> value
    ts_micros: Any  # the body's timestamp_micros as sent (for the event ids)
    ts_ms: int | None


def translate(body: Any, site: str, clock: Clock) -> Translation:
    """The events of an MP request body for `site`, validated, or the issues that stop it."""
    out = Translation()
    if not isinstance(body, dict):
        out.issues.append(Issue("body", "must be a JSON object with client_id and events"))
        return out
    for key in body:
        if key not in BODY_FIELDS:
            out.issues.append(Issue(str(key)[:64], "unknown field", NAME_INVALID))
    shared = _shared(body, out.issues)
    events = body.get("events")
    if events is None:
        out.issues.append(Issue("events", "is required", VALUE_REQUIRED))
        return out
    if not isinstance(events, list):
        out.issues.append(Issue("events", "must be an array of {name, params}"))
        return out
    out.received = len(events)
    if not events:
        out.issues.append(Issue("events", "must not be empty", VALUE_REQUIRED))
    if len(events) > MAX_EVENTS:
        out.issues.append(Issue("events", f"has more than {MAX_EVENTS} events (GA4's limit per request)",
                                EXCEEDED_MAX_ENTITIES))
        return out
    for index, raw in enumerate(events):
        before = len(out.issues)
        event = _event(raw, index, site, shared, body, clock, out.issues)
        if event is not None and len(out.issues) == before:
            out.events.append(event)
    out.issues = _first_per_path(out.issues)
    return out


def _first_per_path(issues: list[Issue]) -> list[Issue]:
    """One issue per field: GA4's name rule and ours may both object to one name."""
    seen: set[str] = set()
    return [i for i in issues if not (i.path in seen or seen.add(i.path))]


def event_id(site: str, body: dict, index: int) -> uuid.UUID:
    """A deterministic id for the event at `index`: from the site, client_id, user_id, the body's
    timestamp_micros, the index and the event object as sent (name, params, its own timestamp).

    The same request sent again gets the same ids (keys sorted first: a re-serialised resend
    matches too). Two hits differ in at least one of these: GA4's senders set a timestamp or a
    changing engagement_time_msec; one that sends byte-identical events meaning two (no
    timestamp_micros, same params, same position) within TRACKER_DEDUPE_HORIZON_H has them counted once."""
    material = [site, body.get("client_id"), body.get("user_id"), body.get("timestamp_micros"), index,
                body["events"][index]]
    return uuid.uuid5(ID_NAMESPACE, orjson.dumps(material, option=orjson.OPT_SORT_KEYS).decode())


def _shared(body: dict, issues: list[Issue]) -> _Shared:
    fields: dict[str, Any] = {}
    consent = _consent(body.get("consent"), issues)
    client_id = body.get("client_id")
    if client_id is None:
        issues.append(Issue("client_id", "is required (the GA4 client id, as in the _ga cookie)", VALUE_REQUIRED))
    elif not isinstance(client_id, str) or not client_id:
        issues.append(Issue("client_id", "must be a non-empty string"))
    elif len(client_id) > MAX_ID:
        issues.append(Issue("client_id", f"is longer than {MAX_ID} characters", VALUE_OUT_OF_BOUNDS))
    elif consent.get("analytics_storage") != "DENIED":
        fields["visitor"] = client_id
    user_id = body.get("user_id")
    if user_id is not None:
        if not isinstance(user_id, str):
            issues.append(Issue("user_id", "must be a string"))
        elif len(user_id) > MAX_ID:
            issues.append(Issue("user_id", f"is longer than {MAX_ID} characters", VALUE_OUT_OF_BOUNDS))
        elif user_id and consent.get("analytics_storage") != "DENIED":
            fields["customer_id"] = user_id
    ip = body.get("ip_override")
    if ip is not None:
        if not isinstance(ip, str) or not ip_ok(ip):
            issues.append(Issue("ip_override", "must be an IPv4 or IPv6 address"))
        else:
            fields["client_ip"] = ip
    agent = body.get("user_agent")
    if agent is not None:
        if not isinstance(agent, str):
            issues.append(Issue("user_agent", "must be a string"))
        elif len(agent) > MAX_USER_AGENT:
            issues.append(Issue("user_agent", f"is longer than {MAX_USER_AGENT} characters", VALUE_OUT_OF_BOUNDS))
        elif agent:
            fields["user_agent"] = agent
    if body.get("non_personalized_ads") is not None and not isinstance(body["non_personalized_ads"], bool):
        issues.append(Issue("non_personalized_ads", "must be true or false"))
    for name in ("user_location", "device", "user_data"):
        if body.get(name) is not None and not isinstance(body[name], dict):
            issues.append(Issue(name, "must be an object"))
    behavior = body.get("validation_behavior")
    if behavior is not None and behavior not in VALIDATION_BEHAVIORS:
        issues.append(Issue("validation_behavior", "must be RELAXED or ENFORCE_RECOMMENDATIONS"))
    ts_ms = _micros_to_ms(body.get("timestamp_micros"), "timestamp_micros", issues)
    return _Shared(fields, _user_properties(body.get("user_properties"), issues), body.get("timestamp_micros"), ts_ms)


def _consent(value: Any, issues: list[Issue]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        issues.append(Issue("consent", "must be an object"))
        return {}
    out = {}
    for key, state in value.items():
        path = f"consent.{str(key)[:64]}"
        if key not in CONSENT_TYPES:
            issues.append(Issue(path, f"unknown field (one of {', '.join(sorted(CONSENT_TYPES))})", NAME_INVALID))
        elif not isinstance(state, str) or state.upper() not in CONSENT_VALUES:
            issues.append(Issue(path, "must be GRANTED or DENIED"))
        else:
            out[key] = state.upper()
    return out


def _user_properties(value: Any, issues: list[Issue]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        issues.append(Issue("user_properties", "must be an object of {\"NAME\": {\"value\": ...}}"))
        return {}
    out = {}
    for name, prop in value.items():
        path = f"user_properties.{str(name)[:64]}"
        if not name or len(USER_PREFIX) + len(name) > MAX_PROP_KEY:
            issues.append(Issue(path, f"names must be 1-{MAX_PROP_KEY - len(USER_PREFIX)} characters", VALUE_OUT_OF_BOUNDS))
        elif not isinstance(prop, dict) or not set(prop) <= USER_PROPERTY_FIELDS:
            issues.append(Issue(path, "must be an object {\"value\": ...}"))
        elif prop.get("value") is not None:
            checked = _prop_value(prop["value"], f"{path}.value", issues)
            if checked is not None:
                out[USER_PREFIX + name] = checked
    return out


def _prop_value(value: Any, path: str, issues: list[Issue]) -> Any:
    """A value props can hold (string, number, boolean), else None and an issue."""
    if isinstance(value, (bool, int)) or (isinstance(value, float) and math.isfinite(value)):
        return value
    if isinstance(value, str):
        if len(value) > MAX_PROP_VALUE:
            issues.append(Issue(path, f"is longer than {MAX_PROP_VALUE} characters", VALUE_OUT_OF_BOUNDS))
            return None
        return value
    issues.append(Issue(path, "must be a string, number or boolean (only items is an array)"))
    return None


def _micros_to_ms(value: Any, path: str, issues: list[Issue]) -> int | None:
    """Microseconds since the epoch, as a number or a string of digits (JSON int64), in milliseconds."""
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        issues.append(Issue(path, "must be a Unix time in microseconds"))
        return None
    return int(value) // 1000


def _event(raw: Any, index: int, site: str, shared: _Shared, body: dict, clock: Clock,
           issues: list[Issue]) -> Event | None:
    prefix = f"events[{index}]"
    if not isinstance(raw, dict):
        issues.append(Issue(prefix, "must be an object {name, params}"))
        return None
    for key in raw:
        if key not in EVENT_FIELDS:
            issues.append(Issue(f"{prefix}.{str(key)[:64]}", "unknown field", NAME_INVALID))
    name = raw.get("name")
    if name is None:
        issues.append(Issue(f"{prefix}.name", "is required", VALUE_REQUIRED))
    elif not isinstance(name, str) or not EVENT_NAME.match(name):
        issues.append(Issue(f"{prefix}.name", "must start with a letter and hold only letters, digits and _ "
                            "(at most 40 characters)", NAME_INVALID))
    params = raw.get("params")
    if params is None:
        params = {}
    elif not isinstance(params, dict):
        issues.append(Issue(f"{prefix}.params", "must be an object"))
        params = {}
    ours: dict[str, Any] = {"site": site, "name": name, **shared.fields}
    # Where each of our fields came from in the MP body, for the paths of our validator's errors.
    sources: dict[str, str] = {"name": f"{prefix}.name", "visitor": "client_id", "customer_id": "user_id",
                               "client_ip": "ip_override", "user_agent": "user_agent"}
    props: dict[str, Any] = {}
    for param, value in params.items():
        if value is None:
            continue  # GA4 reads a null parameter as absent
        column = PARAM_COLUMNS.get(param)
        path = f"{prefix}.params.{str(param)[:64]}"
        if column is not None:
            sources[column] = path
            ours[column] = _column_value(column, value, path, issues)
        else:
            checked = _prop_value(value, path, issues)
            if checked is not None:
                props[param] = checked
                sources[f"props.{param}"] = path
    for key, value in shared.user_props.items():  # in the room the event's own params leave
        if len(props) < MAX_PROPS and key not in props:
            props[key] = value
            sources[f"props.{key}"] = f"user_properties.{key[len(USER_PREFIX):]}"
    if props:
        ours["props"] = props
        sources["props"] = f"{prefix}.params"
    if "timestamp_micros" in raw:
        ours["ts"] = _micros_to_ms(raw["timestamp_micros"], f"{prefix}.timestamp_micros", issues)
        sources["ts"] = f"{prefix}.timestamp_micros"
    elif shared.ts_ms is not None:
        ours["ts"] = shared.ts_ms
        sources["ts"] = "timestamp_micros"
    if not isinstance(name, str):
        return None
    ours["event_id"] = str(event_id(site, body, index))
    parsed = parse_event(ours, clock)
    if isinstance(parsed, Event):
        return parsed
    issues.extend(_from_ours(error, sources, prefix) for error in parsed)
    return None


def _column_value(column: str, value: Any, path: str, issues: list[Issue]) -> Any:
    """A param bound for a column, in the type our validator wants where GA4 takes either."""
    if column in ("value", "shipping", "tax"):
        return _numeric(value)
    if column == "currency" and isinstance(value, str):
        return value.upper()
    if column in ("session", "transaction_id", "coupon"):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            issues.append(Issue(path, "must be a string or a number"))
            return None
        return _text(value)
    if column == "items":
        return _items(value)
    return value


def _items(value: Any) -> Any:
    """Our items from GA4's: the fields we keep, ids and other texts as text, numbers from numeric strings."""
    if not isinstance(value, list):
        return value  # our validator says what is wrong
    out = []
    for item in value:
        if not isinstance(item, dict):
            out.append(item)
            continue
        kept = {k: item[k] for k in ITEM_FIELDS if item.get(k) is not None}
        for key in ITEM_TEXTS:  # GA4 takes 42 for "42" (ids, a numeric variant or category)
            if isinstance(kept.get(key), (int, float)) and not isinstance(kept[key], bool):
                kept[key] = _text(kept[key])
        for key in ITEM_AMOUNTS:
            if key in kept:
                kept[key] = _numeric(kept[key])
        if "quantity" in kept:
            kept["quantity"] = _whole(kept["quantity"])
        out.append(kept)
    return out


def _numeric(value: Any) -> Any:
    """GA4 takes "9.99" for 9.99; so do we. Anything else is left for our validator to judge."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return value


def _whole(value: Any) -> Any:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _text(value: str | int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


# Our validator's reasons, by how they begin, as GA4's codes.
_CODES = (("is required", VALUE_REQUIRED), ("must not be empty", VALUE_REQUIRED),
          ("item_id or item_name is required", VALUE_REQUIRED), ("has more than", EXCEEDED_MAX_ENTITIES),
          ("is longer than", VALUE_OUT_OF_BOUNDS), ("must be between", VALUE_OUT_OF_BOUNDS),
          ("is older than", VALUE_OUT_OF_BOUNDS), ("must be a whole number from", VALUE_OUT_OF_BOUNDS),
          ("unknown field", NAME_INVALID), ("keys must be", NAME_INVALID))


def _from_ours(error: FieldError, sources: dict[str, str], prefix: str) -> Issue:
    """Our validator's error on our field, at the place in the MP body it came from."""
    head, _, rest = error.path.partition(".")
    field_name = head.partition("[")[0]
    if error.path in sources:
        path = sources[error.path]
    elif field_name == "items":  # items[2].price -> events[0].params.items[2].price
        path = f"{prefix}.params.{error.path}"
    elif field_name == "props":  # a key cut short in the reason's path: still under params
        path = f"{prefix}.params.{rest}" if rest else f"{prefix}.params"
    elif field_name in COLUMN_PARAMS:  # not sent, yet needed: currency with a value
        path = f"{prefix}.params.{COLUMN_PARAMS[field_name]}"
    else:
        path = f"{prefix}.{error.path}"
    code = next((c for start, c in _CODES if error.reason.startswith(start)), VALUE_INVALID)
    return Issue(path, error.reason, code)
