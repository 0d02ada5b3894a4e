"""What Grafana does to a dashboard's queries before they reach a datasource, for the tests.

Grafana cannot be installed here, so the tests expand queries the way it would:
- template variables (the frontend): `$name`, `${name}` and `${name:sqlstring}` (each ' doubled,
  the value in quotes), from the dashboard's own constants or a value the test picks;
- the ClickHouse plugin's macros (its backend, pkg/macros/macros.go of grafana-clickhouse-datasource),
  with the same expansions: `$__timeFilter(c)` -> `c >= toDateTime(from) AND c <= toDateTime(to)`,
  `$__fromTime`/`$__toTime` -> `toDateTime(unix seconds)`, the `_ms` forms with
  fromUnixTimestamp64Milli, `$__timeInterval(c)` -> `toStartOfInterval(toDateTime(c), INTERVAL n second)`,
  `$__interval_s` -> n;
- Prometheus' built-in interval variables ($__rate_interval, $__interval, $__range), which Grafana
  computes from the time range, the panel width and the scrape interval, get fixed values here.
Anything left starting with `$` is an error: a macro or variable these tests do not know.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Iterator

from tests.deploy.conftest import DEPLOY

DASHBOARDS = DEPLOY / "grafana" / "dashboards"
PROMETHEUS_INTERVALS = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m"}

_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(?!__)(\w+)|\$(__(?:rate_interval|interval|range))\b(?!_)")
_MACRO = re.compile(r"\$__(\w+)(?:\(([^()]*)\))?")


def dashboards() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def panels(dashboard: dict) -> Iterator[dict]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # panels inside collapsed rows


def targets(datasource_type: str) -> Iterator[tuple[str, dict, dict]]:
    """(dashboard file, panel, target) for every query sent to that kind of datasource."""
    for name, dashboard in dashboards().items():
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                if (target.get("datasource") or panel["datasource"])["type"] == datasource_type:
                    yield name, panel, target


def constants(dashboard: dict) -> dict[str, str]:
    return {v["name"]: v["query"] for v in dashboard["templating"]["list"] if v["type"] == "constant"}


def substitute_variables(text: str, values: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(3) or match.group(4)
        if name not in values:
            return match.group(0)
        value = values[name]
        if match.group(2) == "sqlstring":
            return "'" + value.replace("'", "''") + "'"
        if match.group(2) is not None:
            raise ValueError(f"variable format {match.group(2)!r} not known to these tests")
        return value

    return _VARIABLE.sub(replace, text)


def expand_clickhouse(sql: str, variables: dict[str, str], start: datetime, end: datetime, interval_s: int) -> str:
    sql = substitute_variables(sql, variables)
    begin_s, end_s = int(start.timestamp()), int(end.timestamp())
    begin_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)

    def macro(match: re.Match) -> str:
        name, argument = match.group(1), (match.group(2) or "").strip()
        expansions = {
            "fromTime": f"toDateTime({begin_s})",
            "toTime": f"toDateTime({end_s})",
            "fromTime_ms": f"fromUnixTimestamp64Milli({begin_ms})",
            "toTime_ms": f"fromUnixTimestamp64Milli({end_ms})",
            "interval_s": str(max(interval_s, 1)),
            "timeFilter": f"{argument} >= toDateTime({begin_s}) AND {argument} <= toDateTime({end_s})",
            "timeFilter_ms": f"{argument} >= fromUnixTimestamp64Milli({begin_ms}) AND {argument} <= fromUnixTimestamp64Milli({end_ms})",
            "timeInterval": f"toStartOfInterval(toDateTime({argument}), INTERVAL {max(interval_s, 1)} second)",
        }
        if name not in expansions:
            raise ValueError(f"macro $__{name} not known to these tests")
        return expansions[name]

    expanded = _MACRO.sub(macro, sql)
    if "$" in expanded:
        raise ValueError(f"unexpanded variable or macro left in:\n{expanded}")
    return expanded


def expand_promql(expr: str, variables: dict[str, str] | None = None) -> str:
    expanded = substitute_variables(expr, {**PROMETHEUS_INTERVALS, **(variables or {})})
    if "$" in expanded:
        raise ValueError(f"unexpanded variable left in: {expanded}")
    return expanded
