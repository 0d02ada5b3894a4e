"""Durations in query parameters."""

import pytest

from tracker.queries.durations import format_duration, parse_duration


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("30m", 1800), ("1h30m", 5400), ("7d", 604800), ("2w", 1209600), ("45", 45), (" 1H ", 3600)])
def test_parse(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1x", "h", "1.5h", "-1h", "1h 30m"])
def test_parse_refuses(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("seconds", [1, 59, 60, 3600, 5400, 86400, 604800, 90 * 86400, 1209601])
def test_format_reads_back(seconds):
    assert parse_duration(format_duration(seconds)) == seconds
    assert format_duration(604800) == "1w" and format_duration(90 * 86400) == "90d"
