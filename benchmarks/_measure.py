"""Run a command and measure its wall time, peak RSS (summed over its process tree) and
CPU seconds (user + system of every process of the tree, each as last polled), and the
peak RSS of each process of the tree on its own (`per_process_mb`, the root first)."""

from __future__ import annotations

import contextlib
import subprocess
import time
from dataclasses import dataclass, field

import psutil


@dataclass
class Measured:
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float  # a slight underestimate: the last poll interval of each process
    stdout: str
    stderr: str
    per_process_mb: dict[int, float] = field(default_factory=dict)  # pid -> its peak RSS

    @property
    def root_peak_mb(self) -> float:
        """The measured command's own process (sqlgen's driver)."""
        return next(iter(self.per_process_mb.values()), 0.0)

    @property
    def child_peak_mb(self) -> float:
        """The largest of its descendants (sqlgen's workers), 0 if none."""
        return max(list(self.per_process_mb.values())[1:], default=0.0)


def measure(cmd: list[str], poll: float = 0.05) -> Measured:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    peak = 0
    each: dict[int, int] = {proc.pid: 0}  # pid -> its own peak RSS, the root first
    cpu: dict[int, float] = {}  # pid -> user + system seconds when last polled
    # Output is small (a JSON line, log lines), so reading it after exit cannot block.
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
            rss = {}
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    rss[p.pid] = p.memory_info().rss
            peak = max(peak, sum(rss.values()))
            for pid, r in rss.items():
                each[pid] = max(each.get(pid, 0), r)
        except psutil.Error:
            procs = []
        for p in procs:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                cpu[p.pid] = t.user + t.system
        time.sleep(poll)
    seconds = time.perf_counter() - start
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}):\n{stderr[-2000:]}")
    per = {pid: r / 2**20 for pid, r in each.items()}
    return Measured(seconds, peak / 2**20, sum(cpu.values()), stdout, stderr, per)
