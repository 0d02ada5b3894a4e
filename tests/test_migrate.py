from tracker.clickhouse.client import Target
from tracker.clickhouse.migrate import available, migrate, split_statements
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
