"""The owner page's devices, browsers, OS and channels lists and its sales cycle from one pass over
the visits (tracker/queries/page_visits.py) equal what /devices, /channels and /sales-cycle answer
for the same query."""

from __future__ import annotations

from dataclasses import replace

from tests import shop_visits
from tests.query_support import db  # noqa: F401 - db is a fixture
from tracker.queries import channels, devices, page_visits, sales_cycle
from tracker.queries.segments import parse_segment
from tracker.queries.timerange import TimeRange

RANGE = TimeRange(shop_visits.START, shop_visits.END, "UTC")


def _lists(by: str = "source", limit: int = 10, segment=(), from_event: str = "visit") -> page_visits.PageVisits:
    device_qs = tuple(devices.DeviceQuery("shop", RANGE, by=d, segment=segment, limit=limit) for d in devices.DIMENSIONS)
    channel_q = channels.ChannelQuery("shop", RANGE, by=by, segment=segment, limit=limit)
    return page_visits.PageVisits(device_qs, channel_q, sales_cycle.SalesCycleQuery(replace(channel_q, limit=limit + 1), from_event))


def test_the_answers_equal_their_endpoints(db):
    shop_visits.seed(db.ch)
    for lists in (_lists(), _lists(limit=1), _lists(by="medium"), _lists(by="device"), _lists(from_event="view_item"),
                  _lists(segment=parse_segment(["device==desktop"]))):
        device_answers, channel_answer, cycle_answer = page_visits.run_all(db.runner, lists)
        assert device_answers == [devices.run_devices(db.runner, d) for d in lists.devices], lists
        assert channel_answer == channels.run_channels(db.runner, lists.channels), lists
        assert cycle_answer == sales_cycle.run_sales_cycle(db.runner, lists.sales_cycle), lists
    # Not vacuous: the history has channels, devices and orders to list, and sales cycles to time.
    device_answers, channel_answer, cycle_answer = page_visits.run_all(db.runner, _lists())
    assert channel_answer["channels_total"] == 4 and channel_answer["totals"]["orders"] == 6
    assert [a["values_total"] for a in device_answers] == [2, 2, 2]
    assert cycle_answer["totals"]["orders"] == 6 and cycle_answer["channels_total"] == 4


def test_only_last_touch_channels_with_the_default_lookback_come_from_the_devices_visits():
    device_q = devices.DeviceQuery("shop", RANGE)
    assert page_visits.serves(device_q, channels.ChannelQuery("shop", RANGE, by="campaign", limit=5))
    assert not page_visits.serves(device_q, channels.ChannelQuery("shop", RANGE, attribution="first"))
    assert not page_visits.serves(device_q, channels.ChannelQuery("shop", RANGE, lookback_s=7 * 86400))
    assert not page_visits.serves(device_q, channels.ChannelQuery("shop", replace(RANGE, timezone="Europe/Berlin")))
