"""CPU and memory of the whole tracker when it runs several uvicorn workers.

prometheus-client's multiprocess mode leaves out the process_* metrics (each worker would report
only itself, and whichever worker answers a scrape would stand for all). This collector sums them
over the `serve` process and its workers, read from /proc at scrape time, under the names a
single-process tracker exports, so one dashboard fits both. The embedded ClickHouse, also a child
of `serve`, is left out: it has metrics of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_NOT_WORKERS = (b"tracker.clickhouse.embedded_server",)


def tracker_pids(serve_pid: int) -> list[int]:
    """The serve process and its children, without the embedded ClickHouse."""
    pids = [serve_pid]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is None or int(stat[1]) != serve_pid:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if not any(marker in cmdline for marker in _NOT_WORKERS):
            pids.append(int(entry.name))
    return pids


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (which may contain spaces): state, ppid, ..."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


class ProcessTreeCollector:
    """Registered in the multiprocess registry by tracker/metrics.py; `serve_pid` is the workers' parent."""

    def __init__(self, serve_pid: int | None = None) -> None:
        self.serve_pid = serve_pid or os.getppid()

    def collect(self):
        cpu_ticks = rss_pages = 0
        for pid in tracker_pids(self.serve_pid):
            stat = _stat(pid)
            if stat is not None:
                # After the name: utime and stime are fields 12 and 13, rss is field 22 (proc(5), from 0 at state).
                cpu_ticks += int(stat[11]) + int(stat[12])
                rss_pages += int(stat[21])
        cpu = CounterMetricFamily("process_cpu", "CPU seconds of the tracker's processes (serve and its workers)", unit="seconds")
        cpu.add_metric([], cpu_ticks / _TICKS)
        memory = GaugeMetricFamily("process_resident_memory_bytes", "Resident memory of the tracker's processes (serve and its workers)")
        memory.add_metric([], rss_pages * _PAGE)
        yield cpu
        yield memory
