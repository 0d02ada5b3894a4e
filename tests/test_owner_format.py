"""How the pages write figures (tracker/owner/format.py): times in seconds in the unit that reads best."""

from tracker.owner.format import NONE, span


def test_span_picks_the_unit_and_keeps_it_with_the_number():
    assert [span(s) for s in (0, 59.4, 60, 3599, 3600, 86399, 86400, 1.5 * 86400, 400 * 86400)] == [
        "0\u00a0s", "59\u00a0s", "1\u00a0min", "60\u00a0min", "1.0\u00a0h", "24.0\u00a0h", "1.0\u00a0d", "1.5\u00a0d", "400.0\u00a0d"]
    assert span(None) == NONE
