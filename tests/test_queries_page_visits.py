"""The owner page's devices, browsers, OS and channels lists from one pass over the visits
(tracker/queries/page_visits.py) equal what /devices and /channels answer for the same query."""

from __future__ import annotations

from dataclasses import replace

from tests import shop_visits
from tests.query_support import db  # noqa: F401 - db is a fixture
from tracker.queries import channels, devices, page_visits
from tracker.queries.segments import parse_segment
from tracker.queries.timerange import TimeRange

RANGE = TimeRange(shop_visits.START, shop_visits.END, "UTC")


def _lists(by: str = "source", limit: int = 10, segment=()) -> page_visits.PageVisits:
    device_qs = tuple(devices.DeviceQuery("shop", RANGE, by=d, segment=segment, limit=limit) for d in devices.DIMENSIONS)
    return page_visits.PageVisits(device_qs, channels.ChannelQuery("shop", RANGE, by=by, segment=segment, limit=limit))


def test_the_answers_equal_their_endpoints(db):
    shop_visits.seed(db.ch)
    for lists in (_lists(), _lists(limit=1), _lists(by="medium"), _lists(by="device"),
                  _lists(segment=parse_segment(["device==desktop"]))):
        device_answers, channel_answer = page_visits.run_all(db.runner, lists)
        assert device_answers == [devices.run_devices(db.runner, d) for d in lists.devices], lists
        assert channel_answer == channels.run_channels(db.runner, lists.channels), lists
    # Not vacuous: the history has channels, devices and orders to list.
    device_answers, channel_answer = page_visits.run_all(db.runner, _lists())
    assert channel_answer["channels_total"] == 4 and channel_answer["totals"]["orders"] == 6
    assert [a["values_total"] for a in device_answers] == [2, 2, 2]


def test_only_last_touch_channels_with_the_default_lookback_come_from_the_devices_visits():
    device_q = devices.DeviceQuery("shop", RANGE)
    assert page_visits.serves(device_q, channels.ChannelQuery("shop", RANGE, by="campaign", limit=5))
    assert not page_visits.serves(device_q, channels.ChannelQuery("shop", RANGE, attribution="first"))
    assert not page_visits.serves(device_q, channels.ChannelQuery("shop", RANGE, lookback_s=7 * 86400))
    assert not page_visits.serves(device_q, channels.ChannelQuery("shop", replace(RANGE, timezone="Europe/Berlin")))
