"""Query API tokens: created by the CLI and shown once, stored as SHA-256, one site each, revocable."""

import os
import subprocess
import sys

from tests.conftest import wait_for
from tests.query_support import db  # noqa: F401 - db is a fixture
from tracker.sites import Site, add_site
from tracker.tokens import TokenCache, create_token, digest, list_tokens, revoke_token


def test_cache_finds_the_site_of_a_token_and_reloads_for_new_ones(db):
    cache = TokenCache()
    _, first = create_token(db.ch, "shop")
    assert cache.site_of(first, lambda: db.ch) == "shop"
    _, second = create_token(db.ch, "other")
    cache.loaded_at -= 2  # a second later: an unknown token triggers a reload
    assert cache.site_of(second, lambda: db.ch) == "other"
    assert cache.site_of(second[:-1] + ("A" if second[-1] != "A" else "B"), lambda: db.ch) is None
    assert cache.site_of("Bearer-ish nonsense", lambda: db.ch) is None


def test_revoked_tokens_stop_working_after_a_reload(db):
    token_id, token = create_token(db.ch, "shop", note="dashboards")
    assert [(t.token_id, t.note) for t in list_tokens(db.ch)] == [(token_id, "dashboards")]
    assert revoke_token(db.ch, token_id) and not revoke_token(db.ch, token_id)
    cache = TokenCache()
    assert cache.site_of(token, lambda: db.ch) is None and list_tokens(db.ch) == []


def test_cli_creates_a_token_that_the_api_accepts(client, ch, settings):
    add_site(ch, Site("shop"))
    assert wait_for(lambda: client.app.state.tracker.sites.get("shop") is not None, True)
    env = {**os.environ, "TRACKER_CLICKHOUSE_URL": settings.clickhouse_url, "TRACKER_DATA_DIR": settings.data_dir}
    out = subprocess.run([sys.executable, "-m", "tracker", "token", "create", "shop"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert token.startswith("fh_") and "shown only now" in out.stderr
    assert ch.query("SELECT sha256 FROM api_tokens").result_rows == [(digest(token),)]
    assert client.get("/api/v1/sites/shop/stats", headers={"authorization": f"Bearer {token}"}).status_code == 200
    missing = subprocess.run([sys.executable, "-m", "tracker", "token", "create", "nope"], capture_output=True, text=True, env=env)
    assert missing.returncode == 2 and "no site 'nope'" in missing.stderr
