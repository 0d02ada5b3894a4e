"""Every ClickHouse query of the Grafana dashboards (panels and variables), expanded as Grafana and
the ClickHouse plugin would (tests/deploy/grafana.py), runs as the stack's read-only `grafana`
user on the seeded shop journeys, and returns the columns its panel type needs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.deploy import grafana
from tests.deploy.conftest import SITE
from tracker.config import Settings

CLICKHOUSE = "grafana-clickhouse-datasource"
INTERVAL_S = 300  # what Grafana would pick for a day on a ~300 px wide panel
NUMERIC = ("UInt", "Int", "Float", "Decimal")
SHOP = grafana.dashboards()["shop.json"]
TARGETS = list(grafana.targets(CLICKHOUSE))


def _run(stack_clickhouse, shop_data, sql: str):
    end = datetime.fromtimestamp(shop_data.now_ms / 1000, timezone.utc) + timedelta(minutes=1)
    variables = {**grafana.constants(SHOP), "site": SITE}
    expanded = grafana.expand_clickhouse(sql, variables, end - timedelta(days=1), end, INTERVAL_S)
    return stack_clickhouse.grafana().query(expanded)


def _kinds(result) -> list[str]:
    kinds = []
    for t in result.column_types:
        name = t.name.removeprefix("Nullable(").removeprefix("LowCardinality(")
        kinds.append("time" if name.startswith("DateTime") else "number" if name.startswith(NUMERIC) else "text")
    return kinds


def test_every_clickhouse_panel_has_a_sql_target():
    assert len(TARGETS) >= 10
    for name, panel, target in TARGETS:
        assert target["editorType"] == "sql" and target["rawSql"].strip(), (name, panel["title"])
        assert target["datasource"]["uid"] == "funnelhouse-clickhouse"


@pytest.mark.parametrize("panel,target", [(p, t) for _, p, t in TARGETS], ids=[f"{p['title']}-{t['refId']}" for _, p, t in TARGETS])
def test_panel_query_returns_what_its_panel_shows(stack_clickhouse, shop_data, panel, target):
    result = _run(stack_clickhouse, shop_data, target["rawSql"])
    kinds = _kinds(result)
    assert result.result_rows, f"{panel['title']}: no rows for the seeded shop"
    if panel["type"] == "timeseries":
        assert target["format"] == 0 and target["queryType"] == "timeSeries"
        assert kinds[0] == "time" and result.column_names[0] == "time", result.column_names
        assert "number" in kinds[1:], result.column_names
        times = [row[0] for row in result.result_rows]
        assert times == sorted(times)  # Grafana wants time series in time order
    elif panel["type"] == "stat":
        assert kinds.count("number") == 1 and "time" not in kinds, result.column_names
    elif panel["type"] == "barchart":
        assert "text" in kinds and "number" in kinds, result.column_names
        assert panel["options"]["xField"] in result.column_names
    else:
        assert panel["type"] == "table" and result.column_names
    if panel["type"] != "timeseries":
        assert target["format"] == 1 and target["queryType"] == "table"


def _panel_rows(stack_clickhouse, shop_data, title: str) -> list[tuple]:
    (target,) = [t for _, p, t in TARGETS if p["title"] == title]
    return _run(stack_clickhouse, shop_data, target["rawSql"]).result_rows


def test_shop_figures_match_the_seeded_journeys(stack_clickhouse, shop_data):
    """tests/deploy/conftest.py JOURNEYS: 7 visitors, 3 orders (59.90 + 13.50 + 120 EUR), 3 carts left."""
    rows = lambda title: _panel_rows(stack_clickhouse, shop_data, title)  # noqa: E731
    assert rows("Visitors") == [(7,)]
    assert rows("Sessions") == [(7,)]
    assert rows("Orders") == [(3,)]
    assert rows("Revenue") == [("EUR", pytest.approx(193.4))]
    assert rows("Abandoned carts") == [(3,)]
    assert rows("Abandoned cart value") == [("EUR", pytest.approx(120 + 3 * 4.5 + 59.9)), ("USD", pytest.approx(25.0))]
    assert rows("Shop funnel") == [
        ("awareness", 7), ("interest", 5), ("consideration", 4), ("intent", 2), ("purchase", 2), ("repurchase", 1),
    ]
    conversion = {(r[0], r[1]): r[2:] for r in rows("Conversion by source and campaign")}
    assert conversion[("google", "spring")] == (2, 1, 50.0)
    assert conversion[("direct", "")] == (3, 1, pytest.approx(33.3))
    top = {r[0]: r for r in rows("Top products added but not bought")}
    assert top["sku-shoes"][1:5] == ("Trail shoes", 1, 1, "EUR")
    assert set(top) == {"sku-bag", "sku-socks", "sku-shoes", "sku-hat"}


def test_site_variable_lists_the_sites(stack_clickhouse, shop_data):
    (variable,) = [v for v in SHOP["templating"]["list"] if v["name"] == "site"]
    assert variable["datasource"]["uid"] == "funnelhouse-clickhouse"
    assert _run(stack_clickhouse, shop_data, variable["query"]).result_rows == [(SITE,)]


def test_every_shop_query_is_bound_to_the_site_variable():
    for _, panel, target in TARGETS:
        assert "${site:sqlstring}" in target["rawSql"], panel["title"]


def test_the_shops_prometheus_panel_is_bound_to_the_site_and_compares_a_week_ago():
    (panel,) = [p for p in grafana.panels(SHOP) if p["datasource"]["type"] == "prometheus"]
    exprs = [t["expr"] for t in panel["targets"]]
    assert all('site="${site}"' in e and "tracker_shop_checkout_conversion" in e for e in exprs)
    assert [e.endswith("offset 1w)") for e in exprs] == [False, True]
    assert exprs[1] == exprs[0].replace("})", "} offset 1w)")  # the same series, a week earlier


def test_dashboard_constants_are_the_tracker_defaults():
    defaults = Settings()
    window = {"m": 60, "h": 3600, "d": 86400}[defaults.funnel_default_window[-1]] * int(defaults.funnel_default_window[:-1])
    assert grafana.constants(SHOP) == {
        "session_gap_s": str(defaults.session_gap_minutes * 60),
        "abandoned_idle_s": str(defaults.abandoned_idle_minutes * 60),
        "cart_lookback_days": str(defaults.cart_lookback_days),
        "funnel_window_s": str(window),
    }


def test_grafana_user_reads_but_cannot_write(stack_clickhouse, shop_data):
    from clickhouse_connect.driver.exceptions import DatabaseError

    reader = stack_clickhouse.grafana()
    assert reader.query("SELECT count() FROM events", settings={"max_execution_time": 30}).result_rows == [(shop_data.accepted,)]
    for statement in ("INSERT INTO events (site) VALUES ('x')", "DROP TABLE events", "ALTER TABLE events DELETE WHERE 1",
                      "CREATE TABLE t (a UInt8) ENGINE = Memory"):
        with pytest.raises(DatabaseError):
            reader.command(statement)
    with pytest.raises(DatabaseError, match="api_tokens"):  # the query API's token hashes stay private
        reader.query("SELECT * FROM api_tokens")
    with pytest.raises(DatabaseError, match="webhook_outbox"):  # its errors may name a receiver's URL
        reader.query("SELECT error, payload FROM webhook_outbox")
    assert reader.query("SELECT count() FROM webhook_outbox WHERE kind = 'delivered'").result_rows == [(0,)]  # what the carts views join on
    with pytest.raises(DatabaseError, match="max_execution_time"):
        reader.query("SELECT 1", settings={"max_execution_time": 10_000})
