"""deploy/prometheus: promtool checks the config and runs the alerts' unit tests, and a real
Prometheus (Debian's package) scrapes a real tracker with the project's scrape config, changed only
in its target address, then evaluates every PromQL expression of the dashboards and alert rules."""

from __future__ import annotations

import shutil
import subprocess
import time

import httpx
import pytest
import yaml

from tests.deploy import grafana
from tests.deploy.conftest import DEPLOY, SITE
from tests.processes import free_port

PROMETHEUS_DIR = DEPLOY / "prometheus"
ALERT_RULES = [rule for group in yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"] for rule in group["rules"]]
DASHBOARD_EXPRESSIONS = [(panel["title"], target["expr"]) for _, panel, target in grafana.targets("prometheus")]
WEEK_AGO = " offset 1w"  # the Shop dashboard's comparison: a fresh Prometheus has no week of history


def _promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=120)


def test_promtool_checks_config_and_rules():
    checked = _promtool("check", "config", "prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{len(ALERT_RULES)} rules found" in checked.stdout + checked.stderr


def test_promtool_unit_tests_fire_every_alert():
    tested = _promtool("test", "rules", "tests/alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    unit_tests = yaml.safe_load((PROMETHEUS_DIR / "tests" / "alerts_test.yml").read_text())["tests"]
    fired = {case["alertname"] for test in unit_tests for case in test["alert_rule_test"] if case["exp_alerts"]}
    quiet = {case["alertname"] for test in unit_tests for case in test["alert_rule_test"] if not case["exp_alerts"]}
    names = {rule["alert"] for rule in ALERT_RULES}
    assert fired == names and quiet == names  # each alert is shown to fire, and to stay quiet when healthy


@pytest.fixture(scope="module")
def prometheus(stack_tracker, shop_data, tmp_path_factory) -> str:
    config_dir = tmp_path_factory.mktemp("prometheus-config")
    shutil.copytree(PROMETHEUS_DIR, config_dir, dirs_exist_ok=True)
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    (static,) = job["static_configs"]
    assert static["targets"] == ["tracker:8000"]
    static["targets"] = [stack_tracker.base_url.removeprefix("http://")]
    (config_dir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = open(config_dir / "prometheus.log", "wb")
    process = subprocess.Popen(
        ["prometheus", f"--config.file={config_dir / 'prometheus.yml'}", f"--storage.tsdb.path={config_dir / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, (config_dir / "prometheus.log").read_text()
        try:
            if httpx.get(url + "/-/ready").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "Prometheus did not get ready"
        time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(30)
    log.close()


def _query(url: str, expr: str) -> dict:
    answer = httpx.get(url + "/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", (expr, answer)
    return answer["data"]


def test_every_dashboard_expression_returns_series(prometheus):
    """$__rate_interval is 1m here: at the scrape interval of 15 s, rate() has its two samples after
    about 30 s (Grafana would use max(4 x scrape interval, step + scrape interval) = 1m as well)."""
    assert len(DASHBOARD_EXPRESSIONS) >= 15
    expanded = [(title, grafana.expand_promql(expr, {"site": SITE})) for title, expr in DASHBOARD_EXPRESSIONS]
    for title, expr in expanded:
        if WEEK_AGO in expr:
            _query(prometheus, expr)  # valid PromQL; its series are those of the same query without the offset
    expanded = [(title, expr.replace(WEEK_AGO, "")) for title, expr in expanded]
    deadline = time.monotonic() + 150
    while True:
        empty = [(title, expr) for title, expr in expanded if not _query(prometheus, expr)["result"]]
        if not empty or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert empty == []
    # What the panels show about the seeded traffic, not just that series exist.
    rejected = {s["metric"]["reason"] for s in _query(prometheus, "tracker_events_rejected_total")["result"]}
    dropped = {s["metric"]["reason"] for s in _query(prometheus, "tracker_events_dropped_total")["result"]}
    assert rejected == {"invalid", "unknown_site"} and dropped == {"bot", "duplicate"}
    assert float(_query(prometheus, 'min(up{job="tracker"})')["result"][0]["value"][1]) == 1
    assert float(_query(prometheus, 'min(tracker_clickhouse_up{job="tracker"})')["result"][0]["value"][1]) == 1
    # The business gauges (TRACKER_BUSINESS_METRICS_SITES of deploy/.env.example) on the seeded
    # journeys: only the `latest` visitor's page view is in the last hour, and nobody reached checkout.
    gauge = lambda name: _query(prometheus, f'max by (site) ({name}{{job="tracker", site="{SITE}"}})')["result"][0]["value"][1]  # noqa: E731
    assert (float(gauge("tracker_shop_visitors")), float(gauge("tracker_shop_orders"))) == (1, 0)
    assert (float(gauge("tracker_shop_checkouts")), gauge("tracker_shop_checkout_conversion")) == (0, "NaN")


def test_every_alert_rule_evaluates_and_none_fires(prometheus):
    for rule in ALERT_RULES:
        _query(prometheus, rule["expr"])
    deadline = time.monotonic() + 60
    while True:  # the rule manager evaluates every 15 s
        rules = [r for g in httpx.get(prometheus + "/api/v1/rules").json()["data"]["groups"] for r in g["rules"]]
        if all(not r["lastEvaluation"].startswith("0001") for r in rules) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert {r["name"] for r in rules} == {rule["alert"] for rule in ALERT_RULES}
    assert [r["name"] for r in rules if r["health"] != "ok"] == []
    assert [r["name"] for r in rules if r["state"] != "inactive"] == []  # a healthy tracker trips nothing
