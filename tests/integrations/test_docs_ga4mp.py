"""docs/integrations/ga4-measurement-protocol.md matches the code: its example hit is stored as the
table says, its debug message is the one the endpoint gives, every body field is in the table,
and the README and docs/events.md link it."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import orjson

from tests.conftest import wait_for
from tests.integrations.support import send
from tracker.integrations import ga4mp

ROOT = Path(__file__).resolve().parents[2]
DOC_PATH = "docs/integrations/ga4-measurement-protocol.md"
DOC = (ROOT / DOC_PATH).read_text()


def json_blocks() -> list:
    return [orjson.loads(b) for b in re.findall(r"```json\n(.*?)```", DOC, re.S)]


def test_the_readme_and_the_events_doc_link_it():
    assert f"]({DOC_PATH})" in (ROOT / "README.md").read_text()
    assert "](integrations/ga4-measurement-protocol.md)" in (ROOT / "docs" / "events.md").read_text()


def test_every_body_field_and_code_is_documented():
    table = DOC[DOC.index("## What goes where"):DOC.index("## Same guarantees")]
    for name in ga4mp.BODY_FIELDS:
        assert f"`{name}`" in table, name
    for code in (ga4mp.VALUE_INVALID, ga4mp.VALUE_REQUIRED, ga4mp.NAME_INVALID, ga4mp.VALUE_OUT_OF_BOUNDS,
                 ga4mp.EXCEEDED_MAX_ENTITIES):
        assert f"`{code}`" in DOC


def test_the_example_hit_is_stored_as_the_table_says_and_the_debug_message_is_real(shop, ch):
    message, hit = json_blocks()
    assert send(shop, hit, path="/debug/mp/collect").json() == {"validationMessages": []}
    r = send(shop, hit)
    assert (r.status_code, r.content) == (204, b"")
    assert wait_for(lambda: ch.query("SELECT count() FROM events").result_rows[0][0], 1) == 1
    row = ch.query("SELECT name, customer_id, session_id, source, transaction_id, toFloat64(value), currency, props, "
                   "coupon, toFloat64(shipping), toFloat64(tax), items.item_id, items.item_brand, items.item_category, "
                   "items.item_category2, items.quantity FROM events").result_rows[0]
    assert row == ("purchase", "customer-778", "1790000123", "newsletter", "T_20001", 42.5, "EUR",
                   {"engagement_time_msec": "1200"}, "WINTER_SALE", 4.9, 3.4,
                   ["SKU_30012"], ["Fjellwear"], ["Apparel"], ["Socks"], [3])
    without_currency = copy.deepcopy(hit)
    del without_currency["events"][0]["params"]["currency"]
    assert send(shop, without_currency, path="/debug/mp/collect").json() == message
