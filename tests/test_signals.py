"""Ctrl-C, SIGTERM (Slurm, ``docker stop``) and SIGKILL of a command with worker processes: it
says ``interrupted`` and exits 130 / 143 (SIGKILL: -9, silently), no process it started survives
it, and nothing it was writing is left looking complete."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.outputs.folders import MARKER

from test_sweep import write  # tests/ is on sys.path (pytest's prepend import mode)

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "scenarios" / "quickstart.toml"
BIG_RUN = ["--set", "groups[0].devices=2000000"]  # some 25 s on 2 workers: still running when signalled
LONG_SWEEP = f"""
base = "{QUICKSTART}"
set = ["groups[0].devices=20000"]
replications = 20
[[axes]]
path = "apps[0].heartbeat.interval_s"
values = [60.0, 120.0, 270.0, 600.0, 900.0]
"""
EXIT_WAIT_S = 15.0  # bound on how long the command and its processes may take to go


def _parents() -> dict[int, int]:
    """Every process's parent, from /proc (pid -> ppid)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # ended meanwhile
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])  # the name may hold spaces
    return parents


def _descendants(pid: int) -> set[int]:
    parents, found = _parents(), {pid}
    while True:
        more = {child for child, parent in parents.items() if parent in found} - found
        if not more:
            return found - {pid}
        found |= more


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent has yet to read its status


def _interrupt(args: list[str], tmp_path: Path, signum: int) -> tuple[subprocess.Popen, str, set[int]]:
    """Start ``signalsim ARGS`` with 2 workers, send ``signum`` once they are up; the exited
    process, its stderr and the processes it had started, all of them gone."""
    err_path = tmp_path / "stderr"
    with err_path.open("wb") as err:  # a file, not a pipe: surviving processes would hold a pipe open
        proc = subprocess.Popen([sys.executable, "-m", "sim", *args, "--workers", "2", "--no-plots"], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    tree: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while len(tree) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)  # 4: the resource tracker, the forkserver and 2 workers
            tree = _descendants(proc.pid)
        assert len(tree) >= 4 and proc.poll() is None, err_path.read_text()
        time.sleep(0.5)  # into the work
        tree = _descendants(proc.pid)
        # Ctrl-C on a terminal signals the whole process group; SIGTERM and SIGKILL, the command
        os.killpg(proc.pid, signum) if signum == signal.SIGINT else os.kill(proc.pid, signum)
        proc.wait(timeout=EXIT_WAIT_S)
        deadline = time.monotonic() + EXIT_WAIT_S
        while any(_alive(pid) for pid in tree) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in tree if _alive(pid)], "processes outlived the command"
    finally:  # never leave a failed test's processes behind
        for pid in [proc.pid, *tree]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait()
    return proc, err_path.read_text(), tree


def _check_exit(proc: subprocess.Popen, stderr: str, signum: int) -> None:
    assert "Traceback" not in stderr and "Aborted" not in stderr, stderr
    if signum == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 128 + signum, stderr
        assert stderr.splitlines()[-1] == "interrupted", stderr


SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_run_stops_with_its_workers_and_leaves_no_results(tmp_path: Path, signum: int) -> None:
    out = tmp_path / "out"
    proc, stderr, _ = _interrupt(["run", str(QUICKSTART), "--out", str(out), *BIG_RUN], tmp_path, signum)
    _check_exit(proc, stderr, signum)
    assert not out.exists()
    if signum != signal.SIGKILL:  # a killed process cannot remove its partial folder
        assert not [p.name for p in tmp_path.iterdir() if ".partial-" in p.name]


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_sweep_stops_with_its_workers_and_leaves_no_table(tmp_path: Path, signum: int) -> None:
    out = tmp_path / "out"
    sweep = write(tmp_path, LONG_SWEEP)
    proc, stderr, _ = _interrupt(["sweep", str(sweep), "--out", str(out), "--keep-runs"], tmp_path, signum)
    _check_exit(proc, stderr, signum)
    assert not (out / "results.parquet").exists()
    if signum != signal.SIGKILL:  # finished runs stay (to resume), each complete: no partial or temporary file
        assert not [p for p in out.rglob("*") if p.name.startswith(".") and p.name != MARKER]
