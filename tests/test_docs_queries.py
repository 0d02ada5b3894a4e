"""docs/queries.md documents every query endpoint, parameter and answer field the code has."""

import re
from pathlib import Path

from tracker.config import DOCS
from tracker.http.api_params import ENDPOINTS
from tracker.http.openapi import PREFIX, SAVED_FUNNEL_PATHS, SCHEMAS
from tracker.queries.steps import FILTER_FIELDS

DOC = (Path(__file__).resolve().parents[1] / "docs" / "queries.md").read_text()


def _fields(schema: dict) -> set[str]:
    out = set()
    for key, value in schema.get("properties", {}).items():
        out.add(key)
        out |= _fields(value)
        out |= _fields(value.get("items", {}))
    for part in schema.get("allOf", []):
        out |= _fields(part)
    return out


def test_every_endpoint_and_parameter_is_documented():
    for endpoint in ENDPOINTS:
        assert f"GET {PREFIX}{endpoint.path}`" in DOC, endpoint.path
        for param in endpoint.params:
            assert f"`{param.name}`" in DOC, (endpoint.path, param.name)


def test_every_answer_field_is_documented():
    documented = set(re.findall(r"`(?:[a-z0-9_]+(?:\[\])?\.)*([a-z0-9_]+)(?:\[\])?`", DOC))
    for name, schema in SCHEMAS.items():
        if name == "Error":  # shown as a JSON example
            assert all(f'"{field}"' in DOC for field in _fields(schema)), name
            continue
        missing = _fields(schema) - documented
        assert not missing, (name, missing)


def test_settings_and_filter_fields_named_in_the_docs_exist():
    for setting in re.findall(r"TRACKER_([A-Z_]+)", DOC):
        assert setting.lower() in DOCS, setting
    for field in FILTER_FIELDS:
        assert f"`{field}`" in DOC


def test_saved_funnel_requests_are_documented():
    for path, item in SAVED_FUNNEL_PATHS.items():
        for method in item:
            assert f"`{method.upper()} {path}`" in DOC, (method, path)
