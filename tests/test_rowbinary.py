"""ClickHouse reads the rows tracker/rowbinary.py writes as the same values it reads from the JSON rows of earlier versions."""

import uuid

import orjson

from tracker import rowbinary
from tracker.clickhouse.client import Target
from tracker.clickhouse.migrate import migrate
from tracker.events import COLUMN_NAMES, JSON_ROW_FORMAT, ROW_FORMAT, row_encoder
from tracker.flusher import insert_rows


def test_varints_and_strings_of_every_length_class():
    assert [rowbinary.varint(n) for n in (0, 127, 128, 300, 2**21)] == [b"\x00", b"\x7f", b"\x80\x01", b"\xac\x02", b"\x80\x80\x80\x01"]
    assert rowbinary.string("é" * 100) == b"\xc8\x01" + "é".encode() * 100
    assert rowbinary.parse_type("Map(LowCardinality(String), Array(Decimal(18, 4)))") == (
        "Map", ["LowCardinality(String)", "Array(Decimal(18, 4))"])


def test_clickhouse_stores_the_same_rows_from_rowbinary_as_from_json(clickhouse, database, ch):
    migrate(Target("127.0.0.1", clickhouse.port, database=database))
    ms = 1_790_000_000_123
    rows = []
    for i, (value, prices, props, text) in enumerate([
        (None, [], {}, ""),
        (19.99, [19.99, 0.0], {"k": "v"}, "ü" * 300),  # a string longer than one varint byte counts
        (-1.23456, [1e12, 0.00015], {"a": "1", "b": ""}, "\n\"[,"),  # digits past the scale are cut, as from JSON
    ]):
        rows.append({
            "site": "demo", "ts": ms + i, "received_at": ms + 500, "event_id": uuid.UUID(int=2**128 - 1 - i), "name": "purchase",
            "visitor_id": 2**64 - 1 - i, "session_id": text, "customer_id": "c", "url": "https://shop.example/" + text,
            "hostname": "shop.example", "path": "/", "referrer": "", "referrer_host": "", "source": "direct", "medium": "none",
            "campaign": "", "utm_term": "", "utm_content": "", "browser": "Firefox", "browser_version": "128", "os": "Linux",
            "device": "desktop", "props": props, "transaction_id": f"T-{i}", "value": value, "currency": "EUR",
            "items.item_id": [f"a{j}" for j in range(len(prices))], "items.item_name": ["n"] * len(prices),
            "items.item_category": ["c"] * len(prices), "items.price": prices, "items.quantity": list(range(1, len(prices) + 1)),
            "coupon": text[:5], "shipping": value, "tax": None, "items.discount": [p / 10 for p in prices],
            **{f"items.{c}": [text[:3]] * len(prices) for c in ("item_category2", "item_category3", "item_category4",
                                                               "item_category5", "item_brand", "item_variant")},
        })
    encode = row_encoder(COLUMN_NAMES)
    binary = b"".join(encode(tuple(r[c] for c in COLUMN_NAMES)) for r in rows)

    def as_json(r: dict) -> bytes:  # as the previous version spooled a row: times in seconds
        return orjson.dumps([r[c] / 1000 if c in ("ts", "received_at") else r[c] for c in COLUMN_NAMES]) + b"\n"

    insert_rows(ch, binary, "rb", ROW_FORMAT)
    ch.command("CREATE TABLE from_json AS events")
    ch.raw_insert("from_json", column_names=COLUMN_NAMES, insert_block=b"".join(map(as_json, rows)), fmt=JSON_ROW_FORMAT)
    columns = ", ".join(f"toString(`{c}`)" for c in COLUMN_NAMES)
    stored = ch.query(f"SELECT {columns} FROM events ORDER BY ts").result_rows
    assert len(stored) == 3
    assert stored == ch.query(f"SELECT {columns} FROM from_json ORDER BY ts").result_rows
    assert stored[2][COLUMN_NAMES.index("value")] == "-1.2345"
    assert stored[1][COLUMN_NAMES.index("session_id")] == "ü" * 300
