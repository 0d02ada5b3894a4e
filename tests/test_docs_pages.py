"""docs/pages.md and the README describe the pages (/app) the code serves."""

from pathlib import Path

from tracker.owner import pages as app_pages, session as app_session

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


def test_the_doc_names_the_funnel_forms():
    from starlette.routing import Route

    from tracker.owner import funnels

    for route in funnels.routes():
        assert isinstance(route, Route)
        path = route.path.replace("{site:site_id}", "{site}")
        assert f"`{path}`" in DOC or f"`POST {path}`" in DOC or f"`GET {path}`" in DOC, path
