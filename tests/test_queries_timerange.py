"""`from` / `to` in the site's time zone."""

from datetime import datetime, timezone

import pytest

from tracker.queries.errors import ParamErrors
from tracker.queries.timerange import check_interval, parse_range
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
