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


def migrate_before(version: int, target: Target, tmp_path) -> None:
    """Apply the migrations older than `version` only (and no views): a database as it was then."""
    older = tmp_path / "migrations"
    older.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if int(path.name.split("_", 1)[0]) < version:
            (older / path.name).write_text(path.read_text())
    migrate(target, directory=older, views_directory=tmp_path / "no-views")


def test_purchases_stored_before_their_table_existed_are_copied_in(clickhouse, database, ch, tmp_path):
    target = Target("127.0.0.1", clickhouse.port, database=database)
    migrate_before(90, target, tmp_path)
    ch.command("INSERT INTO events (site, ts, received_at, event_id, name, transaction_id, value, currency) VALUES "
               "('shop', now64(3), now64(3), generateUUIDv4(), 'purchase', 'T-1', 20, 'EUR'),"
               "('shop', now64(3), now64(3), generateUUIDv4(), 'view_item', '', NULL, '')")
    assert 90 in [m.version for m in migrate(target)]  # with any later ones
    ch.command("INSERT INTO events (site, ts, received_at, event_id, name, transaction_id) VALUES "
               "('shop', now64(3), now64(3), generateUUIDv4(), 'purchase', 'T-2')")  # from here on, the view
    assert ch.query("SELECT transaction_id FROM purchases ORDER BY transaction_id").result_rows == [("T-1",), ("T-2",)]


def test_events_stored_as_low_cardinality_read_the_same_as_plain_strings(clickhouse, database, ch, tmp_path):
    target = Target("127.0.0.1", clickhouse.port, database=database)
    migrate_before(110, target, tmp_path)
    plain = ("hostname", "referrer_host", "source", "medium", "browser", "browser_version", "os", "device", "currency")
    values = ("shop.example", "www.google.com", "google", "organic", "Firefox", "128", "Linux", "desktop", "EUR")
    ch.command(f"INSERT INTO events (site, ts, received_at, event_id, name, {', '.join(plain)}) VALUES "
               f"('shop', now64(3), now64(3), generateUUIDv4(), 'page_view', {', '.join(repr(v) for v in values)})")
    described = dict((r[0], r[1]) for r in ch.query("DESCRIBE TABLE events").result_rows)
    assert {described[c] for c in plain} == {"LowCardinality(String)"}
    assert 110 in [m.version for m in migrate(target)]
    described = dict((r[0], r[1]) for r in ch.query("DESCRIBE TABLE events").result_rows)
    assert {described[c] for c in plain} == {"String"} and described["name"] == described["site"] == "LowCardinality(String)"
    assert ch.query(f"SELECT {', '.join(plain)} FROM events").result_rows == [values]
