"""Import files as raw events: JSONL and CSV, --map renames, CSV cells typed as the event fields, line numbers."""

from pathlib import Path

import pytest

from tracker.imports.rows import count_lines, file_format, parse_mapping, read_rows


def rows(path, fmt, mapping=None):
    return [(r.line, r.raw, r.error) for r in read_rows(path, fmt, mapping or {})]


def test_jsonl_rows_carry_their_line_and_mapped_names(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text('{"order_id": "T-1", "name": "purchase"}\n\nnot json\n[1]\n')
    found = rows(path, "jsonl", {"order_id": "transaction_id"})
    assert found[0] == (1, {"transaction_id": "T-1", "name": "purchase"}, "")
    assert found[1][0] == 3 and found[1][1] is None and found[1][2].startswith("not valid JSON")
    assert found[2] == (4, [1], "")  # not an object: the validator says so, with its line


def test_csv_cells_become_numbers_and_json_where_the_event_has_them(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(
        "name,ts,value,currency,items,props,ref\n"
        'purchase,1700000000000,19.5,EUR,"[{""item_id"": ""A"", ""price"": 19.5}]","{""coupon"": ""X""}",\n'
        'page_view,2023-11-14T22:13:20Z,,,,,"multi\nline"\n'
        "view_item,1,2,3,4,5,6,7\n"
        'purchase,1700000000000,ten,EUR,"[oops",,\n'
    )
    found = rows(path, "csv", {"ref": "referrer"})
    assert found[0] == (2, {"name": "purchase", "ts": 1700000000000, "value": 19.5, "currency": "EUR",
                            "items": [{"item_id": "A", "price": 19.5}], "props": {"coupon": "X"}}, "")
    assert found[1] == (3, {"name": "page_view", "ts": "2023-11-14T22:13:20Z", "referrer": "multi\nline"}, "")
    assert found[2] == (5, None, "more cells than header columns")  # line 5: the quoted cell above spans two
    assert found[3][0] == 6 and found[3][2].startswith("items: must be JSON")


def test_mapping_and_format_options():
    assert parse_mapping(["order_id=transaction_id", " sku = item "]) == {"order_id": "transaction_id", "sku": "item"}
    with pytest.raises(ValueError, match="SOURCE=FIELD"):
        parse_mapping(["order_id"])
    assert (file_format(Path("a.CSV"), None), file_format(Path("a.jsonl"), None), file_format(Path("a.txt"), "csv")) == ("csv", "jsonl", "csv")


def test_count_lines(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_bytes(b"{}\n" * 2500)
    assert count_lines(path) == 2500
