"""Durations in query parameters: `90s`, `30m`, `1h30m`, `7d`, `2w` (or a bare number of seconds)."""

from __future__ import annotations

import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+)([smhdw])")
_WHOLE = re.compile(r"^(?:\d+[smhdw])+$")


def parse_duration(text: str) -> int:
    """Seconds in `text`; ValueError with a reason a user can act on."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    if not _WHOLE.match(text):
        raise ValueError("must be a duration like 90s, 30m, 1h30m, 7d or 2w")
    return sum(int(n) * UNITS[unit] for n, unit in _PART.findall(text))


def format_duration(seconds: int) -> str:
    """A spelling parse_duration reads back: 5400 -> '1h30m', 604800 -> '1w', 90 days -> '90d'
    (weeks only for whole weeks, which read better than '12w6d')."""
    if seconds == 0:
        return "0s"
    units = ("w", "d", "h", "m", "s") if seconds % UNITS["w"] == 0 else ("d", "h", "m", "s")
    out = []
    for unit in units:
        n, seconds = divmod(seconds, UNITS[unit])
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)
