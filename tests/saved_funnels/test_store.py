"""Saved funnels in ClickHouse: versioned rows, the newest wins, removal hides, the default overridden and reset."""

from tests.query_support import db  # noqa: F401 - a fixture (a migrated database)
from tracker.saved_funnels import store
from tracker.saved_funnels.definition import SavedFunnel

WEEK = 7 * 86400


def test_the_newest_version_wins_and_removal_hides_it(db):
    first = store.save_funnel(db.ch, SavedFunnel("shop", "f1", "Carts", (("add_to_cart", ""),), WEEK))
    edited = store.save_funnel(db.ch, SavedFunnel("shop", "f1", "Carts and views", (("view_item", "V"), ("add_to_cart", "")), 3600), first)
    assert edited.created_at == first.created_at and edited.updated_at >= first.updated_at
    store.save_funnel(db.ch, SavedFunnel("other", "f2", "Elsewhere", (("*", ""),), WEEK))
    assert store.get_funnel(db.ch, "shop", "f1", WEEK) == edited
    assert [f.funnel_id for f in store.list_funnels(db.ch, "shop", WEEK)] == ["shop", "f1"]  # the built-in default first
    assert store.get_funnel(db.ch, "shop", "f2", WEEK) is None  # another site's
    store.remove_funnel(db.ch, edited)
    assert store.get_funnel(db.ch, "shop", "f1", WEEK) is None
    db.ch.command("OPTIMIZE TABLE saved_funnels FINAL")  # merged: still gone, the other site's still there
    assert [f.funnel_id for f in store.list_funnels(db.ch, "shop", WEEK)] == ["shop"]
    assert [f.name for f in store.list_funnels(db.ch, "other", WEEK)] == ["Shop funnel", "Elsewhere"]


def test_the_default_is_overridden_by_a_row_and_back_when_it_is_removed(db):
    assert store.get_funnel(db.ch, "shop", "shop", WEEK).builtin
    own = store.save_funnel(db.ch, SavedFunnel("shop", "shop", "Ours", (("*", "visit"),), WEEK))
    assert store.get_funnel(db.ch, "shop", "shop", WEEK) == own and not own.builtin
    assert store.list_funnels(db.ch, "shop", WEEK) == [own]
    store.remove_funnel(db.ch, own)
    assert store.get_funnel(db.ch, "shop", "shop", WEEK).builtin
    assert store.name_taken([own], " OURS ", "other") and not store.name_taken([own], "Ours", "shop")
