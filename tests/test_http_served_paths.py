"""First-party paths: the tag and the ingest endpoint under the shop's neutral names (TRACKER_SNIPPET_PATHS, TRACKER_INGEST_PATHS)."""

import os
import re
import subprocess
import sys

import pytest
from starlette.testclient import TestClient

from tests.conftest import BROWSER_UA, count_rows, wait_for
from tracker.app import create_app
from tracker.http.served_paths import served_paths
from tracker.http.snippet import SNIPPET_PATH

ALIASES = dict(snippet_paths="/js/t.js,/a/s.js", ingest_paths="/api/event,/a/e,/b/e")


@pytest.fixture
def aliased(make_settings):
    with TestClient(create_app(make_settings(**ALIASES)), headers={"user-agent": BROWSER_UA}) as client:
        yield client


def ingest_path_in(tag: str) -> list[str]:
    """The paths the served tag resolves against its own src: new URL("...", script.src)."""
    return re.findall(r'new URL\("([^"]*)",', tag)


def test_the_tag_at_an_alias_sends_to_its_paired_ingest_path(aliased):
    assert ingest_path_in(aliased.get("/js/t.js").text) == ["/api/event"]
    aliased_tag = aliased.get("/a/s.js", headers={"accept-encoding": "gzip"})
    assert aliased_tag.status_code == 200 and aliased_tag.headers["content-encoding"] == "gzip"
    assert ingest_path_in(aliased_tag.text) == ["/a/e"]
    # Only the path differs from the built file.
    assert aliased_tag.content == SNIPPET_PATH.read_bytes().replace(b'"/api/event"', b'"/a/e"')
    assert aliased_tag.headers["etag"] != aliased.get("/js/t.js").headers["etag"]
    assert aliased.head("/a/s.js").status_code == 200
    assert aliased.get("/a/s.js", headers={"if-none-match": aliased_tag.headers["etag"]}).status_code == 304
    assert aliased.get("/b/s.js").status_code == 404  # /b/e has no tag of its own
    assert aliased.get("/a/sxjs").status_code == 404  # the path is literal, not a pattern


def test_the_built_tag_holds_the_ingest_literal_once():
    assert SNIPPET_PATH.read_bytes().count(b'"/api/event"') == 1
    assert ingest_path_in(SNIPPET_PATH.read_text()) == ["/api/event"]


def test_every_ingest_alias_takes_events_like_api_event(aliased, ch):
    for path in ("/api/event", "/a/e", "/b/e"):
        r = aliased.post(path, json={"site": "demo", "name": "page_view", "url": f"https://shop.example{path}"})
        assert r.status_code == 202, r.text
        assert r.json() == {"accepted": 1, "dropped": {}, "rejected": []}
    assert wait_for(lambda: count_rows(ch), 3) == 3
    bad = aliased.post("/a/e", json={"site": "demo"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_events"
    assert aliased.get("/a/e").status_code == 405
    assert aliased.options("/a/e").status_code == 204


def test_the_default_paths_are_unchanged(client):
    assert ingest_path_in(client.get("/js/t.js").text) == ["/api/event"]
    assert client.get("/a/s.js").status_code == 404
    assert client.post("/a/e", json={"site": "demo", "name": "page_view"}).status_code in (404, 405)


@pytest.mark.parametrize("snippets, ingest, message", [
    ("/a/s.js,/b/s.js", "/a/e", "TRACKER_INGEST_PATHS names 1 path(s) for 2 snippet path(s)"),
    ("", "/api/event", "TRACKER_SNIPPET_PATHS is empty"),
    ("a/s.js", "/api/event", "TRACKER_SNIPPET_PATHS: 'a/s.js' is not a path"),
    ("/js/t.js", "/a/e\"+alert(1)+\"", "TRACKER_INGEST_PATHS: '/a/e\"+alert(1)+\"' is not a path"),
    ("/js/t.js", "/api/v1/sites", "'/api/v1/sites' is taken by the tracker's own /api/v1 routes"),
    ("/js/t.js", "/app", "'/app' is taken by the tracker's own /app routes"),
    ("/app/e", "/api/event", "TRACKER_SNIPPET_PATHS: '/app/e' is taken by the tracker's own /app routes"),
    ("/a/x", "/a/x", "/a/x is in both"),
    ("/js/t.js", "/a/e,/a/e", "TRACKER_INGEST_PATHS names a path twice"),
])
def test_a_wrong_setting_stops_the_start_naming_it(snippets, ingest, message):
    with pytest.raises(SystemExit) as stopped:
        served_paths(snippets, ingest)
    assert message in str(stopped.value)


def test_paths_that_only_look_like_the_trackers_own_are_allowed():
    paths = served_paths("/apps.js, /a/s.js", "/application/e,/a/e")
    assert paths.snippets == {"/apps.js": "/application/e", "/a/s.js": "/a/e"}
    assert paths.ingest == frozenset({"/application/e", "/a/e"})


def test_serve_refuses_a_wrong_path_setting_before_anything_starts(tmp_path):
    env = {**os.environ, "TRACKER_DATA_DIR": str(tmp_path / "data"), "TRACKER_INGEST_PATHS": "/api/event,a/e"}
    done = subprocess.run([sys.executable, "-m", "tracker", "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "TRACKER_INGEST_PATHS: 'a/e' is not a path" in done.stderr
    assert not (tmp_path / "data").exists()  # no ClickHouse started, no spool made
