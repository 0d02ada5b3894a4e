import orjson

from tracker.dedupe import RecentIds, key_of, transaction_key
from tests.rowbinary_support import decode_row
from tracker.events import COLUMN_NAMES
from tracker.ingest.intake import Reader
from tracker.ingest.pipeline import ROW_LAYOUT, Pipeline
from tracker.ingest.salts import DailySalts
from tracker.ingest.steps import RequestInfo

NOW = 1_790_000_000_000
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def test_rows_are_built_in_the_declared_column_order():
    assert ROW_LAYOUT == COLUMN_NAMES


def stored(tmp_path, body: dict, ip: str = "203.0.113.9"):
    batch = Reader(100, 30 * 86_400_000).read(orjson.dumps(body), NOW)
    recent = RecentIds(tmp_path, tmp_path, 3600, 1000)
    pipeline = Pipeline(DailySalts(tmp_path / "salts"), recent, frozenset())
    outcome = pipeline.run(batch.events, batch.keys, RequestInfo(ip, FIREFOX, NOW))
    return [decode_row(line) for line in outcome.lines], outcome


def test_a_batch_becomes_rows_with_every_column(tmp_path):
    rows, outcome = stored(tmp_path, {"site": "demo", "events": [
        {"name": "page_view", "url": "https://shop.example/p?utm_source=News", "referrer": "https://www.google.com/",
         "event_id": "6f1c1e1e-8a47-4c6a-9d7b-0c2a8e7c1b11", "ts": NOW - 1000},
        {"name": "purchase", "value": 30, "currency": "EUR", "transaction_id": "T-1", "props": {"n": 2},
         "items": [{"item_id": "a", "price": 10, "quantity": 2}, {"item_name": "B", "price": 10}]},
    ]})
    first, second = rows
    assert (first["ts"], first["received_at"], first["event_id"]) == ((NOW - 1000) / 1000, NOW / 1000, "6f1c1e1e-8a47-4c6a-9d7b-0c2a8e7c1b11")
    assert (first["path"], first["source"], first["referrer_host"], first["browser"], first["device"]) == ("/p", "news", "www.google.com", "Firefox", "desktop")
    assert (second["value"], second["currency"], second["props"]) == (30.0, "EUR", {"n": "2"})
    assert (second["items.item_id"], second["items.item_name"], second["items.price"], second["items.quantity"]) == (
        ["a", ""], ["", "B"], [10.0, 10.0], [2, 1])
    # Anonymous events of one request share one visitor id; the client's event_id and the purchase's
    # (site, transaction_id) are remembered, not the event_id the tracker chose for the purchase.
    assert first["visitor_id"] == second["visitor_id"]
    assert outcome.keys == [key_of("6f1c1e1e-8a47-4c6a-9d7b-0c2a8e7c1b11"), transaction_key("demo", "T-1")]


def test_ga4_order_and_item_fields_reach_their_columns(tmp_path):
    [row, plain], _ = stored(tmp_path, {"site": "demo", "events": [
        {"name": "purchase", "value": 23.5, "currency": "EUR", "coupon": "SUMMER", "shipping": 4.9, "tax": 0,
         "items": [{"item_id": "a", "item_category2": "Wool", "item_category5": "Hiking", "item_brand": "Woolly",
                    "item_variant": "grey", "price": 9.3, "quantity": 2, "discount": 0.7}, {"item_name": "B"}]},
        {"name": "page_view"},
    ]})
    assert (row["coupon"], row["shipping"], row["tax"]) == ("SUMMER", 4.9, 0.0)
    assert {k: row[f"items.{k}"] for k in ("item_category2", "item_category3", "item_category5", "item_brand",
                                             "item_variant", "discount")} == {
        "item_category2": ["Wool", ""], "item_category3": ["", ""], "item_category5": ["Hiking", ""],
        "item_brand": ["Woolly", ""], "item_variant": ["grey", ""], "discount": [0.7, 0.0]}
    assert (plain["coupon"], plain["shipping"], plain["tax"], plain["items.discount"]) == ("", None, None, [])


def test_resends_are_dropped_within_a_request_and_across_requests(tmp_path):
    event = {"site": "demo", "name": "x", "event_id": "6f1c1e1e-8a47-4c6a-9d7b-0c2a8e7c1b11"}
    batch = Reader(100, 30 * 86_400_000).read(orjson.dumps([event, event]), NOW)
    recent = RecentIds(tmp_path, tmp_path, 3600, 1000)
    pipeline = Pipeline(DailySalts(tmp_path / "salts"), recent, frozenset())
    first = pipeline.run(batch.events, batch.keys, RequestInfo("ip", FIREFOX, NOW))
    assert (len(first.lines), first.dropped) == (1, {"duplicate": 1})
    recent.remember_keys(first.keys)
    again = Reader(100, 30 * 86_400_000).read(orjson.dumps(event), NOW)
    assert pipeline.run(again.events, again.keys, RequestInfo("ip", FIREFOX, NOW)).dropped == {"duplicate": 1}


def test_the_per_event_head_written_by_hand_is_its_columns_in_rowbinary():
    import uuid

    from tracker.events import row_encoder
    from tracker.ingest.pipeline import HEAD, encode_row
    from tracker.rowbinary import string

    for values in [("demo", NOW - 1, NOW, uuid.UUID(int=2**128 - 3), "page_view", 2**64 - 1, "", ""),
                   ("d" * 64, 0, NOW, uuid.UUID(int=5), "n" * 64, 0, "s" * 128, "c\u00e9" * 70)]:
        site, ts, received, event_id, name, visitor, session, customer = values
        assert encode_row(string(site), ts, received, event_id, string(name), visitor, session, customer, b"P", b"E") == (
            row_encoder(HEAD)(values) + b"PE")
