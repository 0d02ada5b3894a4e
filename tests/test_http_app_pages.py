"""The pages (/app) over HTTP without a browser: sign-in, the cookie, 403/404/400/503 pages, the
CSV download. tests/browser/test_app_pages.py checks the figures in Chromium."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from tests.conftest import BROWSER_UA, wait_for
from tests.processes import free_port
from tests.query_support import T0, at, event, insert
from tracker.app import create_app
from tracker.clickhouse import embedded
from tracker.clickhouse.client import Target, connect
from tracker.owner.session import COOKIE
from tracker.sites import Site, add_site
from tracker.tokens import create_token

DAYS = {"from": (T0.date() - timedelta(days=1)).isoformat(), "to": (T0.date() + timedelta(days=1)).isoformat()}


@pytest.fixture
def shop(client, ch) -> tuple[TestClient, str]:
    """Sites `shop` and `other`; a token for `shop`. The client does not follow redirects."""
    add_site(ch, Site("shop", "Shoe shop", (), "Europe/Berlin"))
    add_site(ch, Site("other", "Other"))
    sites = client.app.state.tracker.sites
    assert wait_for(lambda: sites.get("shop") is not None and sites.get("other") is not None, True)
    client.follow_redirects = False
    return client, create_token(ch, "shop")[1]


def sign_in(client: TestClient, token: str):
    return client.post("/app/_sign-in", data={"token": token})


def test_a_visit_without_the_cookie_goes_to_sign_in(shop):
    client, _ = shop
    for path in ("/app", "/app/shop", "/app/shop/carts/abandoned.csv"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/app/_sign-in", path
    page = client.get("/app/_sign-in")
    assert page.status_code == 200 and '<form method="post" action="/app/_sign-in">' in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_sign_in_sets_a_strict_http_only_cookie_and_sends_to_the_site(shop):
    client, token = shop
    r = sign_in(client, token)
    assert r.status_code == 303 and r.headers["location"] == "/app/shop"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={token};")
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age"} <= set(flags)
    assert flags["samesite"].lower() == "samesite=strict" and flags["path"] == "Path=/app"
    assert "secure" not in flags  # plain http here: a Secure cookie would never come back
    assert token not in r.headers["location"]
    page = client.get("/app/shop", params=DAYS)
    assert page.status_code == 200 and "<h1>Shoe shop</h1>" in page.text
    assert client.get("/app").headers["location"] == "/app/shop"


def test_the_cookie_is_secure_over_https(shop):
    client, token = shop
    # Not entered as a context manager: the app is already running (the `client` fixture's lifespan).
    secure_client = TestClient(client.app, base_url="https://testserver", headers={"user-agent": BROWSER_UA})
    r = secure_client.post("/app/_sign-in", data={"token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert "secure" in [p.strip().lower() for p in r.headers["set-cookie"].split(";")]


def test_a_wrong_token_is_an_error_on_the_sign_in_page(shop):
    client, token = shop
    for wrong, status, message in ((token + "x", 401, "That token is not valid"), ("nonsense", 401, "That token is not valid"),
                                   ("  ", 400, "Enter the token")):
        r = sign_in(client, wrong)
        assert r.status_code == status and message in r.text and "set-cookie" not in r.headers
        assert 'role="alert"' in r.text
    r = client.post("/app/_sign-in", content=b"\xff" * 10_000, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and "Enter the token" in r.text


def test_another_sites_page_is_403_and_an_unknown_site_404(shop):
    client, token = shop
    sign_in(client, token)
    r = client.get("/app/other")
    assert r.status_code == 403 and "You are signed in for &#39;shop&#39;, not for &#39;other&#39;" in r.text
    assert '<a href="/app/shop">' in r.text and "Sign out" in r.text
    assert client.get("/app/other/carts/abandoned.csv").status_code == 403
    r = client.get("/app/nope")
    assert r.status_code == 404 and "There is no site &#39;nope&#39;" in r.text


def test_a_revoked_token_asks_to_sign_in_again(shop, ch):
    client, _ = shop
    client.cookies.set(COOKIE, "fh_000000000000_revoked", path="/app")
    r = client.get("/app/shop")
    assert r.status_code == 401 and "no longer valid" in r.text
    assert r.headers["set-cookie"].startswith(f'{COOKIE}="";')


def test_sign_out_deletes_the_cookie_and_is_post_only(shop):
    client, token = shop
    sign_in(client, token)
    assert client.get("/app/_sign-out").status_code == 405
    r = client.post("/app/_sign-out")
    assert r.status_code == 303 and r.headers["location"] == "/app/_sign-in?signed_out"
    assert r.headers["set-cookie"].startswith(f'{COOKIE}="";') and "Max-Age=0" in r.headers["set-cookie"]
    assert client.get("/app/shop").status_code == 303
    assert "You are signed out." in client.get("/app/_sign-in?signed_out").text


def test_forms_sent_from_another_site_are_refused(shop):
    client, token = shop
    r = client.post("/app/_sign-in", data={"token": token}, headers={"origin": "https://evil.example"})
    assert r.status_code == 403 and "set-cookie" not in r.headers
    r = client.post("/app/_sign-in", data={"token": token}, headers={"sec-fetch-site": "cross-site"})
    assert r.status_code == 403 and "set-cookie" not in r.headers
    r = client.post("/app/_sign-in", data={"token": token}, headers={"origin": "https://shop-admin.example", "sec-fetch-site": "same-site"})
    assert r.status_code == 403  # a sibling subdomain is another site here
    # Behind a proxy that rewrites Host the Origin looks foreign; the browser's Sec-Fetch-Site decides.
    r = client.post("/app/_sign-in", data={"token": token}, headers={"origin": "https://stats.example", "sec-fetch-site": "same-origin"})
    assert r.status_code == 303
    assert client.post("/app/_sign-out", headers={"origin": "https://evil.example"}).status_code == 403
    assert client.get("/app/shop", params=DAYS).status_code == 200  # still signed in


def test_bad_dates_are_shown_next_to_the_fields(shop):
    client, token = shop
    sign_in(client, token)
    r = client.get("/app/shop", params={"from": "2024-05-09", "to": "2024-05-01"})
    assert r.status_code == 400 and 'id="from-error"' in r.text and "From must be before to" in r.text
    assert 'value="2024-05-09"' in r.text and 'aria-invalid="true"' in r.text
    r = client.get("/app/shop", params={"to": "yesterday"})
    assert r.status_code == 400 and "To must be a date" in r.text
    r = client.get("/app/shop/carts/abandoned.csv", params={"from": "2024-13-01"})
    assert r.status_code == 400 and "must be a date" in r.text


def test_the_page_shows_the_apis_figures(shop, ch):
    client, token = shop
    insert(ch, [
        event("page_view", at(0), 1, site="shop"),
        event("add_to_cart", at(60), 1, site="shop", items=[("sku-1", 20, 2, "Red shoe")], value=40, currency="EUR"),
        event("page_view", at(100), 2, site="shop"),
        event("purchase", at(160), 2, site="shop", value=12.5, currency="EUR", transaction_id="T-1"),
    ])
    sign_in(client, token)
    page = client.get("/app/shop", params=DAYS).text
    api = client.get("/api/v1/sites/shop/stats", params={**DAYS, "interval": "day"}, headers={"authorization": f"Bearer {token}"}).json()
    assert api["totals"]["visitors"] == 2 and api["totals"]["orders"] == 1
    assert f'<dd data-figure="visitors">{api["totals"]["visitors"]}</dd>' in page
    assert '<dd data-figure="revenue_EUR">12.50</dd>' in page
    assert '<dd data-figure="conversion_rate">50.00 %</dd>' in page
    assert page.count("<tr><th scope=\"row\">") >= len(api["series"])  # a row per day
    assert "Red shoe × 2" in page  # the abandoned cart (idle since more than a week)


def test_the_csv_download_is_the_apis_csv_with_every_cart(shop, ch):
    client, token = shop
    # 501 abandoned carts: more than one page of the API (at most 500 per page).
    insert(ch, [event("add_to_cart", at(v), v, site="shop", items=[("sku", 5, 1)], value=5, currency="EUR") for v in range(1, 502)])
    sign_in(client, token)
    r = client.get("/app/shop/carts/abandoned.csv", params=DAYS)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="shop-abandoned_carts.csv"'
    rows = list(csv.reader(io.StringIO(r.text)))
    api = client.get("/api/v1/sites/shop/carts/abandoned", params={**DAYS, "format": "csv", "limit": 500},
                     headers={"authorization": f"Bearer {token}"})
    api_rows = list(csv.reader(io.StringIO(api.text)))
    assert rows[0] == api_rows[0] and len(rows) == 1 + 501 and rows[1:501] == api_rows[1:]
    assert len({row[0] for row in rows[1:]}) == 501
    assert client.get("/app/shop/carts/forgotten.csv", params=DAYS).status_code == 404


def test_clickhouse_away_is_a_friendly_503_page(tmp_path, make_settings, database):
    port = free_port()
    server = embedded.start(tmp_path / "ch", port)
    try:
        settings = make_settings(clickhouse_url=f"http://127.0.0.1:{port}/{database}")
        with TestClient(create_app(settings), headers={"user-agent": BROWSER_UA}, follow_redirects=False) as client:
            ch = connect(Target("127.0.0.1", port, database=database))
            add_site(ch, Site("shop"))
            assert wait_for(lambda: client.app.state.tracker.sites.get("shop") is not None, True)
            assert client.post("/app/_sign-in", data={"token": create_token(ch, "shop")[1]}).status_code == 303
            server.stop()
            r = client.get("/app/shop", params=DAYS)
            assert r.status_code == 503 and r.headers["retry-after"] == "5"
            assert "The numbers are not available right now" in r.text and "reload this page" in r.text
            assert r.headers["content-type"].startswith("text/html")
    finally:
        server.stop()


def test_the_index_links_the_pages_and_the_built_assets_are_served(client):
    assert client.get("/").json()["endpoints"]["pages"].startswith("GET /app ")
    script = client.get("/app/_static/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "uplot" in script.text and "chart-data" in script.text  # uPlot is bundled with the page's script
    styles = client.get("/app/_static/app.css")
    assert styles.status_code == 200 and ".uplot" in styles.text


def test_the_pages_queries_yield_the_cpu_to_the_carts_query(shop, monkeypatch):
    # The page is CPU-bound and the carts' query is its longest: every other query runs niced.
    from tracker.owner.pages import PANEL_NICENESS
    from tracker.queries.runner import QUERY_LABEL, QUERY_NICENESS

    client, token = shop
    runner = client.app.state.tracker.queries
    seen: list[tuple[str, int]] = []
    real_run = runner._run

    def recording_run(sql, parameters):
        seen.append((QUERY_LABEL.get(), QUERY_NICENESS.get()))
        return real_run(sql, parameters)

    monkeypatch.setattr(runner, "_run", recording_run)
    sign_in(client, token)
    assert client.get("/app/shop", params=DAYS).status_code == 200
    niceness = dict(seen)
    assert niceness.pop("page_carts") == 0
    assert {"stats", "funnel", "page_visits", "pages", "products", "cohorts"} <= set(niceness)
    assert set(niceness.values()) == {PANEL_NICENESS}
    assert QUERY_NICENESS.get() == 0  # nothing left set for what the worker does next
