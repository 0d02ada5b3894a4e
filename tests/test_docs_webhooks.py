"""docs/webhooks.md matches the code: its verification snippet accepts a real delivery (and
refuses a forged or stale one), its example body has the fields a real body has, its commands
parse, and its settings rows are the current ones."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import orjson

from tests.webhooks.support import FAST, IDLE_S, abandoned_soon, running, start_receiver, stop_receiver
from tracker.webhooks.registry import add_webhook

DOC = (Path(__file__).resolve().parents[1] / "docs" / "webhooks.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.S)


def keys(value, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        return {f"{prefix}{k}" for k in value} | {x for k, v in value.items() for x in keys(v, f"{prefix}{k}.")}
    if isinstance(value, list) and value:
        return keys(value[0], prefix)
    return set()


def test_the_snippet_verifies_a_real_delivery_and_the_example_body_matches_it(make_settings, ch):
    receiver = start_receiver()
    try:
        with running(make_settings(**FAST)):
            hook = add_webhook(ch, "shop", receiver.url, IDLE_S)
            abandoned_soon(ch, 1)
            [delivery] = receiver.wait_for(1)
    finally:
        stop_receiver(receiver)
    [snippet] = blocks("python")
    namespace: dict = {}
    exec(snippet, namespace)  # noqa: S102 - the documented code, run as a receiver would
    verify = namespace["verify"]
    header = delivery.headers["funnelhouse-signature"]
    assert b'"quantity":1' in delivery.body
    assert verify(hook.secret, header, delivery.body)
    assert not verify(hook.secret, header, delivery.body.replace(b'"quantity":1', b'"quantity":9'))  # forged
    assert not verify("whsec_another", header, delivery.body)
    assert not verify(hook.secret, "nonsense", delivery.body)
    time.sleep(1.1)
    assert not verify(hook.secret, header, delivery.body, tolerance_s=1)  # signed more than a second ago: stale

    [example] = blocks("json")
    assert keys(orjson.loads(example)) == keys(delivery.json)
    for header_name in ("Idempotency-Key", "Funnelhouse-Event", "Funnelhouse-Attempt", "Funnelhouse-Signature", "Content-Type"):
        assert f"{header_name}:" in DOC and header_name.lower() in delivery.headers


def test_documented_commands_parse_and_settings_are_current():
    commands = [line.strip() for line in DOC.splitlines() if line.strip().startswith("python -m tracker webhook")]
    assert len(commands) == 3
    for line in commands:
        argv = shlex.split(line)[3:]
        out = subprocess.run([sys.executable, "-m", "tracker", *argv, "--help"], capture_output=True, text=True)
        assert out.returncode == 0, (line, out.stderr)
    table = subprocess.run([sys.executable, "-m", "tracker", "settings", "--markdown"], capture_output=True, text=True, check=True).stdout
    rows = [line for line in table.splitlines() if "TRACKER_WEBHOOK_" in line]
    assert len(rows) == 4 and all(row in DOC for row in rows)
