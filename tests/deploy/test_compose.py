"""deploy/compose.yaml and the files it mounts fit together: services, ports, environment, volumes,
healthchecks, start order, the ClickHouse users and their passwords, Grafana's datasources and
dashboards. Docker does not run here, so this reads the files as compose and Grafana would."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import yaml

from tests.deploy import grafana
from tests.deploy.conftest import DATABASE, DEPLOY, REPO, env_example
from tracker.clickhouse.client import Target
from tracker.config import describe

COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()
DATASOURCES = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/datasources.yaml").read_text())["datasources"]
PROVIDERS = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/funnelhouse.yaml").read_text())["providers"]
USERS_D = sorted((DEPLOY / "clickhouse" / "users.d").glob("*.xml"))


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}."""
    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if name in env and env[name] != "":
            return env[name]
        if op == ":-":
            return arg
        raise KeyError(f"{name} is not set: {arg}")
    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def environment(service: str) -> dict[str, str]:
    return {k: interpolate(str(v), env_example()) for k, v in SERVICES[service].get("environment", {}).items()}


def dockerfile_env() -> dict[str, str]:
    block = re.search(r"^ENV TRACKER_HOST.*?(?=^\S*$)", DOCKERFILE, re.MULTILINE | re.DOTALL).group(0)
    return dict(re.findall(r"(TRACKER_\w+)=(\S+)", block))


def mounts(service: str) -> dict[str, str]:
    """Container path -> source (a named volume, or a path relative to deploy/)."""
    out = {}
    for volume in SERVICES[service].get("volumes", []):
        source, target = volume.split(":")[:2]
        out[target] = source
    return out


def users() -> dict[str, ET.Element]:
    return {user.tag: user for path in USERS_D for user in ET.parse(path).getroot().find("users")}


def healthy_dependency(service: str, on: str) -> bool:
    return SERVICES[service]["depends_on"][on]["condition"] == "service_healthy"


def test_the_stack_has_its_four_services_on_pinned_images():
    assert set(SERVICES) == {"clickhouse", "tracker", "prometheus", "grafana"}
    for name in ("clickhouse", "prometheus", "grafana"):
        image = SERVICES[name]["image"]
        assert re.search(r":v?\d+\.\d+", image), f"{name} image {image} is not pinned to a version"
    assert SERVICES["clickhouse"]["image"].startswith("clickhouse/clickhouse-server:")
    assert set(COMPOSE["volumes"]) == {m for s in SERVICES for m in mounts(s).values() if not m.startswith(".")}


def test_every_variable_compose_needs_is_in_env_example():
    text = (DEPLOY / "compose.yaml").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert required <= set(env_example())
    for service in SERVICES:
        environment(service)  # raises on a variable neither set nor defaulted
    for key in ("CLICKHOUSE_TRACKER_PASSWORD", "CLICKHOUSE_GRAFANA_PASSWORD"):
        assert re.fullmatch(r"[A-Za-z0-9_-]+", env_example()[key])  # they travel inside a URL unescaped


def test_clickhouse_users_take_their_passwords_from_the_service_environment():
    ch_env = environment("clickhouse")
    container = mounts("clickhouse")
    assert container["/var/lib/clickhouse"] == "clickhouse-data"
    for path in USERS_D:
        assert container[f"/etc/clickhouse-server/users.d/{path.name}"] == f"./clickhouse/users.d/{path.name}"
    for name, user in users().items():
        assert user.find("password").get("from_env") in ch_env, name
    assert "8123" in SERVICES["clickhouse"]["expose"] and "9000" in SERVICES["clickhouse"]["expose"]
    assert "ports" not in SERVICES["clickhouse"]  # only the stack's network reaches it
    assert "/ping" in " ".join(SERVICES["clickhouse"]["healthcheck"]["test"])


def test_tracker_service_connects_as_the_tracker_user():
    env = environment("tracker")
    target = Target.from_url(env["TRACKER_CLICKHOUSE_URL"], "unused")
    assert (target.host, str(target.port), target.username, target.database) == ("clickhouse", "8123", "tracker", DATABASE)
    assert target.password == env_example()["CLICKHOUSE_TRACKER_PASSWORD"]
    assert users()["tracker"].find("password").get("from_env") == "CLICKHOUSE_TRACKER_PASSWORD"
    assert healthy_dependency("tracker", "clickhouse")
    settings = {name for name, _, _ in describe()}
    assert set(env) <= settings and set(dockerfile_env()) <= settings


def test_tracker_image_serves_on_all_interfaces_with_its_spool_on_a_volume():
    env = {**dockerfile_env(), **environment("tracker")}
    assert env["TRACKER_HOST"] == "0.0.0.0"
    assert mounts("tracker")[env["TRACKER_DATA_DIR"]] == "tracker-data"
    assert f"VOLUME {env['TRACKER_DATA_DIR']}" in DOCKERFILE
    published = {p.split(":")[-1] for p in SERVICES["tracker"]["ports"]}
    assert published == {env["TRACKER_PORT"]}
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", DOCKERFILE, re.MULTILINE)
    assert re.search(r"^USER tracker$", DOCKERFILE, re.MULTILINE)
    assert re.search(r'^CMD \["python", "-m", "tracker", "serve"\]$', DOCKERFILE, re.MULTILINE)
    assert SERVICES["tracker"]["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    sent = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    for source in re.findall(r"^COPY (.+) \S+$", DOCKERFILE, re.MULTILINE):
        for path in source.split():
            assert (REPO / path).exists(), f"Dockerfile copies {path}, which is missing"
            assert f"!{path}" in sent or f"!{path}/" in sent, f"{path} is left out of the build context"


def test_prometheus_scrapes_the_tracker_service_and_loads_the_rules():
    config = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    (static,) = job["static_configs"]
    host, port = static["targets"][0].split(":")
    assert host == "tracker" and port == {**dockerfile_env(), **environment("tracker")}["TRACKER_PORT"]
    assert job["job_name"] == "tracker"  # the alert rules and dashboards select job="tracker"
    assert mounts("prometheus")["/etc/prometheus"] == "./prometheus"
    assert "--config.file=/etc/prometheus/prometheus.yml" in SERVICES["prometheus"]["command"]
    for rule_file in config["rule_files"]:
        assert (DEPLOY / "prometheus" / rule_file).exists()
    assert healthy_dependency("prometheus", "tracker")
    assert "/-/ready" in " ".join(SERVICES["prometheus"]["healthcheck"]["test"])


def test_grafana_provisions_both_datasources_the_dashboards_use():
    by_uid = {d["uid"]: d for d in DATASOURCES}
    used = {(t.get("datasource") or p["datasource"])["uid"]: (t.get("datasource") or p["datasource"])["type"]
            for d in grafana.dashboards().values() for p in grafana.panels(d) for t in p.get("targets", [])}
    used.update({v["datasource"]["uid"]: v["datasource"]["type"]
                 for d in grafana.dashboards().values() for v in d["templating"]["list"] if "datasource" in v})
    assert used and all(by_uid[uid]["type"] == kind for uid, kind in used.items())
    prometheus = by_uid["funnelhouse-prometheus"]
    assert prometheus["url"] == "http://prometheus:9090" and "9090" in SERVICES["prometheus"]["expose"]
    scrape = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())["global"]["scrape_interval"]
    assert prometheus["jsonData"]["timeInterval"] == scrape


def test_grafana_clickhouse_datasource_uses_what_compose_exposes():
    ds = next(d for d in DATASOURCES if d["type"] == "grafana-clickhouse-datasource")
    data = ds["jsonData"]
    assert data["host"] == "clickhouse" and str(data["port"]) in SERVICES["clickhouse"]["expose"]
    assert (data["protocol"], data["port"]) in {("native", 9000), ("http", 8123)}
    assert data["username"] == "grafana" and data["defaultDatabase"] == DATABASE
    # Grafana expands $VAR in provisioning files from its own environment.
    variable = ds["secureJsonData"]["password"].removeprefix("$")
    assert environment("grafana")[variable] == environment("clickhouse")[users()["grafana"].find("password").get("from_env")]
    assert "grafana-clickhouse-datasource" in environment("grafana")["GF_PLUGINS_PREINSTALL_SYNC"]


def test_grafana_user_is_read_only_and_granted_what_the_dashboards_read():
    root = ET.parse(DEPLOY / "clickhouse/users.d/grafana.xml").getroot()
    user = users()["grafana"]
    profile = root.find(f"profiles/{user.find('profile').text}")
    assert profile.find("readonly").text in ("1", "2")
    assert profile.find("constraints/max_execution_time/max") is not None
    grants = [q.text for q in user.findall("grants/query")]
    assert all(g.startswith("GRANT SELECT") for g in grants)
    granted = {g.split(" ON ", 1)[1] for g in grants}
    assert f"{DATABASE}.api_tokens" not in granted and f"{DATABASE}.*" not in granted


def test_grafana_loads_the_dashboards_from_the_mounted_folder():
    (provider,) = PROVIDERS
    assert provider["type"] == "file"
    assert mounts("grafana")[provider["options"]["path"]] == "./grafana/dashboards"
    assert mounts("grafana")["/etc/grafana/provisioning"] == "./grafana/provisioning"
    assert environment("grafana")["GF_SECURITY_ADMIN_PASSWORD"] == env_example()["GRAFANA_ADMIN_PASSWORD"]
    assert healthy_dependency("grafana", "clickhouse") and healthy_dependency("grafana", "prometheus")
    titles = {d["title"] for d in grafana.dashboards().values()}
    assert titles == {"Tracker operations", "Shop"}
    uids = [d["uid"] for d in grafana.dashboards().values()]
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("name", sorted(grafana.dashboards()))
def test_dashboard_panels_do_not_overlap(name):
    taken = set()
    for panel in grafana.panels(grafana.dashboards()[name]):
        g = panel["gridPos"]
        cells = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert g["x"] + g["w"] <= 24 and not cells & taken, panel["title"]
        taken |= cells


def test_clickhouse_may_lower_the_priority_of_the_pages_panel_queries():
    # Without CAP_SYS_NICE ClickHouse ignores os_thread_priority, which the owner's page sets on its
    # panels' queries so that its longest query finishes first (tracker/owner/pages.py).
    assert "SYS_NICE" in SERVICES["clickhouse"].get("cap_add", [])


def test_clickhouse_keeps_the_query_apis_reads_decompressed(stack_clickhouse):
    # The tracker's queries ask for the uncompressed cache (tracker/queries/runner.py); a server
    # without one ignores that. Every config.d file is mounted, and a server loading them has the cache.
    container = mounts("clickhouse")
    config_d = sorted((DEPLOY / "clickhouse" / "config.d").glob("*.xml"))
    assert config_d
    for path in config_d:
        assert container[f"/etc/clickhouse-server/config.d/{path.name}"] == f"./clickhouse/config.d/{path.name}"
    size = int(ET.parse(DEPLOY / "clickhouse/config.d/uncompressed_cache.xml").getroot().findtext("uncompressed_cache_size"))
    assert size >= 256 * 1024 * 1024
    loaded = stack_clickhouse.client(database="system").query(
        "SELECT value FROM system.server_settings WHERE name = 'uncompressed_cache_size'").result_rows
    assert loaded == [(str(size),)]
