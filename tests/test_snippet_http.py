"""GET /js/t.js and GET /demo: the tag within its size budget, cacheable, compressed; the demo shop page."""

import gzip
import re
from pathlib import Path

from tests.browser.conftest import QUEUE_STUB
from tracker.http.snippet import SNIPPET_PATH

SNIPPET_DIR = Path(__file__).resolve().parents[1] / "js-snippet"

SIZE_BUDGET_GZIP = 2000  # bytes; Umami's tag is 2,223 B gzipped, Plausible's 2,694 B


def test_the_tag_stays_within_its_gzip_budget():
    size = len(gzip.compress(SNIPPET_PATH.read_bytes(), 9))
    assert size <= SIZE_BUDGET_GZIP, f"js-snippet/dist/t.js is {size} B gzipped, over the {SIZE_BUDGET_GZIP} B budget"


def test_the_tag_is_served_compressed_with_cache_headers(client):
    r = client.get("/js/t.js", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["vary"] == "accept-encoding"
    assert "max-age=86400" in r.headers["cache-control"]
    assert r.content == SNIPPET_PATH.read_bytes()  # httpx decoded the gzip body
    assert int(r.headers["content-length"]) <= SIZE_BUDGET_GZIP


def test_the_tag_is_served_plain_to_clients_without_gzip(client):
    r = client.get("/js/t.js", headers={"accept-encoding": "identity"})
    assert r.status_code == 200
    assert "content-encoding" not in r.headers
    assert int(r.headers["content-length"]) == len(SNIPPET_PATH.read_bytes())


def test_a_cached_tag_is_revalidated_with_its_etag(client):
    etag = client.get("/js/t.js").headers["etag"]
    r = client.get("/js/t.js", headers={"if-none-match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert client.get("/js/t.js", headers={"if-none-match": '"something-older"'}).status_code == 200


def test_the_demo_shop_is_served_on_every_path_below_demo(client):
    for path in ("/demo", "/demo/product/SKU-1001", "/demo/cart"):
        r = client.get(path)
        assert r.status_code == 200
        assert '<script defer src="/js/t.js" data-site="demo"></script>' in r.text


def test_the_index_lists_the_tag_and_the_demo(client):
    endpoints = client.get("/").json()["endpoints"]
    assert endpoints["snippet"] == "GET /js/t.js" and endpoints["demo"] == "GET /demo"


def test_the_readme_documents_every_tag_option_and_the_stub_the_tests_use():
    readme = (SNIPPET_DIR / "README.md").read_text()
    read_by_the_tag = set(re.findall(r"options\.(\w+)", (SNIPPET_DIR / "src" / "config.js").read_text()))
    documented = set(re.findall(r"^\| `data-(\w+)`", readme, re.M))
    assert read_by_the_tag == documented
    assert {"site", "api", "consent", "datalayer"} <= documented
    assert QUEUE_STUB in readme
    assert QUEUE_STUB in (SNIPPET_DIR / "demo" / "shop.html").read_text()
