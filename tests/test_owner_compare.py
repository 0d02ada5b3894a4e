"""How the page writes a change and lines up the compared series (tracker/owner/compare.py)."""

from tracker.owner.compare import chart, change_text, days, delta


def test_changes_are_written_with_sign_points_and_percent():
    assert change_text({"change": 4, "change_percent": 50.0}, "count") == "+4 (+50.00 %)"
    assert change_text({"change": -1234, "change_percent": -12.5}, "count") == "-1,234 (-12.50 %)"
    assert change_text({"change": -8.33, "change_percent": -24.99}, "percent") == "-8.33 pp (-24.99 %)"
    assert change_text({"change": 18.0, "change_percent": None}, "money") == "+18.00"
    assert change_text({"change": 0, "change_percent": 0.0}, "count") == "0 (0.00 %)"
    assert change_text({"change": None, "change_percent": None}, "percent") == "–"


def test_the_direction_is_not_only_a_colour():
    up, down, same = (str(delta({"change": c, "change_percent": None})) for c in (3, -3, 0))
    assert 'class="delta up"' in up and "▲" in up and ">up<" in up
    assert 'class="delta down"' in down and "▼" in down and ">down<" in down
    assert "=" in same and ">no change<" in same


def test_the_compared_series_is_lined_up_by_position():
    def period(day, visitors):
        return {"period": day, "visitors": visitors, "orders": 1, "revenue": [{"currency": "EUR", "revenue": 5.0}]}

    stats = {
        "totals": {"revenue": [{"currency": "EUR"}]},
        "series": [period("2024-05-06", 1), period("2024-05-13", 2)],
        "compare": {"mode": "year", "series": [period("2023-05-01", 7), period("2023-05-08", 8), period("2023-05-15", 9)]},
    }
    assert chart(stats) == {"name": "a year earlier", "periods": ["2023-05-01", "2023-05-08"], "visitors": [7, 8],
                            "orders": [1, 1], "revenue": {"EUR": [5.0, 5.0]}}
    stats["compare"]["series"] = stats["compare"]["series"][:1]
    assert chart(stats)["visitors"] == [7, None]
    assert chart({**stats, "compare": None}) is None
    assert days({"from": "2024-05-01T00:00:00+02:00", "to": "2024-06-01T00:00:00+02:00"}) == {"from": "2024-05-01", "to": "2024-05-31"}
