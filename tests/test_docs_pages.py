"""docs/pages.md and the README describe the pages (/app) the code serves."""

import re
from pathlib import Path

from tracker.owner import breakdowns, compare as page_compare, live as app_live, pages as app_pages, session as app_session, share as app_share
from tracker.queries.timerange import YEAR_SHIFT_DAYS

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "pages.md").read_text()


def test_the_readme_links_the_pages_and_their_doc():
    readme = (ROOT / "README.md").read_text()
    assert "http://127.0.0.1:8000/app" in readme and "(docs/pages.md)" in readme


def test_the_doc_names_the_routes_the_cookie_and_the_limits():
    assert app_pages.SIGN_IN in DOC and "GET /app/{site}?from=" in DOC
    assert "GET /app/{site}/carts/{abandoned|recovered}.csv" in DOC
    assert f"`{app_session.COOKIE}`" in DOC and f"`Path={app_session.COOKIE_PATH}`" in DOC
    assert f"lasts {app_session.COOKIE_MAX_AGE_S // 86400} days" in DOC
    assert f"newest {app_pages.CARTS_SHOWN}" in DOC and f"up to {app_pages.CSV_MAX_CARTS:,}" in DOC
    assert app_pages.SECURITY_HEADERS["content-security-policy"].startswith("default-src 'self'") and "`default-src 'self'`" in DOC


def test_the_doc_names_the_comparison_choices_and_the_filter_helpers():
    for _, label in page_compare.CHOICES:
        assert f"*{label}*" in DOC, label
    assert f"{YEAR_SHIFT_DAYS} days, 52 weeks" in DOC and "compare=previous|year" in DOC
    assert '{% from "app/_filters.html" import filter_link with context %}' in DOC
    template = (ROOT / "tracker" / "owner" / "templates" / "app" / "_filters.html").read_text()
    assert "{% macro filter_link(field, value, text=none) -%}" in template
    assert "def link(view: PageView, field: str, value: str)" in (ROOT / "tracker" / "owner" / "filters.py").read_text()


def test_the_doc_names_every_breakdown_panel_and_its_endpoint():
    assert re.search(rf"first\s+{breakdowns.SHOWN} rows", DOC)
    for endpoint in ("/pages?kind=top|entry|exit", "/devices?by=device|browser|os", "/products", "/products/abandoned",
                     "/cohorts", "/sales-cycle"):
        assert f"(`{endpoint}`" in DOC or f"`{endpoint}`)" in DOC, endpoint


def test_the_doc_names_the_realtime_and_shared_link_routes_and_commands():
    assert "GET /app/{site}/realtime.json" in DOC and f"newest {app_live.NEWEST_SHOWN} events" in DOC
    assert f"`GET {app_share.LANDING}`" in DOC and f"`{app_share.LANDING}`" in DOC
    assert f"`{app_share.SHARE_LINKS.table}`" in DOC and app_share.SHARE_LINKS.prefix in DOC
    for command in ("share create", "share list", "share revoke"):
        assert f"python -m tracker {command}" in DOC


def test_the_doc_names_the_funnel_forms():
    from starlette.routing import Route

    from tracker.owner import funnels

    for route in funnels.routes():
        assert isinstance(route, Route)
        path = route.path.replace("{site:site_id}", "{site}")
        assert f"`{path}`" in DOC or f"`POST {path}`" in DOC or f"`GET {path}`" in DOC, path
