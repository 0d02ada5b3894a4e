import uuid

import orjson

from tracker.events import COLUMN_NAMES, row_end, row_middle
from tracker.ingest.useragent import Agent


def test_a_row_assembled_from_parts_is_the_json_array_of_all_its_values():
    first = ("demo", 1_790_000_000.123, 1_790_000_000.5, uuid.UUID(int=7), "page_view", 2**64 - 1, "s\n\"1\"", "")
    middle = ("https://shop.example/a?b=\u00e9", "shop.example", "/a", "", "", "direct", "none", "", "", "")
    device = Agent("Firefox", "128", "Linux", "desktop")  # a named tuple, as the pipeline passes
    last = ({"k": "v]\n,["}, "T-1", 12.5, "EUR", "SUMMER", 4.9, None, ["a", "b"], ["", "B"], ["", ""], ["x", ""], ["", ""],
            ["", ""], ["", ""], ["Woolly", ""], ["grey", ""], [1.0, 2.0], [1, 3], [0.5, 0.0])
    values = first + middle + device + last
    assert len(values) == len(COLUMN_NAMES)
    assembled = orjson.dumps(first)[:-1] + row_middle(middle) + row_middle(device) + row_end(last)
    assert assembled == orjson.dumps(values) + b"\n"
    assert orjson.loads(assembled) == orjson.loads(orjson.dumps(values))
