"""The owner's page's lists by visit entry: devices, browsers and OS (/devices), the channels table
(/channels, last touch) and the sales cycle (/sales-cycle), from one pass over the visits. The page
shows all of them for the same range and filters; each splits the range's events into visits and
credits the orders to them the same way (channels.visits_sql, channels.attributed_orders_sql), and
only the entry field differs.

devices.build_sql, with the channels' field as one more dimension, gives the device and channel
lists' rows. Its orders are a materialized CTE (tracker/queries/together.py) that the sales cycle's SQL (sales_cycle.build_sql)
reads too, with the channels' field taken from the entry. Each answer equals its endpoint's
(tests/test_queries_page_visits.py compares them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tracker.queries import channels, devices, sales_cycle, together
from tracker.queries.runner import QueryRunner

_ORDERS = "page_attributed_orders"


@dataclass(frozen=True)
class PageVisits:
    """The lists' queries over the same visits: the devices' (one per dimension), the channels' and
    the sales cycle's (credited as the channels are)."""

    devices: tuple[devices.DeviceQuery, ...]
    channels: channels.ChannelQuery
    sales_cycle: sales_cycle.SalesCycleQuery

    def __post_init__(self) -> None:
        first = self.devices[0]
        assert all(replace(d, by=first.by, limit=first.limit) == first for d in self.devices)
        assert serves(first, self.channels) and replace(self.sales_cycle.channel, limit=1) == replace(self.channels, limit=1)

    @property
    def dimensions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*devices.DIMENSIONS, self.channels.by)))


def serves(device_q: devices.DeviceQuery, channel_q: channels.ChannelQuery) -> bool:
    """Whether the channels table can come from the devices' visits: the same range, gap and
    filter, and its orders credited as /devices credits them (last touch, the default lookback)."""
    def visits(q: channels.ChannelQuery) -> channels.ChannelQuery:
        return replace(q, by="source", limit=1)

    return visits(channel_q) == visits(device_q.channel_query())


def build_sql(q: PageVisits) -> tuple[str, str, dict]:
    """The visits' query (as devices.build_sql's) and one query for the orders of the device lists
    and the sales cycle."""
    traffic_sql, orders_sql, params = devices.build_sql(q.devices[0], q.dimensions, orders=_ORDERS)
    # The sales cycle's channel is the channels' field of the credited visit's entry.
    entry_field = q.dimensions.index(q.channels.by) + 1
    cycle_sql, cycle_params = sales_cycle.build_sql(q.sales_cycle, orders=f"(SELECT * REPLACE (channel.{entry_field} AS channel) FROM {_ORDERS})")
    device_channel = q.devices[0].channel_query()
    attributed = channels.attributed_orders_sql(device_channel, params, columns=q.dimensions)
    orders_and_cycles = together.one_query(_ORDERS, attributed, {"orders": orders_sql, "cycles": cycle_sql})
    return traffic_sql, orders_and_cycles, {**params, **cycle_params}


_ORDER_NAMES = ("overall", "dimension", "entry_value", "currency", "orders", "revenue")
_CYCLE_NAMES = ("overall", "channel", "orders", "without_start", "times", "histogram")


def run_all(runner: QueryRunner, q: PageVisits) -> tuple[list[dict], dict, dict]:
    """([devices.run_devices(d) for d in q.devices], channels.run_channels(q.channels),
    sales_cycle.run_sales_cycle(q.sales_cycle)), from one pass."""
    traffic_sql, orders_sql, params = build_sql(q)
    traffic, orders = runner.run_pair(traffic_sql, orders_sql, params)
    traffic_rows = traffic.dicts()
    (order_rows, cycle_rows), = orders.rows
    order_rows = [dict(zip(_ORDER_NAMES, r)) for r in order_rows]
    cycle_rows = sorted((dict(zip(_CYCLE_NAMES, r)) for r in cycle_rows), key=sales_cycle.sort_key)
    device_answers = [devices.devices_answer(d, traffic_rows, order_rows) for d in q.devices]
    traffic, revenue = devices.of_dimension(q.channels.by, traffic_rows, order_rows)
    sessions = {value: (row["sessions"], row["converted_sessions"]) for value, row in traffic.items()}
    return (device_answers, channels.channels_answer(q.channels, sessions, revenue),
            sales_cycle.sales_cycle_answer(q.sales_cycle, cycle_rows))
