import uuid

import pytest

from tests.rowbinary_support import decode_row
from tracker import rowbinary
from tracker.events import COLUMN_NAMES, COLUMNS, row_encoder
from tracker.ingest.useragent import Agent

FIRST = ("site", "ts", "received_at", "event_id", "name", "visitor_id", "session_id", "customer_id")
MIDDLE = ("url", "hostname", "path", "referrer", "referrer_host", "source", "medium", "campaign", "utm_term", "utm_content")
LAST = ("props", "transaction_id", "value", "currency", "coupon", "shipping", "tax",
        "items.item_id", "items.item_name", "items.item_category", "items.item_category2", "items.item_category3",
        "items.item_category4", "items.item_category5", "items.item_brand", "items.item_variant", "items.price",
        "items.quantity", "items.discount")


def test_a_row_assembled_from_parts_is_the_row_of_all_its_values():
    first = ("demo", 1_790_000_000_123, 1_790_000_000_500, uuid.UUID(int=7), "page_view", 2**64 - 1, "s\n\"1\"", "")
    middle = ("https://shop.example/a?b=\u00e9" + "x" * 200, "shop.example", "/a", "", "", "direct", "none", "", "", "")
    device = Agent("Firefox", "128", "Linux", "desktop")  # a named tuple, as the pipeline passes
    last = ({"k": "v]\n,["}, "T-1", 12.5, "EUR", "SUMMER", 4.9, None, ["a", "b"], ["", "B"], ["", ""], ["x", ""], ["", ""],
            ["", ""], ["", ""], ["Woolly", ""], ["grey", ""], [1.0, 2.0], [1, 3], [0.5, 0.0])
    values = first + middle + device + last
    assert (*FIRST, *MIDDLE, *Agent._fields, *LAST) == COLUMN_NAMES
    assembled = row_encoder(FIRST)(first) + row_encoder(MIDDLE)(middle) + row_encoder(Agent._fields)(device) + row_encoder(LAST)(last)
    assert assembled == row_encoder(COLUMN_NAMES)(values)
    row = decode_row(assembled)
    assert row["url"] == middle[0] and row["session_id"] == "s\n\"1\"" and row["visitor_id"] == 2**64 - 1
    assert (row["ts"], row["event_id"], row["props"], row["value"], row["items.price"], row["items.quantity"]) == (
        1_790_000_000.123, str(uuid.UUID(int=7)), {"k": "v]\n,["}, 12.5, [1.0, 2.0], [1, 3])


def test_every_column_type_has_a_rowbinary_encoder():
    """A column added to COLUMNS with a type rowbinary.py cannot write fails here, not at the first insert."""
    for name, ch_type, _ in COLUMNS:
        assert callable(rowbinary.encoder(ch_type)), name
    with pytest.raises(ValueError, match="no RowBinary encoder"):
        rowbinary.encoder("IPv6")
