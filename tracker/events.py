"""The event vocabulary and the single list of event columns.

COLUMNS is the one place that names what a stored event holds; the migrations in
schema/migrations (0001, 0105, 0110) create exactly these columns (tests/test_migrate.py checks they agree).
A stored row is encoded in ROW_FORMAT (see row_encoder below), ClickHouse's RowBinary: the
pipeline encodes it once at ingest, the spool keeps the bytes, the flusher sends them as they are.
ClickHouse reads a binary row for a fraction of the CPU of a JSON one (bench/clickhouse_cost.md).
"""

from __future__ import annotations

from typing import Callable

import orjson

from tracker import rowbinary

# GA4 e-commerce names, so a shop instrumented for GA4/GTM maps 1:1. Custom names are allowed too.
ECOMMERCE_EVENTS = (
    "view_item_list",
    "select_item",
    "view_item",
    "add_to_cart",
    "remove_from_cart",
    "view_cart",
    "begin_checkout",
    "add_shipping_info",
    "add_payment_info",
    "purchase",
    "refund",
)
STANDARD_EVENTS = ("page_view", *ECOMMERCE_EVENTS)

# (column, ClickHouse type, what it holds)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("site", "LowCardinality(String)", "site id"),
    ("ts", "DateTime64(3, 'UTC')", "event time, corrected for client clock skew"),
    ("received_at", "DateTime64(3, 'UTC')", "when the tracker received it"),
    ("event_id", "UUID", "client UUID (or one the tracker made) for de-duplication"),
    ("name", "LowCardinality(String)", "event name"),
    ("visitor_id", "UInt64", "cookieless visitor hash: daily salt, site, IP, user agent"),
    ("session_id", "String", "client session hint, if sent"),
    ("customer_id", "String", "shop's opaque customer id after identify(), with consent"),
    ("url", "String", "page URL without fragment"),
    ("hostname", "String", "host of url"),
    ("path", "String", "path of url"),
    ("referrer", "String", "referrer URL (external referrers only)"),
    ("referrer_host", "String", "host of referrer"),
    ("source", "String", "traffic source: utm_source or known referrer, else 'direct'"),
    ("medium", "String", "utm_medium or derived: organic, social, referral, none"),
    ("campaign", "String", "utm_campaign"),
    ("utm_term", "String", "utm_term"),
    ("utm_content", "String", "utm_content"),
    ("browser", "String", "browser family"),
    ("browser_version", "String", "browser major version"),
    ("os", "String", "operating system family"),
    ("device", "String", "desktop, mobile or tablet"),
    ("props", "Map(LowCardinality(String), String)", "custom properties (numbers kept as text)"),
    ("transaction_id", "String", "order id of a purchase or refund"),
    ("value", "Nullable(Decimal(18, 4))", "monetary value of the event"),
    ("currency", "String", "ISO 4217 code of value and prices"),
    ("coupon", "String", "coupon code of the order"),  # 0105: GA4's purchase and item fields
    ("shipping", "Nullable(Decimal(18, 4))", "shipping cost of the order"),
    ("tax", "Nullable(Decimal(18, 4))", "tax of the order"),
    ("items.item_id", "Array(String)", "items: id"),
    ("items.item_name", "Array(String)", "items: name"),
    ("items.item_category", "Array(String)", "items: category"),
    ("items.item_category2", "Array(String)", "items: second category level"),  # 0105
    ("items.item_category3", "Array(String)", "items: third category level"),
    ("items.item_category4", "Array(String)", "items: fourth category level"),
    ("items.item_category5", "Array(String)", "items: fifth category level"),
    ("items.item_brand", "Array(String)", "items: brand (Shopify: the product's vendor)"),
    ("items.item_variant", "Array(String)", "items: variant (size, colour; Shopify: the variant's title)"),
    ("items.price", "Array(Decimal(18, 4))", "items: unit price"),
    ("items.quantity", "Array(UInt32)", "items: quantity"),
    ("items.discount", "Array(Decimal(18, 4))", "items: unit discount"),  # 0105
)

COLUMN_NAMES: tuple[str, ...] = tuple(c[0] for c in COLUMNS)
COLUMN_TYPES: dict[str, str] = {c[0]: c[1] for c in COLUMNS}

ROW_FORMAT = "RowBinary"
# Segments spooled by earlier versions hold JSON lines: arrays in column order (JSON_ROW_FORMAT),
# or, before that, objects (LEGACY_ROW_FORMAT). They are inserted in their own format after an upgrade.
JSON_ROW_FORMAT = "JSONCompactEachRow"
LEGACY_ROW_FORMAT = "JSONEachRow"


# A stored row is its values in COLUMN_NAMES order, each in its type's RowBinary form
# (tracker/rowbinary.py), with nothing between them: so a row is the concatenation of its parts,
# and the ingest pipeline encodes columns many events share (a page's, a browser's) once, not per
# event. tests/test_events.py checks that the parts make the row of all the values.


def row_encoder(names: tuple[str, ...]) -> Callable[[tuple], bytes]:
    """The encoder of these columns' values (a tuple in the order of `names`) as part of a row."""
    encoders = tuple(rowbinary.encoder(COLUMN_TYPES[name]) for name in names)

    def encode(values: tuple) -> bytes:
        return b"".join([encode_one(value) for encode_one, value in zip(encoders, values, strict=True)])

    return encode


def json_row_format(data: bytes) -> str:
    """The format of a segment of JSON lines spooled by an earlier version: arrays, or objects."""
    return LEGACY_ROW_FORMAT if data[:1] == b"{" else JSON_ROW_FORMAT


# Migration 0105 added these columns. A JSON segment spooled by a version before it holds the other
# columns only: it is inserted with that shorter column list, and ClickHouse gives the added
# columns their defaults ('' / NULL, and per item '' and 0, as many as the row has items).
ADDED_IN_0105 = ("coupon", "shipping", "tax", "items.item_category2", "items.item_category3", "items.item_category4",
                 "items.item_category5", "items.item_brand", "items.item_variant", "items.discount")
COLUMN_NAMES_BEFORE_0105: tuple[str, ...] = tuple(c for c in COLUMN_NAMES if c not in ADDED_IN_0105)


def json_row_columns(data: bytes) -> tuple[str, ...]:
    """The columns of a JSON segment from an earlier version, in their order: fewer before 0105.

    Objects (LEGACY_ROW_FORMAT) all come from before it; listing the added columns for them would
    make ClickHouse read their items' new columns as empty arrays, not as one default per item,
    and refuse the insert (the arrays of a Nested column must have one size)."""
    if data[:1] != b"[":
        return COLUMN_NAMES_BEFORE_0105
    first = orjson.loads(data[:data.find(b"\n")])  # every row of a segment comes from one version
    return COLUMN_NAMES_BEFORE_0105 if len(first) == len(COLUMN_NAMES_BEFORE_0105) else COLUMN_NAMES
