"""What a saved funnel is, and the one check of a definition that the API, the CLI and the page share.

A definition is what the funnel endpoint's parameters say, under a name: steps exactly as the
`step` parameter takes them (tracker/queries/steps.py), each with an optional label, and the
window, order mode and unit. Problems come back as field errors with paths (`steps[2].step`),
all at once, for the one error shape (tracker/errors.py).

Event names the site never sent are allowed (a shop may save a funnel before its new event
ships); the answers flag them (`never_sent`), and running the funnel lists them in `missing_events`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from tracker.errors import FieldError
from tracker.queries import funnels
from tracker.queries.durations import format_duration, parse_duration
from tracker.queries.steps import MAX_STEPS, SHOP_FUNNEL, Step, parse_step, with_occurrences

DEFAULT_ID = "shop"  # every site's default funnel: the built-in shop funnel until edited
DEFAULT_NAME = "Shop funnel"
FUNNEL_ID = re.compile(r"^[a-z0-9]{1,32}$")
MAX_NAME = 100
MAX_LABEL = 64
MAX_STEP_TEXT = 4096
MAX_FUNNELS = 100  # per site
FIELDS = ("name", "steps", "window", "order", "unit")


@dataclass(frozen=True)
class SavedFunnel:
    site: str
    funnel_id: str
    name: str
    steps: tuple[tuple[str, str], ...]  # (step text, label; "" = the text itself)
    window_s: int
    order: str = "ordered"
    unit: str = "visitor"
    builtin: bool = False  # the built-in shop funnel: no row stored (never edited, or reset)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def is_default(self) -> bool:
        return self.funnel_id == DEFAULT_ID

    def parsed_steps(self) -> list[Step]:
        """The steps as the funnel query takes them, labelled (texts were checked when saved)."""
        return with_occurrences([replace(parse_step(text), label=label or text.strip()) for text, label in self.steps])

    def as_dict(self, never_sent: set[str] = frozenset()) -> dict:
        """The API's answer; never_sent: event names of the funnel the site never sent."""
        return {
            "funnel_id": self.funnel_id,
            "name": self.name,
            "default": self.is_default,
            "builtin": self.builtin,
            "steps": [
                {"step": text, "label": label or text, "never_sent": sorted(step.event_names() & never_sent)}
                for (text, label), step in zip(self.steps, self.parsed_steps())
            ],
            "window": format_duration(self.window_s),
            "order": self.order,
            "unit": self.unit,
            "updated_at": self.updated_at.isoformat(timespec="milliseconds") if self.updated_at else None,
        }


def builtin_default(site: str, window_s: int) -> SavedFunnel:
    """The shop funnel as a saved funnel (window: TRACKER_FUNNEL_DEFAULT_WINDOW)."""
    return SavedFunnel(site, DEFAULT_ID, DEFAULT_NAME, tuple((text, label) for label, text in SHOP_FUNNEL), window_s, builtin=True)


def _text(value, path: str, limit: int, errors: list[FieldError], required: bool) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.append(FieldError(path, "is required"))
        return ""
    if not isinstance(value, str):
        errors.append(FieldError(path, "must be a string"))
        return ""
    if len(value.strip()) > limit:
        errors.append(FieldError(path, f"must be at most {limit} characters"))
        return ""
    return value.strip()


def _steps(value, errors: list[FieldError]) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list) or not value:
        errors.append(FieldError("steps", f"must be a list of 1 to {MAX_STEPS} steps"))
        return ()
    if len(value) > MAX_STEPS:
        errors.append(FieldError("steps", f"at most {MAX_STEPS} steps"))
        return ()
    out = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            item = {"step": item}
        if not isinstance(item, dict):
            errors.append(FieldError(f"steps[{i}]", 'must be a step like "view_item|select_item" or {"step": ..., "label": ...}'))
            continue
        for key in sorted(set(item) - {"step", "label"}):
            errors.append(FieldError(f"steps[{i}].{str(key)[:64]}", "unknown field; a step has step and label"))
        text = _text(item.get("step"), f"steps[{i}].step", MAX_STEP_TEXT, errors, required=True)
        label = _text(item.get("label"), f"steps[{i}].label", MAX_LABEL, errors, required=False)
        if text:
            try:
                parse_step(text)
            except ValueError as exc:
                errors.append(FieldError(f"steps[{i}].step", str(exc)))
                continue
        out.append((text, label))
    return tuple(out)


def check_definition(body, site: str, funnel_id: str, default_window_s: int) -> tuple[SavedFunnel | None, list[FieldError]]:
    """A saved funnel from a definition {name, steps, window?, order?, unit?}, or the field errors."""
    if not isinstance(body, dict):
        return None, [FieldError("", "must be a JSON object with name, steps, and optionally window, order, unit")]
    errors = [FieldError(str(key)[:64], f"unknown field; a funnel has {', '.join(FIELDS)}") for key in sorted(set(body) - set(FIELDS), key=str)]
    name = _text(body.get("name"), "name", MAX_NAME, errors, required=True)
    steps = _steps(body.get("steps"), errors)
    window_s = default_window_s
    window = body.get("window")
    if window not in (None, ""):
        try:
            window_s = parse_duration(str(window)) if isinstance(window, (str, int)) and not isinstance(window, bool) else -1
            if not funnels.MIN_WINDOW_S <= window_s <= funnels.MAX_WINDOW_S:
                errors.append(FieldError("window", f"must be from {format_duration(funnels.MIN_WINDOW_S)} to "
                                                   f"{format_duration(funnels.MAX_WINDOW_S)}"))
        except ValueError as exc:
            errors.append(FieldError("window", str(exc)))
    choices = {}
    for key, allowed in (("order", funnels.ORDERS), ("unit", funnels.UNITS)):
        value = body.get(key)
        choices[key] = allowed[0] if value in (None, "") else value
        if choices[key] not in allowed:
            errors.append(FieldError(key, f"must be one of {', '.join(allowed)}"))
    if errors:
        return None, errors
    return SavedFunnel(site, funnel_id, name, steps, window_s, choices["order"], choices["unit"]), []


def definition_of(funnel: SavedFunnel) -> dict:
    """The definition check_definition reads back (for partial edits in the CLI)."""
    return {"name": funnel.name, "steps": [{"step": text, "label": label} for text, label in funnel.steps],
            "window": format_duration(funnel.window_s), "order": funnel.order, "unit": funnel.unit}
