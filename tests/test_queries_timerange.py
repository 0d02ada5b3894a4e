"""`from` / `to` in the site's time zone."""

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from tracker.queries.errors import ParamErrors
from tracker.queries.timerange import YEAR_SHIFT_DAYS, check_interval, compared_range, parse_range
from tracker.queries.errors import ParamError

NOW = datetime(2024, 7, 15, 12, 0, tzinfo=timezone.utc)


def test_dates_are_whole_local_days():
    r = parse_range("2024-07-01", "2024-07-02", "Europe/Berlin", NOW)
    assert (r.start, r.end) == (datetime(2024, 6, 30, 22, tzinfo=timezone.utc), datetime(2024, 7, 2, 22, tzinfo=timezone.utc))


def test_instants_with_and_without_offset():
    r = parse_range("2024-07-01T10:00:00Z", "2024-07-01T12:00", "America/New_York", NOW)
    assert (r.start, r.end) == (datetime(2024, 7, 1, 10, tzinfo=timezone.utc), datetime(2024, 7, 1, 16, tzinfo=timezone.utc))
    # an unencoded "+" in a URL arrives as a space
    assert parse_range("2024-07-01T10:00:00 02:00", None, "UTC", NOW).start == datetime(2024, 7, 1, 8, tzinfo=timezone.utc)


def test_defaults_are_the_last_30_local_days_up_to_now():
    r = parse_range(None, None, "UTC", NOW)
    assert (r.start, r.end) == (datetime(2024, 6, 16, tzinfo=timezone.utc), NOW)


@pytest.mark.parametrize("start,end,fields", [
    ("2024-02-30", None, ["from"]), ("x", "y", ["to", "from"]), ("2024-07-02", "2024-07-01", ["from"]),
    ("2020-01-01", "2024-01-01", ["to"]),
])
def test_bad_ranges(start, end, fields):
    with pytest.raises(ParamErrors) as caught:
        parse_range(start, end, "UTC", NOW)
    assert [e.field for e in caught.value.errors] == fields


def test_intervals():
    assert check_interval(None) == "day" and check_interval("Week") == "week"
    with pytest.raises(ParamError):
        check_interval("hour")


# --- compare -------------------------------------------------------------------------------------


def _local(r) -> tuple[str, str]:
    tz = ZoneInfo(r.timezone)
    return r.start.astimezone(tz).isoformat(), r.end.astimezone(tz).isoformat()


def test_the_previous_period_is_as_many_local_days_right_before():
    # A week that ends on the night clocks go forward (31 March 2024 in Berlin, 167 hours long).
    r = parse_range("2024-03-25", "2024-03-31", "Europe/Berlin", NOW)
    assert _local(compared_range(r, "previous")) == ("2024-03-18T00:00:00+01:00", "2024-03-25T00:00:00+01:00")
    r = parse_range("2024-04-01", "2024-04-07", "Europe/Berlin", NOW)
    assert _local(compared_range(r, "previous")) == ("2024-03-25T00:00:00+01:00", "2024-04-01T00:00:00+02:00")
    r = parse_range("2024-07-01T10:00:00Z", "2024-07-01T12:30:00Z", "UTC", NOW)
    assert _local(compared_range(r, "previous")) == ("2024-07-01T07:30:00+00:00", "2024-07-01T10:00:00+00:00")


def test_a_year_earlier_is_52_weeks_earlier_on_the_same_weekdays():
    assert YEAR_SHIFT_DAYS == 52 * 7
    r = parse_range("2024-05-06", "2024-05-12", "Europe/Berlin", NOW)  # Monday to Sunday
    earlier = compared_range(r, "year")
    assert _local(earlier) == ("2023-05-08T00:00:00+02:00", "2023-05-15T00:00:00+02:00")
    assert date(2023, 5, 8).weekday() == date(2024, 5, 6).weekday() == 0
    r = parse_range("2024-03-01", "2024-03-07", "America/New_York", NOW)  # across 29 February
    assert _local(compared_range(r, "year")) == ("2023-03-03T00:00:00-05:00", "2023-03-10T00:00:00-05:00")
    with pytest.raises(ValueError):
        compared_range(r, "decade")
