"""The event a client sends, as typed structs with their limits, and what a validated event holds.

msgspec decodes a request body straight into these structs and checks the limits declared here
while it decodes, in C (tracker/ingest/wire.py); the detailed validator (payload.py) builds the
same structs from what it accepts. After validation an Event is normalised: `ts` is milliseconds
on our clock, `site` and `event_id` are set, prop values are strings, and an item's price and
discount are numbers. Its fields are the ones documented in docs/events.md.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Union

import msgspec
from msgspec import Meta

MAX_NAME = 64
MAX_URL = 2048
MAX_ID = 128
MAX_TEXT = MAX_URL // 8
MAX_PROPS = 30
MAX_PROP_KEY = 64
MAX_PROP_VALUE = 512
MAX_ITEMS = 200
MAX_VALUE = 1e12
MAX_QUANTITY = 1_000_000
MAX_TS = 10**14  # ms since the epoch, as sent
MAX_TS_TEXT = 40  # an ISO-8601 time
MAX_IP = 45  # the longest textual IPv6 address (with an embedded IPv4 one)
MAX_USER_AGENT = MAX_URL // 4

Id = Annotated[str, Meta(max_length=MAX_ID)]
Text = Annotated[str, Meta(max_length=MAX_TEXT)]
Url = Annotated[str, Meta(max_length=MAX_URL)]
# Numbers beyond 64 bits: orjson (the detailed path) reads them as floats, msgspec as ints. Left to it.
Int64 = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]
Timestamp = Union[Annotated[int, Meta(ge=0, lt=MAX_TS)], Annotated[float, Meta(ge=0, lt=MAX_TS)],
                  Annotated[str, Meta(max_length=MAX_TS_TEXT)]]
PropValue = Union[Annotated[str, Meta(max_length=MAX_PROP_VALUE)], Int64, float, bool]
Amount = Annotated[float, Meta(ge=0, le=MAX_VALUE)]
Signed = Annotated[float, Meta(ge=-MAX_VALUE, le=MAX_VALUE)]
Props = Annotated[dict[Annotated[str, Meta(min_length=1, max_length=MAX_PROP_KEY)], PropValue], Meta(max_length=MAX_PROPS)]


class Item(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    item_id: Id = ""
    item_name: Text = ""
    item_category: Text = ""
    item_category2: Text = ""
    item_category3: Text = ""
    item_category4: Text = ""
    item_category5: Text = ""
    item_brand: Text = ""
    item_variant: Text = ""
    price: Amount | None = None  # 0.0 once validated
    quantity: Annotated[int, Meta(ge=0, le=MAX_QUANTITY)] = 1
    discount: Amount | None = None  # per unit; 0.0 once validated


class Event(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    # An explicit null where the default is not None fails here and is left to the detailed
    # validator, which reads it as absent: browsers omit what they do not have.
    name: Annotated[str, Meta(max_length=MAX_NAME)]
    site: Annotated[str, Meta(max_length=MAX_NAME)] | None = None
    url: Url = ""
    referrer: Url = ""
    ts: Timestamp | None = None  # validated: ms since the epoch on our clock
    sent_at: Timestamp | msgspec.UnsetType = msgspec.UNSET  # the detailed validator says what a null is
    event_id: uuid.UUID | None = None
    visitor: Id = ""
    session: Id = ""
    customer_id: Id = ""
    props: Props = {}
    transaction_id: Id = ""
    value: Signed | None = None
    currency: Annotated[str, Meta(max_length=3)] = ""
    coupon: Text = ""
    shipping: Signed | None = None
    tax: Signed | None = None
    items: Annotated[list[Item], Meta(max_length=MAX_ITEMS)] = []
    # Only with an ingest key (tracker/ingest/keys.py): the shopper's, for the visitor hash and the
    # device columns in place of the sending backend's. Never stored.
    client_ip: Annotated[str, Meta(max_length=MAX_IP)] = ""
    user_agent: Annotated[str, Meta(max_length=MAX_USER_AGENT)] = ""


class Envelope(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    events: list[Event]
    site: str | None = None
    sent_at: Timestamp | None = None
