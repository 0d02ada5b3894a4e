"""`python -m tracker funnel add | list | edit | remove` as a shop owner runs them, against a real ClickHouse."""

from __future__ import annotations

import re

from tests.query_support import T0, db, event, insert  # noqa: F401 - db is a fixture (a migrated database)
from tests.test_cli_webhook import cli
from tracker.saved_funnels.store import get_funnel, list_funnels

WEEK = 7 * 86400


def test_add_list_edit_and_remove(db, clickhouse, database, tmp_path):
    run = lambda *argv: cli(clickhouse, database, tmp_path, *argv)  # noqa: E731
    assert run("site", "add", "shop").returncode == 0
    insert(db.ch, [event("page_view", T0, 1, site="shop")])
    added = run("funnel", "add", "shop", "Pricing to cart", "--step", "page_view;path=/pricing", "--label", "Pricing",
                "--step", "add_to_cart|signup", "--window", "1d", "--unit", "session")
    assert added.returncode == 0, added.stderr
    funnel_id = re.match(r"funnel ([a-z0-9]+) saved for shop: Pricing to cart \(2 steps, window 1d, ordered, per session\)", added.stdout).group(1)
    assert "note: step 2 (add_to_cart|signup) names events this site never sent: add_to_cart, signup" in added.stderr
    saved = get_funnel(db.ch, "shop", funnel_id, WEEK)
    assert (saved.name, saved.steps, saved.window_s, saved.order, saved.unit) == (
        "Pricing to cart", (("page_view;path=/pricing", "Pricing"), ("add_to_cart|signup", "")), 86400, "ordered", "session")

    listed = run("funnel", "list", "shop")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["shop", "Shop", "funnel"] and "interest (view_item|select_item)" in lines[0]
    assert lines[1].startswith(funnel_id) and "Pricing (page_view;path=/pricing) -> add_to_cart|signup" in lines[1]

    # only what is given changes; --step replaces every step
    assert run("funnel", "edit", "shop", funnel_id, "--order", "strict").returncode == 0
    assert get_funnel(db.ch, "shop", funnel_id, WEEK).steps == saved.steps
    assert run("funnel", "edit", "shop", funnel_id, "--name", "Carts", "--step", "add_to_cart").returncode == 0
    edited = get_funnel(db.ch, "shop", funnel_id, WEEK)
    assert (edited.name, edited.steps, edited.order, edited.window_s) == ("Carts", (("add_to_cart", ""),), "strict", 86400)

    # the default funnel: edited, then back to the built-in one
    assert run("funnel", "edit", "shop", "shop", "--window", "2d").returncode == 0
    default = get_funnel(db.ch, "shop", "shop", WEEK)
    assert (default.builtin, default.window_s, len(default.steps)) == (False, 2 * 86400, 6)
    reset = run("funnel", "remove", "shop", "shop")
    assert reset.returncode == 0 and "reset to the built-in shop funnel" in reset.stdout
    assert get_funnel(db.ch, "shop", "shop", WEEK).builtin

    removed = run("funnel", "remove", "shop", funnel_id)
    assert removed.returncode == 0 and "removed" in removed.stdout
    assert [f.funnel_id for f in list_funnels(db.ch, "shop", WEEK)] == ["shop"]
    gone = run("funnel", "remove", "shop", funnel_id)
    assert gone.returncode == 2 and f"this site has no saved funnel '{funnel_id}'" in gone.stderr


def test_bad_definitions_are_refused_with_the_field_and_reason(db, clickhouse, database, tmp_path):
    run = lambda *argv: cli(clickhouse, database, tmp_path, *argv)  # noqa: E731
    run("site", "add", "shop")
    for argv, reason in [
        (("funnel", "add", "nope", "x", "--step", "*"), "there is no site 'nope'"),
        (("funnel", "add", "shop", "x", "--step", "page_view;colour=red"), "steps[0].step: cannot filter on 'colour'"),
        (("funnel", "add", "shop", "x", "--step", "*", "--window", "100d"), "window: must be from 1s to 90d"),
        (("funnel", "add", "shop", " ", "--step", "*"), "name: is required"),
        (("funnel", "add", "shop", "x", "--step", "*", "--label", "a", "--label", "b"), "more --label than --step"),
        (("funnel", "edit", "shop", "nope", "--window", "1d"), "this site has no saved funnel 'nope'"),
    ]:
        out = run(*argv)
        assert out.returncode == 2 and reason in out.stderr and out.stdout == "", (argv, out.stderr)
    assert [f.funnel_id for f in list_funnels(db.ch, "shop", WEEK)] == ["shop"]
