"""The compose ClickHouse's users (deploy/clickhouse/users.d) allow what the tracker does with
them: the kept sessions' refresh, which runs with the rights of the tracker user that created it,
and a person's deletion, which pauses that refresh."""

from __future__ import annotations

from tests.deploy.conftest import DATABASE, SITE, TRACKER_PASSWORD
from tracker import kept_sessions
from tracker.clickhouse.client import Target
from tracker.clickhouse.cluster import Runner
from tracker.queries import privacy


def test_the_kept_sessions_refresh_runs_as_the_tracker_user(stack_clickhouse, shop_data):
    tracker = stack_clickhouse.client("tracker", TRACKER_PASSWORD)
    kept_sessions.refresh_now(tracker)
    refreshes = tracker.query("SELECT view, exception FROM system.view_refreshes WHERE database = {db:String} AND view LIKE 'kept%'",
                              parameters={"db": DATABASE}).result_rows
    assert sorted(refreshes) == [(view, "") for view in sorted(kept_sessions.REFRESH_VIEWS)]
    assert tracker.query("SELECT count() FROM kept_sessions FINAL WHERE site = {site:String}", parameters={"site": SITE}).result_rows[0][0] >= 7


def test_the_tracker_user_can_delete_a_persons_data(stack_clickhouse, shop_data):
    runner = Runner(Target("127.0.0.1", stack_clickhouse.port, username="tracker", password=TRACKER_PASSWORD, database=DATABASE))
    # A visitor with no events: every step of a deletion runs, and the shop's data stays as it is.
    assert privacy.delete(runner, privacy.by_visitor(SITE, 12345)) == 0
    status = runner.client.query("SELECT status FROM system.view_refreshes WHERE database = {db:String} AND view = {v:String}",
                                 parameters={"db": DATABASE, "v": kept_sessions.REFRESH_VIEWS[0]}).result_rows
    assert status and status[0][0] != "Disabled"  # started again
