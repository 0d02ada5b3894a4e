"""Filtering the owner's page by a value shown on it: a link on the value (a source, a page, a
device, a product...) adds `filter=FIELD==VALUE` to the page's URL; every panel whose endpoint
takes `filter` then shows only those visits (tracker/owner/view.py), and the filter is shown as a
chip that removes it again.

In a template (templates/app/_filters.html):

    {% from "app/_filters.html" import filter_link with context %}
    {{ filter_link("source", c.value) }}              the value, as a link that filters by it
    {{ filter_link("path", p.path, p.path | e) }}     with other link text

In Python: filter_text(field, value) is the API's filter text, link(view, field, value) the URL.
A field is any the API's `filter` takes (tracker/queries/segments.py FIELDS, props.NAME).
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.owner.view import PageView
from tracker.queries.segments import SegmentFilter, parse_filter

# How a chip names a filter's field.
LABELS = {"source": "Source", "medium": "Medium", "campaign": "Campaign", "device": "Device", "browser": "Browser",
          "os": "OS", "path": "Page"}


def filter_text(field: str, value: str) -> str:
    """The `filter` text selecting visits whose `field` is `value` (| and \\ escaped)."""
    return str(SegmentFilter(field, False, (value,)))


def link(view: PageView, field: str, value: str) -> str:
    """The page's URL with the filter field==value added (its other filters, days and comparison kept)."""
    return view.with_filter(filter_text(field, value)).url()


@dataclass(frozen=True)
class Chip:
    text: str  # the filter as the API takes it
    label: str  # "Source is google"
    remove_url: str


def _label(text: str) -> str:
    flt = parse_filter(text)
    field = LABELS.get(flt.field) or (f"Property {flt.prop}" if flt.prop else flt.field)
    values = " or ".join(v or "(none)" for v in flt.values)
    return f"{field} {'is not' if flt.negate else 'is'} {values}"


def chips(view: PageView) -> list[Chip]:
    """The page's filters, each with its remove link; none while a filter cannot be read (the form says why)."""
    if "filter" in view.errors:
        return []
    return [Chip(text, _label(text), view.without_filter(text).url()) for text in view.filters]


def install(env) -> None:
    """For the macros of templates/app/_filters.html."""
    env.globals.update(filter_url=link, filter_chips=chips)
