"""With several workers, /metrics reports CPU and memory of all the tracker's processes together."""

from __future__ import annotations

import re
import subprocess

import httpx

from tests.processes import start_tracker_process


def _sample(text: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))


def _rss_kib(*ps_selector: str) -> list[int]:
    out = subprocess.run(["ps", "-o", "rss=", *ps_selector], capture_output=True, text=True).stdout
    return [int(v) for v in out.split()]


def test_process_metrics_sum_the_serve_process_and_its_workers(tmp_path, clickhouse, database):
    tracker = start_tracker_process(tmp_path / "data", {"TRACKER_WORKERS": "2", "TRACKER_CLICKHOUSE_URL": f"{clickhouse.url}/{database}"})
    try:
        text = httpx.get(tracker.base_url + "/metrics").text
        serve_kib = _rss_kib("-p", str(tracker.process.pid))
        children_kib = _rss_kib("--ppid", str(tracker.process.pid))
        reported_kib = _sample(text, "process_resident_memory_bytes") / 1024
        # ps reads the same kernel figures a moment later: allow for what the processes allocated meanwhile.
        assert len(children_kib) >= 2
        assert 0.8 * sum(serve_kib + children_kib) < reported_kib < 1.25 * sum(serve_kib + children_kib)
        assert reported_kib > 1.5 * max(children_kib)  # more than the worker that answered
        assert _sample(text, "process_cpu_seconds_total") > 0
    finally:
        tracker.process.terminate()
        tracker.process.wait(30)
