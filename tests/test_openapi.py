"""The OpenAPI description matches the routes the app serves and is internally consistent."""

import re

from starlette.routing import Route

from tracker.app import routes
from tests.conftest import wait_for
from tracker.http.api_params import ENDPOINTS
from tracker.http.openapi import PRIVACY_PATHS, SAVED_FUNNEL_PATHS
from tracker.sites import Site, add_site
from tracker.tokens import create_token


def test_served_and_lists_exactly_the_query_routes(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    served = {r.path for r in routes() if isinstance(r, Route) and r.path.startswith("/api/v1/sites/")}
    assert set(doc["paths"]) == served and len(served) == len(ENDPOINTS) + len(PRIVACY_PATHS) + len(SAVED_FUNNEL_PATHS)
    methods = {r.path: r.methods - {"HEAD"} for r in routes() if isinstance(r, Route) and r.path.startswith("/api/v1/sites/")}
    for path, item in doc["paths"].items():
        assert {m.upper() for m in item} == methods[path], path


def test_every_reference_resolves_and_path_parameters_are_declared(client):
    doc = client.get("/api/v1/openapi.json").json()
    text = str(doc)
    for ref in set(re.findall(r"#/components/schemas/(\w+)", text)):
        assert ref in doc["components"]["schemas"], ref
    operations = [(path, op) for path, item in doc["paths"].items() for op in item.values()]
    for path, op in operations:
        declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path))
        assert {"400", "401", "403", "404"} <= set(op["responses"]) and {"200", "201"} & set(op["responses"])
        assert op["security"] == [{"bearer": []}]


def test_endpoints_accept_exactly_the_described_parameters(client, ch):
    add_site(ch, Site("shop"))
    assert wait_for(lambda: client.app.state.tracker.sites.get("shop") is not None, True)
    _, token = create_token(ch, "shop")
    doc = client.get("/api/v1/openapi.json").json()
    for path, item in doc["paths"].items():
        if "get" not in item:
            continue
        url = path.replace("{site}", "shop").replace("{id}", "1")
        described = [p["name"] for p in item["get"]["parameters"] if p["in"] == "query"]
        r = client.get(url, params={name: "?" for name in described} | {"bogus": "1"}, headers={"authorization": f"Bearer {token}"})
        unknown = [f["path"] for f in r.json()["error"]["fields"] if f["reason"].startswith("unknown parameter")]
        assert r.status_code == 400 and unknown == ["bogus"], (path, r.json())


def test_compare_is_described_where_it_is_taken_and_answered():
    from tracker.http.openapi import SCHEMAS, document

    takes = {e.name for e in ENDPOINTS if any(p.name == "compare" for p in e.params)}
    assert takes == {"stats", "funnel", "channels"}
    operations = {op["get"]["operationId"]: op["get"] for op in document()["paths"].values() if "get" in op}
    for name in takes:
        compare = next(p for p in operations[name]["parameters"] if p["name"] == "compare")
        assert compare["schema"]["enum"] == ["previous", "year"] and "364 days" in compare["description"]
    for schema in ("Stats", "Funnel", "Channels"):
        part = SCHEMAS[schema]["properties"]["compare"]
        assert "compare" not in SCHEMAS[schema]["required"]  # only with compare=...
        assert {"mode", "from", "to", "changes"} <= set(part["required"])
