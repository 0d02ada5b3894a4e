"""docs/events.md documents every field /api/event accepts, and every item field."""

import re
from pathlib import Path

from tracker.ingest.event import Event, Item

DOC = (Path(__file__).resolve().parents[1] / "docs" / "events.md").read_text()
FIELDS = DOC[DOC.index("| `site` |"):DOC.index("Any other field is an error")]


def test_every_event_field_has_a_row():
    rows = set(re.findall(r"^\| `(\w+)` \|", FIELDS, re.MULTILINE))
    assert rows == set(Event.__struct_fields__)


def test_every_item_field_is_named_in_the_items_row():
    [items] = [line for line in FIELDS.splitlines() if line.startswith("| `items` |")]
    named = set(re.findall(r"`(\w+)`", items))
    numbered = set(re.findall(r"`(\w+?)2` to `\1(\d)`", items))
    for prefix, last in numbered:
        named |= {f"{prefix}{n}" for n in range(2, int(last) + 1)}
    assert set(Item.__struct_fields__) <= named, set(Item.__struct_fields__) - named
