"""Sweeps and split runs across processes: the same table and results whatever runs them (1, 2, 4
local workers or a real Dask LocalCluster), and a sweep killed partway resumes without losing or
redoing finished runs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dask
import distributed
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.api import simulate
from sim.cli import cli
from sim.scenario import load_scenario
from sim.sweep import load_sweep, run_sweep
from test_sweep import write  # tests/ is on sys.path (pytest's prepend import mode)


ROOT = Path(__file__).resolve().parent.parent
WALL = ["wall_time_s"]  # the one column that differs between identical runs


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None) as local:
        yield local


def test_same_table_for_1_2_4_workers_and_dask(tmp_path: Path, cluster) -> None:
    sweep = load_sweep(write(tmp_path))
    tables = {n: pd.read_parquet(run_sweep(sweep, tmp_path / f"w{n}", workers=n, plots=False).table).drop(columns=WALL)
              for n in (1, 2, 4)}
    result = CliRunner().invoke(cli, ["sweep", str(tmp_path / "sweep.toml"), "--out", str(tmp_path / "dask"),
                                      "--scheduler", cluster.scheduler_address, "--quiet", "--no-plots"])
    assert result.exit_code == 0, result.output
    tables["dask"] = pd.read_parquet(tmp_path / "dask" / "results.parquet").drop(columns=WALL)
    assert len(tables[1]) == 8 and set(tables[1]["status"]) == {"ok"}
    for key, table in tables.items():
        pd.testing.assert_frame_equal(table, tables[1], check_exact=True, obj=str(key))


def test_split_run_on_dask_equals_one_process(tmp_path: Path, cluster) -> None:
    overrides = ["groups[0].devices=6000", "simulation.duration_s=600"]  # 6,000 devices: several chunks
    rs = load_scenario(ROOT / "scenarios" / "quickstart.toml", overrides)
    one = simulate(rs)
    with distributed.Client(cluster) as client:
        split = simulate(rs, executor=client.get_executor())
    assert split.summary == one.summary
    for name in ("timeseries", "apps", "devices"):
        pd.testing.assert_frame_equal(getattr(split, name), getattr(one, name), check_exact=True)
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["run", str(ROOT / "scenarios" / "quickstart.toml"), "--out", str(out),
                                      "--scheduler", cluster.scheduler_address, "--quiet", "--no-plots",
                                      *[f"--set={o}" for o in overrides]])
    assert result.exit_code == 0, result.output
    written = json.loads((out / "summary.json").read_text())
    assert written.pop("outputs") == {"devices": "devices.csv"}  # the file also names the device table
    assert written == json.loads(json.dumps(one.summary))


def test_unreachable_scheduler_is_one_line_exit_2(tmp_path: Path) -> None:
    scheduler_file = tmp_path / "scheduler.json"  # a scheduler file naming a port nobody listens on
    scheduler_file.write_text(json.dumps({"address": "tcp://127.0.0.1:9", "type": "Scheduler"}))
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = CliRunner().invoke(cli, ["run", "--scheduler", str(scheduler_file), "--out", str(tmp_path / "o"),
                                          "--quiet", "--set", "groups[0].devices=5"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --scheduler: cannot connect to the Dask scheduler"), result.output
    assert not (tmp_path / "o").exists()


KILL_SWEEP = """
base = "base.toml"
set = ["groups[0].devices=8000", "simulation.duration_s=3600"]
replications = 6
seed = 11
[[axes]]
path = "apps[0].heartbeat.interval_s"
values = [60.0, 120.0, 270.0, 600.0, 900.0]
"""


def _sweep_process(sweep: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(sweep), "--out", str(out), "--workers", "2",
                             "--quiet", "--no-plots"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_killed_sweep_resumes_to_the_uninterrupted_table(tmp_path: Path) -> None:
    sweep = write(tmp_path, KILL_SWEEP)
    out = tmp_path / "killed"
    points = out / "points"
    proc = _sweep_process(sweep, out)
    deadline = time.monotonic() + 120
    while len(list(points.glob("*.json"))) < 4 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the process group: the sweep and its worker processes
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the sweep finished before it could be killed: make it longer"
    assert not (out / "results.parquet").exists()
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in points.glob("*.json")}
    assert 4 <= len(before) < 30

    rerun = subprocess.run([sys.executable, "-m", "sim", "sweep", str(sweep), "--out", str(out), "--workers", "2",
                            "--no-plots"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"30 runs: {30 - len(before)} run now, {len(before)} already done" in rerun.stderr
    for name, stamp in before.items():  # finished runs were not recomputed (nor rewritten)
        path = points / name
        assert (path.stat().st_ino, path.stat().st_mtime_ns) == stamp
    assert not list(points.glob(".*"))  # no temporary file left behind

    whole = run_sweep(load_sweep(sweep), tmp_path / "whole", workers=1, plots=False)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet").drop(columns=WALL),
                                  pd.read_parquet(whole.table).drop(columns=WALL), check_exact=True)


def test_scheduler_without_dask_is_one_line_exit_2(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the dask extra were not installed
    result = CliRunner().invoke(cli, ["sweep", str(write(tmp_path)), "--scheduler", "tcp://127.0.0.1:8786",
                                      "--out", str(tmp_path / "o"), "--quiet"])
    assert result.exit_code == 2
    assert result.output == 'error: --scheduler: needs Dask: pip install -e ".[dask]"\n'
    assert not (tmp_path / "o").exists()
