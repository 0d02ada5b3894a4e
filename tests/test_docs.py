"""The README and docs must match the code: commands exist, settings are listed, the curl example works."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import wait_for, count_rows
from tracker.config import DOCS, Settings, describe
from dataclasses import fields

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_starts_with_the_two_commands():
    head = README.splitlines()[:5]
    assert any(line.strip().startswith("make run") for line in head)
    assert any(line.strip().startswith("make test") for line in head)
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_setting_is_documented_and_the_table_is_current():
    assert set(DOCS) == {f.name for f in fields(Settings)}
    table = subprocess.run([sys.executable, "-m", "tracker", "settings", "--markdown"], capture_output=True, text=True, check=True).stdout
    assert table.strip() in (ROOT / "docs" / "operations.md").read_text(), (
        "docs/operations.md is out of date: paste `python -m tracker settings --markdown` into its Settings section"
    )
    for name, _, _ in describe():
        assert name.startswith("TRACKER_")


def test_readme_cli_commands_parse():
    for line in README.splitlines():
        line = line.strip()
        if line.startswith("python -m tracker "):
            argv = shlex.split(line.split("#", 1)[0])[3:]
            out = subprocess.run([sys.executable, "-m", "tracker", *argv, "--help"], capture_output=True, text=True)
            assert out.returncode == 0, f"README command fails to parse: {line}\n{out.stderr}"


def test_readme_curl_example_is_accepted_and_stored(client, ch):
    block = README[README.index("curl -X POST"):]
    block = block[: block.index("\n\n")].replace("\\\n", " ")
    argv = shlex.split(block)
    body = argv[argv.index("-d") + 1]
    user_agent = argv[argv.index("-A") + 1]
    r = client.post("/api/event", content=body, headers={"content-type": "application/json", "user-agent": user_agent})
    assert r.status_code == 202
    assert r.json() == {"accepted": 1, "dropped": {}, "rejected": []}
    assert '{"accepted": 1, "dropped": {}, "rejected": []}' in README
    assert wait_for(lambda: count_rows(ch), 1) == 1
