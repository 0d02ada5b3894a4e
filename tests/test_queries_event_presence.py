"""Which of a funnel's event names a site sent in a range: names never sent, sent only before or
only after the range, or by another site, are missing; a name with one event in the range is not."""

from __future__ import annotations

from datetime import timedelta

from tests.query_support import T0, at, day_range, db, event, insert  # noqa: F401 - db is a fixture
from tracker.queries.event_presence import missing_in_range, never_sent


def test_missing_in_range_looks_at_the_range_and_the_site_only(db):
    insert(db.ch, [
        event("view_item", at(0), 1),
        event("purchase", at(-3 * 86400), 1),  # before the range only
        event("add_to_cart", at(5 * 86400), 1),  # after the range only
        event("begin_checkout", at(60), 2, site="other"),  # in the range, but another site's
        event("add_payment_info", at(-3 * 86400), 1), event("add_payment_info", at(3600), 3),  # before and in it
    ])
    names = ["add_payment_info", "add_to_cart", "begin_checkout", "purchase", "select_item", "view_item"]
    assert missing_in_range(db.runner, "shop", day_range(), names)() == {"add_to_cart", "begin_checkout", "purchase", "select_item"}
    # Ever sent, whatever the range: only select_item and (for this site) begin_checkout never came.
    assert never_sent(db.ch, "shop", names) == {"begin_checkout", "select_item"}


def test_missing_in_range_when_the_site_sent_nothing_of_them(db):
    insert(db.ch, [event("page_view", at(0), 1)])
    assert missing_in_range(db.runner, "shop", day_range(), ["purchase", "view_item"])() == {"purchase", "view_item"}
    assert missing_in_range(db.runner, "shop", day_range(), [])() == set()


def test_a_name_whose_last_event_is_the_range_start_is_present(db):
    insert(db.ch, [event("purchase", T0 - timedelta(days=1), 1)])  # day_range() starts exactly here
    assert missing_in_range(db.runner, "shop", day_range(), ["purchase"])() == set()
