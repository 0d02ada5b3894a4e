"""README's "Production" section and docs/operations.md describe the deploy/ stack as it is."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()
COMPOSE = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_readme_production_gives_the_one_command_and_every_service():
    production = _section(README, "Production")
    assert "docker compose -f deploy/compose.yaml --env-file deploy/.env up -d" in production
    assert "cp deploy/.env.example deploy/.env" in production and (ROOT / "deploy" / ".env.example").exists()
    listed = set(re.findall(r"^\| `(\w+)` \|", production, re.MULTILINE))
    assert listed == set(COMPOSE["services"])


def test_operations_lists_every_alert_rule():
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    documented = set(re.findall(r"^\| `(\w+)` \|", _section(OPERATIONS, "Monitoring and alerts"), re.MULTILINE))
    assert documented == alerts


def test_operations_names_the_datasource_uids_the_dashboards_use():
    provisioned = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/datasources.yaml").read_text())
    for datasource in provisioned["datasources"]:
        assert f"`{datasource['uid']}`" in _section(OPERATIONS, "Production stack")
