"""Query API tokens: created by the CLI and shown once, stored as SHA-256, one site each, revocable."""

import asyncio
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import wait_for
from tests.query_support import db  # noqa: F401 - db is a fixture
from tracker.clickhouse.threads import ClickHouseUnavailable
from tracker.sites import Site, add_site
from tracker.tokens import TokenCache, create_token, digest, list_tokens, revoke_token


def loader(ch, loads: list | None = None):
    """The cache's load(): the token list read in a thread, each call counted."""
    async def load():
        if loads is not None:
            loads.append(time.monotonic())
        return await asyncio.to_thread(list_tokens, ch)
    return load


def test_cache_finds_the_site_of_a_token_and_reloads_for_new_ones(db):
    async def scenario():
        cache = TokenCache()
        _, first = create_token(db.ch, "shop")
        assert await cache.site_of(first, loader(db.ch)) == "shop"
        _, second = create_token(db.ch, "other")
        assert await cache.site_of(second, loader(db.ch)) == "other"
        assert await cache.site_of(second[:-1] + ("A" if second[-1] != "A" else "B"), loader(db.ch)) is None
        loads = cache.reloads.loads
        assert await cache.site_of("Bearer-ish nonsense", loader(db.ch)) is None
        assert cache.reloads.loads == loads  # no reload can make a malformed token valid
    asyncio.run(scenario())


def test_a_token_created_right_after_a_reload_is_accepted_at_once(db):
    """The defect this guards against: an unknown token within the throttle was answered `unknown`."""
    loads = []

    async def scenario():
        cache = TokenCache()
        cache.reloads.gap_s = 2.0  # wider than the steps below take, so the throttle surely holds
        assert await cache.site_of("fh_nope_not-a-token", loader(db.ch, loads)) is None  # a reload, now
        _, token = create_token(db.ch, "shop")
        # Fifty askers at once, inside the throttle: all wait for the next reload and share it.
        return await asyncio.gather(*(cache.site_of(token, loader(db.ch, loads)) for _ in range(50)))

    assert asyncio.run(scenario()) == ["shop"] * 50
    assert len(loads) == 2
    assert loads[1] - loads[0] >= 2.0  # the second reload waited for the throttle


def test_a_flood_of_wrong_tokens_reloads_at_most_once_per_interval(db):
    loads = []

    async def scenario():
        cache = TokenCache()
        cache.reloads.gap_s = 0.5
        begin = time.monotonic()
        answers = []
        while time.monotonic() - begin < 2.0:  # waves of wrong tokens for two seconds
            answers += await asyncio.gather(*(cache.site_of(f"fh_{i:012x}_wrong", loader(db.ch, loads)) for i in range(40)))
        return answers, time.monotonic() - begin

    answers, elapsed = asyncio.run(scenario())
    assert set(answers) == {None} and len(answers) >= 40
    assert all(later - earlier >= 0.5 for earlier, later in zip(loads, loads[1:]))
    assert len(loads) <= elapsed / 0.5 + 1


def test_an_unloadable_list_is_clickhouse_unavailable_not_unknown(db):
    async def away():
        raise ClickHouseUnavailable("ClickHouse did not answer within 3 s")

    async def scenario():
        cache = TokenCache()
        with pytest.raises(ClickHouseUnavailable):
            await cache.site_of("fh_abc_secret", away)
        _, token = create_token(db.ch, "shop")
        return await cache.site_of(token, loader(db.ch))  # back: the next asker reloads

    assert asyncio.run(scenario()) == "shop"


def test_revoked_tokens_stop_working_after_a_reload(db):
    token_id, token = create_token(db.ch, "shop", note="dashboards")
    assert [(t.token_id, t.note) for t in list_tokens(db.ch)] == [(token_id, "dashboards")]
    assert revoke_token(db.ch, token_id) and not revoke_token(db.ch, token_id)
    cache = TokenCache()
    assert asyncio.run(cache.site_of(token, loader(db.ch))) is None and list_tokens(db.ch) == []


def test_the_api_accepts_a_token_created_right_after_a_reload(client, ch):
    add_site(ch, Site("shop"))
    assert wait_for(lambda: client.app.state.tracker.sites.get("shop") is not None, True)
    client.app.state.tracker.tokens.reloads.gap_s = 2.0  # so the throttle surely holds below
    wrong = client.get("/api/v1/sites/shop/stats", headers={"authorization": "Bearer fh_abc_wrong"})
    assert wrong.status_code == 401  # and the token list was just reloaded
    _, token = create_token(ch, "shop")
    assert client.get("/api/v1/sites/shop/stats", headers={"authorization": f"Bearer {token}"}).status_code == 200


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
