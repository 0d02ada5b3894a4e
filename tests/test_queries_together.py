"""tracker/queries/together.py: one query answers several parts from one CTE, each part's rows as
an array of tuples in a column named after it."""

from tests.query_support import db  # noqa: F401 - db is a fixture
from tracker.queries.together import one_query


def test_each_part_gets_its_rows_of_the_one_cte(db):
    sql = one_query("numbers_seen", "SELECT number, number * {k:UInt8} AS times_k FROM numbers(6)", {
        "evens": "SELECT number, times_k FROM numbers_seen WHERE number % 2 = 0",
        "big": "SELECT number FROM numbers_seen WHERE times_k > 8",
        "none": "SELECT number FROM numbers_seen WHERE number > 100",
    })
    result = db.runner.run(sql, {"k": 3})
    assert result.columns == ("evens", "big", "none")
    (evens, big, none), = result.rows
    assert sorted(evens) == [(0, 0), (2, 6), (4, 12)] and sorted(big) == [(3,), (4,), (5,)] and none == []
