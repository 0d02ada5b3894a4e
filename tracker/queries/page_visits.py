"""The owner's page's lists by visit entry: devices, browsers and OS (/devices) and the channels
table (/channels, last touch), from one pass over the visits. The page shows all four for the same
range and filters, and each splits the range's events into visits and credits the orders to them
in the same way (channels.visits_sql, channels.attributed_orders_sql); only the entry field differs.

devices.build_sql with the channels' field as one more dimension gives every list's rows, so each
answer equals its endpoint's (tests/test_queries_page_visits.py compares them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tracker.queries import channels, devices
from tracker.queries.runner import QueryRunner


@dataclass(frozen=True)
class PageVisits:
    """The lists' queries: the devices' (one per dimension) and the channels', over the same visits."""

    devices: tuple[devices.DeviceQuery, ...]
    channels: channels.ChannelQuery

    def __post_init__(self) -> None:
        first = self.devices[0]
        assert all(replace(d, by=first.by, limit=first.limit) == first for d in self.devices)
        assert serves(first, self.channels)

    @property
    def dimensions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*devices.DIMENSIONS, self.channels.by)))


def serves(device_q: devices.DeviceQuery, channel_q: channels.ChannelQuery) -> bool:
    """Whether the channels table can come from the devices' visits: the same range, gap and
    filter, and its orders credited as /devices credits them (last touch, the default lookback)."""
    def visits(q: channels.ChannelQuery) -> channels.ChannelQuery:
        return replace(q, by="source", limit=1)

    return visits(channel_q) == visits(device_q.channel_query())


def run_all(runner: QueryRunner, q: PageVisits) -> tuple[list[dict], dict]:
    """([devices.run_devices(d) for d in q.devices], channels.run_channels(q.channels)), from one pass."""
    traffic_sql, orders_sql, params = devices.build_sql(q.devices[0], q.dimensions)
    orders = runner.run_beside(orders_sql, params)
    traffic_rows, order_rows = runner.run(traffic_sql, params).dicts(), orders.result().dicts()
    device_answers = [devices.devices_answer(d, traffic_rows, order_rows) for d in q.devices]
    traffic, revenue = devices.of_dimension(q.channels.by, traffic_rows, order_rows)
    sessions = {value: (row["sessions"], row["converted_sessions"]) for value, row in traffic.items()}
    return device_answers, channels.channels_answer(q.channels, sessions, revenue)
