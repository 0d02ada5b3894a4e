"""How a change from the compared period is computed (tracker/queries/compare.py)."""

from tracker.queries.compare import change, revenue_changes


def test_a_change_is_the_difference_and_its_share_of_the_compared_figure():
    assert change(12, 8) == {"change": 4, "change_percent": 50.0}
    assert change(6, 8) == {"change": -2, "change_percent": -25.0}
    assert change(12.5, 10.1) == {"change": 2.4, "change_percent": 23.76}  # not 2.4000000000000004
    assert change(5, 0) == {"change": 5, "change_percent": None}  # nothing to divide by
    assert change(0, 0) == {"change": 0, "change_percent": None}
    assert change(None, 25.0) == change(25.0, None) == {"change": None, "change_percent": None}


def test_revenue_changes_cover_the_currencies_of_both_periods():
    now = [{"currency": "EUR", "orders": 3, "revenue": 42.0, "average_order_value": 14.0}]
    before = [{"currency": "SEK", "orders": 1, "revenue": 120.0, "average_order_value": 120.0},
              {"currency": "EUR", "orders": 2, "revenue": 24.0, "average_order_value": 12.0}]
    assert revenue_changes(now, before) == [
        {"currency": "EUR", "orders": {"change": 1, "change_percent": 50.0}, "revenue": {"change": 18.0, "change_percent": 75.0},
         "average_order_value": {"change": 2.0, "change_percent": 16.67}},
        {"currency": "SEK", "orders": {"change": -1, "change_percent": -100.0}, "revenue": {"change": -120.0, "change_percent": -100.0},
         "average_order_value": {"change": None, "change_percent": None}},
    ]
