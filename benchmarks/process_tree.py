"""Peak memory of a process and every process under it (a helper of the benchmarks, not one itself).

A split run's workers are not this process's children: the forkserver forks them, and it lives
until this process exits. So ``getrusage(RUSAGE_CHILDREN)``, which counts only children that
have ended and been waited for, sees neither the forkserver nor its workers while a benchmark
runs (it read 0, and "parent + 2 x the largest worker" came out as the parent alone).

:class:`TreePeak` instead walks the tree under this process (``/proc/PID/task/TID/children``,
recursively: the forkserver, its workers, the resource tracker) every ``period_s`` from a
thread, and reads each process's ``VmHWM``, the kernel's own record of that process's peak
resident set. Sampling only has to find each process once after its peak, not catch the peak:
nothing is missed but a process that lives less than a period, or what one adds in its last
period (a worker's last moments are returning its result). The figure is the sum of every
process's peak (this one's included): a bound from above on what the tree held at once, reached
when the processes peak together (the workers of a split run do; the forkserver stays at its
preload) and above it by the pages they share (each process's peak counts the shared libraries
in full, as a single process's ``ru_maxrss`` does). ``concurrent_mb``, the largest sum of the
processes' current ``VmRSS`` over the samples, bounds it from below.

Linux only (``/proc``); elsewhere it falls back to this process's ``ru_maxrss`` and says so.
"""
from __future__ import annotations

import os
import resource
import sys
import threading
from types import TracebackType

PROC = "/proc"
SUPPORTED = os.path.exists(f"{PROC}/self/status")


def descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (children, their children, ...), found through each thread's children."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"{PROC}/{parent}/task")
        except OSError:  # it has ended
            continue
        for tid in tasks:
            try:
                with open(f"{PROC}/{parent}/task/{tid}/children", encoding="ascii") as f:
                    children = [int(c) for c in f.read().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


def status_kb(pid: int) -> tuple[int, int] | None:
    """(VmHWM, VmRSS) of ``pid`` in KiB, None once it has ended (or for a zombie, which has neither)."""
    hwm = rss = None
    try:
        with open(f"{PROC}/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
    except OSError:
        return None
    return None if hwm is None or rss is None else (hwm, rss)


class TreePeak:
    """Peak RSS of this process and all its descendants while the ``with`` block runs, in MB (10^6 B)."""

    def __init__(self, period_s: float = 0.02) -> None:
        self.period_s = period_s
        self._peaks: dict[tuple[int, str], int] = {}  # (pid, start time) -> its VmHWM, KiB: pids get reused
        self._concurrent_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-peak", daemon=True)

    def __enter__(self) -> TreePeak:
        if SUPPORTED:
            self._sample()
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if SUPPORTED:
            self._stop.set()
            self._thread.join()
            self._sample()

    @property
    def processes(self) -> int:
        """How many processes were seen (this one included)."""
        return len(self._peaks) if SUPPORTED else 1

    @property
    def peak_mb(self) -> float:
        """The sum of every process's own peak RSS (see the module docstring); ru_maxrss where /proc is missing."""
        if not SUPPORTED:
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            return rss / 1e6 if sys.platform == "darwin" else rss * 1024 / 1e6  # bytes on macOS, else KiB
        return sum(self._peaks.values()) * 1024 / 1e6

    @property
    def concurrent_mb(self) -> float:
        """The largest sum of the processes' current RSS seen in one sample (a bound from below)."""
        return self._concurrent_kb * 1024 / 1e6 if SUPPORTED else float("nan")

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self._sample()

    def _sample(self) -> None:
        total = 0
        for pid in [os.getpid(), *descendants(os.getpid())]:
            got = status_kb(pid)
            if got is None:
                continue
            key = (pid, _start_time(pid))
            self._peaks[key] = max(self._peaks.get(key, 0), got[0])
            total += got[1]
        self._concurrent_kb = max(self._concurrent_kb, total)


def _start_time(pid: int) -> str:
    """The process's start time (``/proc/PID/stat`` field 22), which tells a reused pid from its first owner."""
    try:
        with open(f"{PROC}/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[19]
    except (OSError, IndexError):
        return "?"
