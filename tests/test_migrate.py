from tracker.clickhouse.client import Target
from tracker.clickhouse.migrate import MIGRATIONS_DIR, available, migrate, split_statements
from tracker.events import COLUMNS


def test_migrations_apply_once_and_are_recorded(clickhouse, database, ch):
    target = Target("127.0.0.1", clickhouse.port, database=database)
    first = migrate(target, retention_days=90)
    assert [m.version for m in first] == [m.version for m in available()]
    assert migrate(target, retention_days=90) == []
    versions = [r[0] for r in ch.query("SELECT version FROM schema_migrations ORDER BY version").result_rows]
    assert versions == [m.version for m in available()]
    engine = ch.query("SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'events'").result_rows[0][0]
    assert "toIntervalDay(_CAST(90" in engine


def test_events_table_has_exactly_the_declared_columns(clickhouse, database, ch):
    migrate(Target("127.0.0.1", clickhouse.port, database=database))
    described = [(r[0], r[1]) for r in ch.query("DESCRIBE TABLE events").result_rows]
    assert described == [(name, kind) for name, kind, _ in COLUMNS]


def test_statement_splitting_ignores_comment_only_chunks():
    sql = "-- head\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n-- only a comment;\nSELECT 1;"
    assert split_statements(sql) == ["-- head\nCREATE TABLE a (x UInt8) ENGINE = Memory", "SELECT 1"]


def test_purchases_stored_before_their_table_existed_are_copied_in(clickhouse, database, ch, tmp_path):
    older = tmp_path / "migrations"
    older.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if int(path.name.split("_", 1)[0]) < 90:
            (older / path.name).write_text(path.read_text())
    target = Target("127.0.0.1", clickhouse.port, database=database)
    migrate(target, directory=older, views_directory=tmp_path / "no-views")
    ch.command("INSERT INTO events (site, ts, received_at, event_id, name, transaction_id, value, currency) VALUES "
               "('shop', now64(3), now64(3), generateUUIDv4(), 'purchase', 'T-1', 20, 'EUR'),"
               "('shop', now64(3), now64(3), generateUUIDv4(), 'view_item', '', NULL, '')")
    assert 90 in [m.version for m in migrate(target)]  # with any later ones
    ch.command("INSERT INTO events (site, ts, received_at, event_id, name, transaction_id) VALUES "
               "('shop', now64(3), now64(3), generateUUIDv4(), 'purchase', 'T-2')")  # from here on, the view
    assert ch.query("SELECT transaction_id FROM purchases ORDER BY transaction_id").result_rows == [("T-1",), ("T-2",)]
