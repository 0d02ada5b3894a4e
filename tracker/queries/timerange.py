"""The `from` / `to` query parameters, read in the site's time zone, and the trend intervals.

A date (2024-05-01) means that whole local day: `from` its start, `to` its end (inclusive).
A date and time (2024-05-01T10:00, or with Z / +02:00) is an instant; `to` is then exclusive.
Without `to` the range ends now; without `from` it starts 30 local days before it ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from tracker.queries.errors import ParamError, ParamErrors

DEFAULT_DAYS = 30
MAX_DAYS = 800  # a bit more than the longest retention people set
INTERVALS = ("day", "week", "month")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SPACED_OFFSET = re.compile(r"^(.*T.*) (\d{2}:\d{2})$")


@dataclass(frozen=True)
class TimeRange:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    timezone: str

    def as_dict(self) -> dict:
        tz = ZoneInfo(self.timezone)
        return {"from": self.start.astimezone(tz).isoformat(), "to": self.end.astimezone(tz).isoformat(), "timezone": self.timezone}


def _instant(text: str, tz: ZoneInfo, end: bool) -> datetime:
    text = text.strip()
    if _DATE.match(text):
        day = date.fromisoformat(text)
        if end:
            day += timedelta(days=1)
        return datetime.combine(day, time(), tz).astimezone(timezone.utc)
    # "+02:00" arrives as " 02:00" when a client leaves the plus sign of the offset unencoded.
    text = _SPACED_OFFSET.sub(r"\1+\2", text).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(timezone.utc)


def parse_range(start_text: str | None, end_text: str | None, tz_name: str, now: datetime | None = None) -> TimeRange:
    """ParamErrors when a bound cannot be read (both are checked), or the range is empty or too long."""
    tz = ZoneInfo(tz_name)
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    errors = []
    end = start = None
    try:
        end = _instant(end_text, tz, end=True) if end_text else now
    except ValueError:
        errors.append(ParamError("to", "must be a date (2024-05-31) or an ISO-8601 date and time"))
    try:
        if start_text:
            start = _instant(start_text, tz, end=False)
        elif end is not None:
            local_end = end.astimezone(tz)
            start_day = (local_end - timedelta(microseconds=1)).date() - timedelta(days=DEFAULT_DAYS - 1)
            start = datetime.combine(start_day, time(), tz).astimezone(timezone.utc)
    except ValueError:
        errors.append(ParamError("from", "must be a date (2024-05-01) or an ISO-8601 date and time"))
    if start is not None and end is not None:
        if start >= end:
            errors.append(ParamError("from", "must be before to"))
        elif end - start > timedelta(days=MAX_DAYS):
            errors.append(ParamError("to", f"the range may span at most {MAX_DAYS} days"))
    if errors:
        raise ParamErrors(errors)
    return TimeRange(start, end, tz_name)


def check_interval(text: str | None) -> str:
    interval = (text or "day").strip().lower()
    if interval not in INTERVALS:
        raise ParamError("interval", f"must be one of {', '.join(INTERVALS)}")
    return interval


def bucket_sql(expression: str, interval: str) -> str:
    """SQL for the local day / ISO week (Monday) / month that holds `expression` (a DateTime);
    the timezone comes from the bound parameter {tz:String}. interval is checked by check_interval."""
    return {
        "day": f"toDate({expression}, {{tz:String}})",
        "week": f"toMonday({expression}, {{tz:String}})",
        "month": f"toStartOfMonth({expression}, {{tz:String}})",
    }[interval]


# --- comparison (`compare`) ---------------------------------------------------------------------
COMPARE_MODES = ("previous", "year")
# A year earlier is 52 weeks earlier, not the same dates: Mondays stay Mondays, so weekday and
# weekend traffic line up (the dates fall a day later in the calendar than a year before, two days
# when a 29 February lies between).
YEAR_SHIFT_DAYS = 364


def _wall_clock(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def _instant_of(wall_clock: datetime, tz: ZoneInfo) -> datetime:
    return wall_clock.replace(tzinfo=tz).astimezone(timezone.utc)


def compared_range(r: TimeRange, mode: str) -> TimeRange:
    """The period `r` is compared with, moved on the site's wall clock so that whole local days stay
    whole local days across a daylight-saving change:
      previous: as long as `r` and ending where `r` starts (7 days before 7 days, a month of 31
                days before 31 days);
      year:     `r` moved back YEAR_SHIFT_DAYS (52 weeks), weekdays aligned."""
    tz = ZoneInfo(r.timezone)
    start, end = _wall_clock(r.start, tz), _wall_clock(r.end, tz)
    if mode == "previous":
        shifted_start, shifted_end = start - (end - start), start
    elif mode == "year":
        shift = timedelta(days=YEAR_SHIFT_DAYS)
        shifted_start, shifted_end = start - shift, end - shift
    else:
        raise ValueError(f"unknown comparison {mode!r}")
    return TimeRange(_instant_of(shifted_start, tz), _instant_of(shifted_end, tz), r.timezone)
