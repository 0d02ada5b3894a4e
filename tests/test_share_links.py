"""Shared links over HTTP (tracker/owner/share.py, share_pages.py): created on the page and in the
CLI, opened through /app/_share with a fresh cookie jar, read-only, refused once revoked, and the
secret in no log line, no metric and no URL the tracker is sent. Plus the page's realtime.json."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from tests.conftest import BROWSER_UA, wait_for
from tracker.owner.session import COOKIE
from tracker.owner.share import LANDING, SHARE_LINKS, create_link, list_links
from tracker.sites import Site, add_site
from tracker.tokens import create_token

LINK = re.compile(r'value="(http://testserver/app/_share#(fhs_[0-9a-f]+_[A-Za-z0-9_-]+))" data-link-id="([0-9a-f]+)"')


@pytest.fixture
def owner(client, ch) -> TestClient:
    """Signed in as the owner of `shop` (site `other` exists too); redirects are not followed."""
    add_site(ch, Site("shop", "Shoe shop", (), "Europe/Berlin"))
    add_site(ch, Site("other", "Other"))
    sites = client.app.state.tracker.sites
    assert wait_for(lambda: sites.get("shop") is not None and sites.get("other") is not None, True)
    client.follow_redirects = False
    client.token = create_token(ch, "shop")[1]
    assert client.post("/app/_sign-in", data={"token": client.token}).status_code == 303
    return client


@pytest.fixture
def all_logs():
    """Every log record of the run (the `tracker` logger does not propagate, so both roots)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.DEBUG)
    loggers = [logging.getLogger(), logging.getLogger("tracker"), logging.getLogger("uvicorn.access")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield records
    for lg, level in zip(loggers, levels):
        lg.removeHandler(handler)
        lg.setLevel(level)


def create_on_page(owner: TestClient, note: str = "agency") -> tuple[str, str, str]:
    """The create form, then the page its answer redirects to (Post/Redirect/Get), which shows the link."""
    r = owner.post("/app/shop/shared-links", data={"note": note})
    assert r.status_code == 303 and r.headers["location"] == "/app/shop/shared-links/created", r.text
    shown = owner.get(r.headers["location"])
    assert shown.status_code == 200 and "It is shown only now" in shown.text, shown.text
    link, secret, link_id = LINK.search(shown.text).groups()
    assert secret not in r.headers["location"]
    return link, secret, link_id


def open_link(app, link: str) -> TestClient:
    """What a browser does with the link, in a fresh cookie jar: GET the path (the fragment stays
    in the browser), then the page's script POSTs the fragment."""
    viewer = TestClient(app, headers={"user-agent": BROWSER_UA}, follow_redirects=False)
    parts = urlsplit(link)
    landing = viewer.get(parts.path + (f"?{parts.query}" if parts.query else ""))
    assert landing.status_code == 200 and 'id="share-form"' in landing.text and "/app/_static/app.js" in landing.text
    r = viewer.post(LANDING, data={"secret": parts.fragment})
    assert r.status_code == 303 and r.headers["location"] == "/app/shop", r.text
    assert r.headers["set-cookie"].startswith(f"{COOKIE}={parts.fragment};") and "HttpOnly" in r.headers["set-cookie"]
    return viewer


def test_a_link_from_the_page_opens_the_page_read_only(owner, ch, all_logs):
    link, secret, link_id = create_on_page(owner)
    assert urlsplit(link).path == LANDING and urlsplit(link).query == ""  # the secret only in the fragment
    assert [(t.token_id, t.note) for t in list_links(ch, "shop")] == [(link_id, "agency")]
    page = owner.get("/app/shop")
    assert f'data-link-id="{link_id}"' in page.text and secret not in page.text  # listed, never shown again

    viewer = open_link(owner.app, link)
    page = viewer.get("/app/shop")
    assert page.status_code == 200 and "<h1>Shoe shop</h1>" in page.text
    assert "You are viewing a read-only shared link." in page.text and "(read-only link)" in page.text
    assert "Download all as CSV" not in page.text and 'id="shared-links"' not in page.text
    assert 'id="realtime"' in page.text and viewer.get("/app/shop/realtime.json").status_code == 200
    assert viewer.get("/app").headers["location"] == "/app/shop"

    # Nothing but looking: no CSV, no link management, not another site.
    for r in (viewer.get("/app/shop/carts/abandoned.csv"), viewer.post("/app/shop/shared-links", data={"note": "x"}),
              viewer.post(f"/app/shop/shared-links/{link_id}/revoke")):
        assert r.status_code == 403 and "Read-only link" in r.text
    assert viewer.get("/app/other").status_code == 403
    assert [t.token_id for t in list_links(ch, "shop")] == [link_id]

    metrics = owner.get("/metrics").text
    assert secret not in metrics
    logged = [r.getMessage() + " " + str(vars(r)) for r in all_logs]
    assert logged and not [line for line in logged if secret in line]


def test_reloading_the_created_page_shows_no_secret_and_creates_no_link(owner, ch):
    r = owner.post("/app/shop/shared-links", data={"note": "agency"})
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("fh_new_link=fhs_") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/app/shop/shared-links/created" in cookie and "Max-Age=60" in cookie
    first = owner.get("/app/shop/shared-links/created")
    link, secret, link_id = LINK.search(first.text).groups()
    assert "agency" in first.text and first.headers["set-cookie"].startswith('fh_new_link="";')  # cleared as it is shown
    again = owner.get("/app/shop/shared-links/created")  # the browser's reload: a GET, not the POST again
    assert again.status_code == 200 and secret not in again.text and 'id="shared-link"' not in again.text
    assert "this one has been shown already" in again.text and "revoke it on the site's page and create a new one" in again.text
    assert [t.token_id for t in list_links(ch, "shop")] == [link_id]
    # A secret of a revoked link (or of another site) in the cookie is not shown either.
    owner.post(f"/app/shop/shared-links/{link_id}/revoke")
    owner.cookies.set("fh_new_link", secret, path="/app/shop/shared-links/created")
    assert secret not in owner.get("/app/shop/shared-links/created").text
    other_secret = create_link(ch, "other")[1]
    owner.cookies.set("fh_new_link", other_secret, path="/app/shop/shared-links/created")
    assert other_secret not in owner.get("/app/shop/shared-links/created").text


def test_revoking_on_the_page_refuses_the_link_at_once(owner, ch):
    link, secret, link_id = create_on_page(owner)
    viewer = open_link(owner.app, link)
    assert viewer.get("/app/shop").status_code == 200
    r = owner.post(f"/app/shop/shared-links/{link_id}/revoke")
    assert r.status_code == 303 and r.headers["location"] == "/app/shop#shared-links"
    assert f'data-link-id="{link_id}"' not in owner.get("/app/shop").text
    r = viewer.get("/app/shop")
    assert r.status_code == 401 and "no longer valid" in r.text and r.headers["set-cookie"].startswith(f'{COOKIE}="";')
    again = TestClient(owner.app, headers={"user-agent": BROWSER_UA}, follow_redirects=False)
    r = again.post(LANDING, data={"secret": secret})
    assert r.status_code == 401 and "This link is not valid" in r.text and "set-cookie" not in r.headers
    assert owner.post(f"/app/shop/shared-links/{link_id}/revoke").status_code == 404  # already revoked


def test_bad_links_and_forged_forms_are_refused(owner, ch):
    fresh = TestClient(owner.app, headers={"user-agent": BROWSER_UA}, follow_redirects=False)
    for secret in ("", "fhs_nope_nope", create_token(ch, "shop")[1]):  # a query token is not a link
        r = fresh.post(LANDING, data={"secret": secret})
        assert r.status_code == 401 and "set-cookie" not in r.headers
    _, secret, link_id = create_on_page(owner)
    r = fresh.post(LANDING, data={"secret": secret}, headers={"origin": "https://evil.example"})
    assert r.status_code == 403 and "set-cookie" not in r.headers
    r = owner.post("/app/shop/shared-links", data={"note": "x"}, headers={"sec-fetch-site": "cross-site"})
    assert r.status_code == 403
    r = owner.post(f"/app/shop/shared-links/{link_id}/revoke", headers={"sec-fetch-site": "cross-site"})
    assert r.status_code == 403 and [t.token_id for t in list_links(ch, "shop")] == [link_id]
    # The owner of `shop` cannot revoke another site's link.
    other_id = create_link(ch, "other")[0]
    assert owner.post(f"/app/shop/shared-links/{other_id}/revoke").status_code == 404
    assert [t.token_id for t in list_links(ch, "other")] == [other_id]


def test_the_cli_creates_lists_and_revokes_links(owner, ch, clickhouse, database):
    env = {**os.environ, "TRACKER_CLICKHOUSE_URL": f"{clickhouse.url}/{database}", "TRACKER_DEMO_SITE": "0"}
    cli = lambda *args: subprocess.run([sys.executable, "-m", "tracker", "share", *args], env=env,  # noqa: E731
                                       capture_output=True, text=True, timeout=120)
    created = cli("create", "shop", "--note", "colleague", "--base-url", "https://stats.shop.example/")
    assert created.returncode == 0, created.stderr
    link = created.stdout.strip()
    assert link.startswith("https://stats.shop.example/app/_share#fhs_") and "shown only now" in created.stderr
    link_id = link.split("#fhs_")[1].split("_")[0]
    assert link_id in cli("list", "--site", "shop").stdout and "colleague" in cli("list").stdout
    assert cli("create", "nope").returncode == 2

    viewer = open_link(owner.app, link.replace("https://stats.shop.example", "http://testserver"))
    assert viewer.get("/app/shop").status_code == 200
    revoked = cli("revoke", link_id)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert cli("revoke", link_id).returncode == 2
    assert link_id not in cli("list").stdout
    owner.app.state.tracker.share_links.reloads.good_from = float("-inf")  # past TOKEN_CACHE_S, as other workers will be
    assert viewer.get("/app/shop").status_code == 401


def test_realtime_json_is_the_apis_answer_for_the_cookie(owner, ch):
    r = owner.get("/app/shop/realtime.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert (body["site"], body["visitors"], body["newest"]) == ("shop", 0, [])
    assert r.headers["cache-control"] == "no-store"
    api = owner.get("/api/v1/sites/shop/realtime", params={"limit": 10},
                    headers={"authorization": f"Bearer {owner.token}"}).json()
    assert {k: v for k, v in api.items() if k not in ("since", "as_of")} == {k: v for k, v in body.items() if k not in ("since", "as_of")}
    stranger = TestClient(owner.app, headers={"user-agent": BROWSER_UA})
    r = stranger.get("/app/shop/realtime.json")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert owner.get("/app/other/realtime.json").status_code == 403
    assert owner.get("/app/nope/realtime.json").status_code == 404


def test_share_links_are_their_own_kind_of_secret():
    assert SHARE_LINKS.table == "share_links" and SHARE_LINKS.prefix == "fhs_"
