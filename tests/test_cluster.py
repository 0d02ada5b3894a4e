"""The schema on a cluster: placement of each statement, `migrate --cluster` on two real shards,
exactly-once inserts of spool segments through the Distributed events table, and deletes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path
from xml.etree import ElementTree

import pytest
from starlette.testclient import TestClient

from tests.cluster_support import CLUSTER, shards  # noqa: F401 - shards: the module's fixture
from tests.conftest import BROWSER_UA, count_rows, wait_for
from tests.test_flusher import stored_row
from tracker.app import create_app
from tracker.clickhouse.client import Target, connect
from tracker.clickhouse.cluster import Cluster
from tracker.clickhouse.migrate import available, migrate_configured, render_view, split_statements, view_files, view_values
from tracker.config import Settings
from tracker.events import COLUMN_NAMES
from tracker.flusher import Flusher
from tracker.sites import Site, add_site
from tracker.spool import Spool
from tracker.tokens import create_token

DB = "shop"


def test_a_sharded_table_becomes_replicated_local_tables_and_a_distributed_table():
    sql = "-- the events\nCREATE TABLE IF NOT EXISTS events\n(\n    visitor_id UInt64\n)\nENGINE = MergeTree\nORDER BY visitor_id"
    local, distributed = Cluster("prod").place(sql, "funnelhouse")
    assert local.sql == (
        "-- the events\nCREATE TABLE IF NOT EXISTS events_local ON CLUSTER `prod`\n(\n    visitor_id UInt64\n)\n"
        "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')\nORDER BY visitor_id"
    )
    assert distributed.sql == (
        "CREATE TABLE IF NOT EXISTS events ON CLUSTER `prod` AS events_local"
        " ENGINE = Distributed(`prod`, `funnelhouse`, events_local, visitor_id)"
    )
    assert local.ddl and distributed.ddl


def test_the_insert_token_window_of_a_table_holds_when_it_is_replicated():
    sql = "CREATE TABLE IF NOT EXISTS events (v UInt64) ENGINE = MergeTree ORDER BY v SETTINGS non_replicated_deduplication_window = 100000"
    local, _ = Cluster("prod").place(sql, "db")
    assert local.sql.endswith(
        "SETTINGS non_replicated_deduplication_window = 100000, replicated_deduplication_window = 100000,"
        " replicated_deduplication_window_seconds = 604800")
    plain, _ = Cluster("prod", replicated=False).place(sql, "db")
    assert plain.sql.endswith("SETTINGS non_replicated_deduplication_window = 100000")


def test_small_tables_get_a_copy_on_every_node_and_keep_their_engine_arguments():
    sql = "CREATE TABLE IF NOT EXISTS sites (site String, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY site"
    [copy] = Cluster("prod").place(sql, "db")
    assert copy.sql == (
        "CREATE TABLE IF NOT EXISTS sites ON CLUSTER `prod` (site String, version UInt64)"
        " ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/{table}', '{replica}', version) ORDER BY site"
    )
    [plain] = Cluster("test", replicated=False, on_cluster=False).place(sql, "db")
    assert plain.sql == sql


def test_views_data_statements_and_retention_are_placed():
    prod = Cluster("prod")
    [view] = prod.place("CREATE OR REPLACE VIEW orders AS\nSELECT * FROM events", "db")
    assert view.sql == "CREATE OR REPLACE VIEW orders ON CLUSTER `prod` AS\nSELECT * FROM events"
    [feed] = prod.place("CREATE MATERIALIZED VIEW IF NOT EXISTS event_names_mv TO event_names AS\nSELECT site FROM events", "db")
    assert feed.sql == "CREATE MATERIALIZED VIEW IF NOT EXISTS event_names_mv ON CLUSTER `prod` TO event_names_local AS\nSELECT site FROM events_local"
    [ttl] = prod.place("ALTER TABLE events MODIFY TTL ts", "db")
    assert ttl.sql == "ALTER TABLE events_local ON CLUSTER `prod` MODIFY TTL ts"
    local, distributed = prod.place("ALTER TABLE events ADD COLUMN IF NOT EXISTS coupon String AFTER currency", "db")
    assert local.sql == "ALTER TABLE events_local ON CLUSTER `prod` ADD COLUMN IF NOT EXISTS coupon String AFTER currency"
    assert distributed.sql == "ALTER TABLE events ON CLUSTER `prod` ADD COLUMN IF NOT EXISTS coupon String AFTER currency"
    assert local.ddl and distributed.ddl
    [delete] = prod.place("DELETE FROM events WHERE visitor_id = 1", "db")
    assert delete.sql == "DELETE FROM events_local ON CLUSTER `prod` WHERE visitor_id = 1" and delete.ddl
    [backfill] = prod.place("INSERT INTO event_names SELECT site FROM events", "db")
    assert backfill == backfill.__class__("INSERT INTO event_names SELECT site FROM events", ddl=False)


def test_every_schema_statement_is_placed_on_a_cluster():
    """Each file's statements are either DDL with ON CLUSTER or an INSERT run once (place() refuses others)."""
    statements = [s for m in available() for s in m.statements()]
    statements += [s for path in view_files() for s in split_statements(path.read_text())]
    for sql in statements:
        for placed in Cluster("prod").place(sql, "db"):
            assert ("ON CLUSTER `prod`" in placed.sql) == placed.ddl, sql


def test_every_statement_placed_for_a_replicated_cluster_parses_in_clickhouse(clickhouse):
    """Replicated tables and ON CLUSTER cannot run here (chdb-core has no Keeper), but ClickHouse's
    own parser checks what the production migration would send."""
    client = connect(Target("127.0.0.1", clickhouse.port, database=""), database=False)
    statements = [s for m in available() for s in m.statements()]
    statements += [s for path in view_files() for s in split_statements(render_view(path.read_text(), view_values()))]
    placed = [p.sql for sql in statements for p in Cluster("prod").place(sql, "funnelhouse")]
    for sql in placed:
        formatted = client.query("SELECT formatQuery({sql:String})", parameters={"sql": sql}).result_rows[0][0]
        assert "ON CLUSTER prod" in formatted or formatted.startswith("INSERT"), formatted
    assert sum("ReplicatedMergeTree('/clickhouse/tables/{shard}/" in sql for sql in placed) == 2  # events_local, purchases_local
    assert sum("ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/" in sql for sql in placed) == 1  # event_names_local


def test_a_statement_without_a_placement_is_refused():
    with pytest.raises(ValueError, match="no cluster placement"):
        Cluster("prod").place("-- INSERT nothing\nRENAME TABLE a TO b", "db")


def test_migrate_cluster_command_creates_sharded_events_on_every_node(shards):
    urls = shards.urls(DB)
    env = {**os.environ, "TRACKER_CLICKHOUSE_URL": urls[0], "TRACKER_DATA_DIR": "/nonexistent"}
    command = [sys.executable, "-m", "tracker", "migrate", "--cluster", CLUSTER, "--plain-merge-tree"]
    command += [arg for url in urls for arg in ("--node", url)]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert f"applied {len(available())} migration(s)" in first.stdout
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.stdout.startswith("applied 0 migration(s)"), again.stderr
    for shard in range(2):
        tables = dict(shards.client(shard, DB).query(
            "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase()").result_rows)
        assert tables["events"] == f"Distributed('{CLUSTER}', '{DB}', 'events_local', visitor_id)"
        assert tables["events_local"].startswith("MergeTree PARTITION BY toYYYYMM(ts)")
        assert "TTL toDateTime(ts) + toIntervalDay(" in tables["events_local"]
        assert tables["event_names"].startswith(f"Distributed('{CLUSTER}', '{DB}', 'event_names_local'")
        assert tables["purchases"] == f"Distributed('{CLUSTER}', '{DB}', 'purchases_local', visitor_id)"
        assert "TTL toDateTime(ts) + toIntervalDay(" in tables["purchases_local"]
        assert tables["sites"].startswith("ReplacingMergeTree(version)")
        assert {"sessions", "carts", "funnel_stages", "traffic_rollup_refresh"} <= set(tables)
        for table in ("events", "events_local"):  # migration 0105's columns: both tables list every column
            described = [r[0] for r in shards.client(shard, DB).query(f"DESCRIBE TABLE {table}").result_rows]
            assert described == list(COLUMN_NAMES), table


def insert_twice(shards, tmp_path, rows: list[bytes], between=lambda: None) -> list[bool]:
    """Spool the rows as one segment and insert it twice through the flusher, calling between()
    after the first attempt; returns whether each attempt succeeded."""
    target = Target.from_url(shards.urls(DB)[0], DB)

    async def scenario() -> list[bool]:
        spool = Spool(tmp_path, 10**9, 10**6, 10**9, 0.0)
        spool.start()
        await spool.append(rows)
        await spool.close()
        flusher = Flusher(spool, target, 1.0)
        [segment] = spool.segments()
        first = await asyncio.to_thread(flusher._insert, segment)
        between()
        second = await asyncio.to_thread(flusher._insert, segment)
        spool.release()
        return [first, second]

    return asyncio.run(scenario())


def shard_counts(shards, site: str) -> list[int]:
    return [shards.client(s, DB).query("SELECT count() FROM events_local WHERE site = {s:String}", parameters={"s": site})
            .result_rows[0][0] for s in range(2)]


def segment_rows(site: str, visitors: int) -> list[bytes]:
    return [stored_row(site=site, ts=1790000000500 + 1000 * v, received_at=1790000001000, name="page_view", visitor_id=v * 7919 + 1,
                       event_id=uuid.UUID("00000000-0000-4000-8000-%012d" % v)) for v in range(visitors)]


def test_a_segment_inserted_twice_through_the_distributed_table_lands_once(shards, tmp_path):
    migrate_configured(Settings(cluster=CLUSTER, cluster_replicated=False, cluster_nodes=",".join(shards.urls(DB))),
                       Target.from_url(shards.urls(DB)[0], DB))
    assert insert_twice(shards, tmp_path, segment_rows("twice", 200)) == [True, True]
    counts = shard_counts(shards, "twice")
    assert sum(counts) == 200 and min(counts) > 50  # one copy, spread over both shards


def test_ga4_item_fields_reach_the_shards_through_the_distributed_table(shards, tmp_path):
    migrate_configured(Settings(cluster=CLUSTER, cluster_replicated=False, cluster_nodes=",".join(shards.urls(DB))),
                       Target.from_url(shards.urls(DB)[0], DB))
    row = stored_row(site="brands", ts=1790000000500, received_at=1790000001000, name="purchase", visitor_id=42,
                     event_id=uuid.UUID("00000000-0000-4000-8000-000000000042"), currency="EUR", coupon="SUMMER", shipping=4.9,
                    **{"items.item_id": ["a"], "items.item_name": ["Socks"], "items.item_category": ["Apparel"],
                       "items.item_category2": ["Wool"], "items.item_category3": [""], "items.item_category4": [""],
                       "items.item_category5": [""], "items.item_brand": ["Woolly"], "items.item_variant": ["grey"],
                       "items.price": [12.5], "items.quantity": [2], "items.discount": [1.25]})
    assert insert_twice(shards, tmp_path, [row]) == [True, True]
    stored = [shards.client(s, DB).query(
        "SELECT coupon, toString(shipping), items.item_brand, items.item_variant, items.item_category2,"
        " arrayMap(d -> toString(d), items.discount) FROM events_local WHERE site = 'brands'").result_rows for s in range(2)]
    assert sorted(stored, key=len) == [[], [("SUMMER", "4.9", ["Woolly"], ["grey"], ["Wool"], ["1.25"])]]


def test_a_retry_after_one_shard_failed_fills_the_gap_without_duplicates(shards, tmp_path):
    """Shard 2 refuses the first attempt (a constraint fails): shard 1 commits its rows, the
    insert fails and the segment stays; the retry with the same token adds only shard 2's rows."""
    migrate_configured(Settings(cluster=CLUSTER, cluster_replicated=False, cluster_nodes=",".join(shards.urls(DB))),
                       Target.from_url(shards.urls(DB)[0], DB))
    shards.client(1, DB).command("ALTER TABLE events_local ADD CONSTRAINT refuse CHECK site != 'outage'")
    landed_on_shard_1 = []

    def repair_shard_2() -> None:
        landed_on_shard_1.append(shards.client(0, DB).query("SELECT count() FROM events_local WHERE site = 'outage'").result_rows[0][0])
        shards.client(1, DB).command("ALTER TABLE events_local DROP CONSTRAINT refuse")

    outcome = insert_twice(shards, tmp_path, segment_rows("outage", 200), between=repair_shard_2)
    assert outcome == [False, True]
    assert 50 < landed_on_shard_1[0] < 150  # the failed attempt had committed shard 1's part
    counts = shard_counts(shards, "outage")
    assert sum(counts) == 200 and counts[0] == landed_on_shard_1[0]
    total = shards.client(0, DB).query("SELECT count(), uniqExact(event_id) FROM events WHERE site = 'outage'").result_rows[0]
    assert total == (200, 200)


def test_the_example_cluster_config_has_what_the_placed_schema_uses():
    config = Path(__file__).resolve().parents[1] / "deploy" / "cluster" / "config.d"
    [cluster] = ElementTree.parse(config / "remote_servers.xml").getroot().find("remote_servers")
    shards = cluster.findall("shard")
    assert len(shards) == 2 and all(s.findtext("internal_replication") == "true" and len(s.findall("replica")) == 2 for s in shards)
    macros = {m.tag for m in ElementTree.parse(config / "macros.xml").getroot().find("macros")}
    placed = " ".join(p.sql for m in available() for s in m.statements() for p in Cluster(cluster.tag).place(s, "db"))
    assert {name for name in ("shard", "replica") if "{" + name + "}" in placed} == macros == {"shard", "replica"}
    assert len(ElementTree.parse(config / "keeper.xml").getroot().find("zookeeper").findall("node")) == 3
    operations = (Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text()
    assert f"python -m tracker migrate --cluster {cluster.tag}" in operations


def test_deleting_a_person_through_the_api_deletes_on_every_shard(shards, make_settings, tmp_path):
    """A Distributed table cannot run a lightweight DELETE: the privacy endpoint deletes from the
    local tables of every shard."""
    database = "privacy"
    settings = make_settings(data_dir=str(tmp_path / "tracker"), **shards.settings_overrides(database))
    with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}) as client:
        ch = shards.client(0, database)
        add_site(ch, Site("shop"))
        assert wait_for(lambda: client.app.state.tracker.sites.get("shop") is not None, True)
        events = [{"name": "page_view", "visitor": f"device-{i}", "url": "https://shop.example/"} for i in range(40)]
        assert client.post("/api/event", json={"site": "shop", "events": events}).json()["accepted"] == 40
        assert wait_for(lambda: count_rows(ch), 40) == 40
        headers = {"authorization": f"Bearer {create_token(ch, 'shop')[1]}"}
        one_per_shard = [shards.client(s, database).query("SELECT min(visitor_id) FROM events_local").result_rows[0][0]
                         for s in range(2)]
        for visitor_id in one_per_shard:
            r = client.delete(f"/api/v1/sites/shop/visitors/{visitor_id}", headers=headers)
            assert r.status_code == 200 and r.json()["deleted_events"] == 1, r.text
        assert count_rows(ch) == 38
        assert [shards.client(s, database).query("SELECT countIf(visitor_id = {v:UInt64}) FROM events_local",
                                                 parameters={"v": one_per_shard[s]}).result_rows[0][0] for s in range(2)] == [0, 0]
