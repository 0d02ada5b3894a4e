"""Funnel steps: the `step` query parameter's small language, and the default shop funnel.

A step is one or more alternatives separated by `|`; an alternative is an event name (or `*`
for any event) followed by `;`-separated filters on a property (`props.page=/pricing`) or an
event field (`path=/checkout`). `\\|`, `\\;` and `\\\\` escape those characters in values.

    view_item                          one event name
    add_to_cart|view_cart              either event
    page_view;props.page=/pricing      a page_view whose property `page` is /pricing

A step that repeats an earlier step's exact definition needs another matching event: the second
`purchase` of `...|purchase, purchase` is the unit's second purchase (the shop funnel's repurchase).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from tracker.events import STANDARD_EVENTS

MAX_STEPS = 20  # a unit's step matches travel as a bit mask next to a 32-bit time in one UInt64
MAX_FILTERS = 5
MAX_VALUE = 512
ANY_EVENT = "*"

# Event fields a filter may name (besides props.*). Validated here, quoted again where used in SQL.
FILTER_FIELDS = ("path", "hostname", "url", "referrer_host", "source", "medium", "campaign", "device", "browser", "os", "currency", "transaction_id")

_NAME = re.compile(r"^[A-Za-z0-9_.:\- ]{1,64}$")
# props.NAME, in step filters and segment filters.
PROP_FIELD = re.compile(r"^props\.([A-Za-z0-9_.:\-]{1,64})$")

# The default funnel: (stage, step in the language above). Stages are any-of event sets because
# shops send different subsets of GA4's events: many checkouts send add_shipping_info and
# add_payment_info but never begin_checkout, and a stage of begin_checkout alone then showed 0 for
# intent and every later stage. Interest also takes select_item (a click on one product in a
# list): it singles out a product as plainly as view_item, and shops with quick views or
# add-to-cart buttons on list pages send it without a view_item. view_item_list stays awareness
# (browsing), and view_cart is not consideration (an empty cart can be viewed).
SHOP_FUNNEL = (
    ("awareness", ANY_EVENT),
    ("interest", "view_item|select_item"),
    ("consideration", "add_to_cart"),
    ("intent", "begin_checkout|add_shipping_info|add_payment_info"),
    ("purchase", "purchase"),
    ("repurchase", "purchase"),
)


@dataclass(frozen=True)
class Filter:
    field: str  # "props.<key>" or one of FILTER_FIELDS
    value: str

    @property
    def prop(self) -> str | None:
        return self.field[6:] if self.field.startswith("props.") else None


@dataclass(frozen=True)
class Alternative:
    name: str  # an event name or ANY_EVENT
    filters: tuple[Filter, ...] = ()


@dataclass(frozen=True)
class Step:
    label: str
    alternatives: tuple[Alternative, ...]
    # For a step identical to an earlier one: the index of the first such step, and which
    # occurrence (2 = the second matching event of the unit) this step needs.
    same_as: int | None = None
    occurrence: int = 1

    def definition(self) -> frozenset:
        return frozenset((a.name, frozenset((f.field, f.value) for f in a.filters)) for a in self.alternatives)

    def event_names(self) -> set[str]:
        return {a.name for a in self.alternatives if a.name != ANY_EVENT}


def split_escaped(text: str, sep: str) -> list[str]:
    """Split on sep, honouring backslash escapes; the escapes are resolved in the parts."""
    parts, current, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse_step(text: str) -> Step:
    """One step from its text; ValueError says what is wrong."""
    text = text.strip()
    if not text:
        raise ValueError("is empty")
    alternatives = []
    for alt_text in split_escaped(text, "|"):
        parts = split_escaped(alt_text, ";")
        name = unescape(parts[0]).strip()
        if name != ANY_EVENT and not _NAME.match(name):
            raise ValueError(f"{name!r} is not an event name (letters, digits, space and _ . : -) or *")
        filters = []
        for part in parts[1:]:
            key, sep, value = part.partition("=")
            key, value = unescape(key).strip(), unescape(value)
            if not sep:
                raise ValueError(f"filter {key!r} needs a value: field=value")
            if not (PROP_FIELD.match(key) or key in FILTER_FIELDS):
                raise ValueError(f"cannot filter on {key!r}: use props.<name> or one of {', '.join(FILTER_FIELDS)}")
            if len(value) > MAX_VALUE:
                raise ValueError(f"filter value of {key} is longer than {MAX_VALUE} characters")
            filters.append(Filter(key, value))
        if len(filters) > MAX_FILTERS:
            raise ValueError(f"at most {MAX_FILTERS} filters per event")
        alternatives.append(Alternative(name, tuple(filters)))
    return Step(text, tuple(alternatives))


def with_occurrences(steps: list[Step]) -> list[Step]:
    """Mark steps that repeat an earlier step's definition with the occurrence they need."""
    out: list[Step] = []
    for step in steps:
        earlier = [i for i, s in enumerate(out) if s.definition() == step.definition()]
        if earlier:
            step = Step(step.label, step.alternatives, same_as=earlier[0], occurrence=len(earlier) + 1)
        out.append(step)
    return out


def shop_funnel() -> list[Step]:
    return with_occurrences([replace(parse_step(text), label=label) for label, text in SHOP_FUNNEL])


def parse_steps(texts: list[str]) -> tuple[list[Step], list[tuple[int, str]]]:
    """Steps from the `step` parameters (the shop funnel when there are none) and per-step errors."""
    if not texts:
        return shop_funnel(), []
    if len(texts) > MAX_STEPS:
        return [], [(MAX_STEPS, f"at most {MAX_STEPS} steps")]
    steps, errors = [], []
    for i, text in enumerate(texts):
        try:
            steps.append(parse_step(text))
        except ValueError as exc:
            errors.append((i, str(exc)))
    return with_occurrences(steps), errors


def unknown_step_names(runner, site: str, steps: list[Step]) -> list[tuple[int, str]]:
    """Steps naming events that are neither standard nor ever sent by the site: (step index, reason)."""
    if not unknown_names(steps, set()):
        return []  # standard event names only: nothing to look up (a query less per funnel)
    rows = runner.run("SELECT DISTINCT name FROM event_names WHERE site = {site:String}", {"site": site}).rows
    return unknown_names(steps, {r[0] for r in rows})


def unknown_names(steps: list[Step], known: set[str]) -> list[tuple[int, str]]:
    """Steps naming events that are neither standard nor ever sent by the site."""
    errors = []
    for i, step in enumerate(steps):
        for name in sorted(step.event_names()):
            if name not in STANDARD_EVENTS and name not in known:
                errors.append((i, f"unknown event name {name!r}: not a standard event and never sent by this site"))
    return errors
