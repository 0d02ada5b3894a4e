"""Top, entry and exit pages against a hand-computed example: page views and visitors per path,
visits split by the 30-minute gap, entry and exit paths of any event kind, the entry conversion
rate, the three lists' orders, limit, and a segment."""

from __future__ import annotations

from tests.query_support import at, day_range, db, event, insert  # noqa: F401 - db is a fixture
from tracker.queries.pages import PageQuery, run_pages
from tracker.queries.segments import parse_segment

HOUR = 3600


def fixture(db) -> None:
    insert(db.ch, [
        # v1, visit A: / then /shoes, buys on /thanks (a purchase, not a page view): enters on /, exits on /thanks.
        event("page_view", at(0), 1, path="/"),
        event("page_view", at(60), 1, path="/shoes"),
        event("purchase", at(120), 1, path="/thanks", transaction_id="o1", value=20, currency="EUR"),
        # v1, visit B two hours later (past the 30-minute gap): /shoes twice.
        event("page_view", at(2 * HOUR), 1, path="/shoes"),
        event("page_view", at(2 * HOUR + 30), 1, path="/shoes"),
        # v2: /shoes, then a view_item on /shoes/red ends the visit there.
        event("page_view", at(HOUR), 2, path="/shoes"),
        event("view_item", at(HOUR + 30), 2, path="/shoes/red", items=[("red", 20, 1)]),
        # v3 from google: /blog only.
        event("page_view", at(3 * HOUR), 3, path="/blog", source="google", medium="organic"),
        # Three days earlier, outside the range.
        event("page_view", at(-3 * 86400), 4, path="/old"),
    ])


def pages(db, **kw) -> dict:
    return run_pages(db.runner, PageQuery("shop", day_range(), **kw))


def rows(result: dict) -> list[tuple]:
    return [(p["path"], p["visitors"], p["views"], p["entries"], p["exits"], p["entry_conversion_rate"]) for p in result["pages"]]


# (path, visitors, views, entries, exits, entry_conversion_rate), worked out from the comments above.
SHOES = ("/shoes", 2, 4, 2, 1, 0.0)
HOME = ("/", 1, 1, 1, 0, 100.0)
BLOG = ("/blog", 1, 1, 1, 1, 0.0)
RED = ("/shoes/red", 0, 0, 0, 1, None)
THANKS = ("/thanks", 0, 0, 0, 1, None)


def test_top_pages_by_visitors_then_views_then_path(db):
    fixture(db)
    result = pages(db)
    assert result["kind"] == "top"
    assert rows(result) == [SHOES, HOME, BLOG]  # paths without page views are not top pages
    assert result["pages_total"] == 3
    assert result["totals"] == {"visitors": 3, "views": 6, "sessions": 4}


def test_entry_pages_by_entries(db):
    fixture(db)
    result = pages(db, kind="entry")
    assert rows(result) == [SHOES, HOME, BLOG] and result["pages_total"] == 3
    assert sum(p["entries"] for p in result["pages"]) == result["totals"]["sessions"] == 4


def test_exit_pages_by_exits_of_any_event_kind(db):
    fixture(db)
    result = pages(db, kind="exit")
    assert rows(result) == [SHOES, BLOG, RED, THANKS] and result["pages_total"] == 4
    assert sum(p["exits"] for p in result["pages"]) == 4


def test_limit_keeps_the_total(db):
    fixture(db)
    result = pages(db, kind="exit", limit=1)
    assert rows(result) == [SHOES] and result["pages_total"] == 4


def test_a_segment_counts_only_its_visits(db):
    fixture(db)
    result = pages(db, segment=parse_segment(["source==google"]))
    assert rows(result) == [BLOG] and result["totals"] == {"visitors": 1, "views": 1, "sessions": 1}
    # path: visits with any event on /thanks, i.e. v1's visit A only.
    result = pages(db, kind="entry", segment=parse_segment(["path==/thanks"]))
    assert rows(result) == [("/", 1, 1, 1, 0, 100.0)]
    assert result["totals"] == {"visitors": 1, "views": 2, "sessions": 1}


def test_an_empty_range(db):
    result = pages(db, kind="entry")
    assert result == {"kind": "entry", "pages": [], "pages_total": 0, "totals": {"visitors": 0, "views": 0, "sessions": 0}}
