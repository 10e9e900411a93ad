"""Run a command and measure its wall time, peak RSS (summed over its process tree) and
CPU seconds (user + system of every process of the tree, each as last polled)."""

from __future__ import annotations

import contextlib
import subprocess
import time
from dataclasses import dataclass

import psutil


@dataclass
class Measured:
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float  # a slight underestimate: the last poll interval of each process
    stdout: str
    stderr: str


def measure(cmd: list[str], poll: float = 0.05) -> Measured:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    peak = 0
    cpu: dict[int, float] = {}  # pid -> user + system seconds when last polled
    # Output is small (a JSON line, log lines), so reading it after exit cannot block.
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
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
    return Measured(seconds, peak / 2**20, sum(cpu.values()), stdout, stderr)
