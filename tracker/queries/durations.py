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
    """The shortest spelling parse_duration reads back: 5400 -> '1h30m'."""
    if seconds == 0:
        return "0s"
    out = []
    for unit in ("w", "d", "h", "m", "s"):
        n, seconds = divmod(seconds, UNITS[unit])
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)
