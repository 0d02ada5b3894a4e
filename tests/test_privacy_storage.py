"""What is stored about a person: no raw IP, no full user agent; old events expire by TTL."""

from tests.conftest import BROWSER_UA, count_rows, wait_for
from tracker.clickhouse.client import Target
from tracker.clickhouse.migrate import migrate
from tracker.events import COLUMN_NAMES


def test_no_raw_ip_or_user_agent_is_stored(client, ch):
    headers = {"user-agent": BROWSER_UA}
    assert client.post("/api/event", json={"site": "demo", "name": "page_view", "url": "https://shop.example/"}, headers=headers).status_code == 202
    assert wait_for(lambda: count_rows(ch), 1) == 1
    row = ch.query("SELECT * FROM events").result_rows[0]
    stored = " ".join(str(v) for v in row)
    assert "testclient" not in stored  # Starlette's TestClient address
    assert "127.0.0.1" not in stored
    assert BROWSER_UA not in stored and "Gecko/20100101" not in stored
    assert "ip" not in COLUMN_NAMES and "user_agent" not in COLUMN_NAMES


def test_events_older_than_the_retention_are_deleted(clickhouse, database, ch):
    target = Target("127.0.0.1", clickhouse.port, database=database)
    migrate(target, retention_days=30)
    ch.command(
        "INSERT INTO events (site, ts, received_at, event_id, name) VALUES "
        "('demo', now64(3) - INTERVAL 40 DAY, now64(3), generateUUIDv4(), 'old'),"
        "('demo', now64(3) - INTERVAL 10 DAY, now64(3), generateUUIDv4(), 'recent')"
    )
    ch.command("OPTIMIZE TABLE events FINAL")  # TTL is applied when parts merge
    assert [r[0] for r in ch.query("SELECT name FROM events").result_rows] == ["recent"]


def test_purchases_expire_with_the_events(clickhouse, database, ch):
    target = Target("127.0.0.1", clickhouse.port, database=database)
    migrate(target, retention_days=30)
    ch.command(
        "INSERT INTO events (site, ts, received_at, event_id, name, transaction_id) VALUES "
        "('demo', now64(3) - INTERVAL 40 DAY, now64(3), generateUUIDv4(), 'purchase', 'old'),"
        "('demo', now64(3) - INTERVAL 10 DAY, now64(3), generateUUIDv4(), 'purchase', 'recent')"
    )
    ch.command("OPTIMIZE TABLE purchases FINAL")  # TTL is applied when parts merge
    assert [r[0] for r in ch.query("SELECT transaction_id FROM purchases").result_rows] == ["recent"]
