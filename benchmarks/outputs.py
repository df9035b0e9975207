"""Outputs benchmark: how long writing a run's results takes against simulating it.

Usage::

    python benchmarks/outputs.py [--sizes N,N,...] [--workers W] [--scenario PATH] [--dir DIR] [--csv]
                                 [--json PATH]

Workload: ``benchmarks/scenario-3apps.toml`` on the fast engine with ``groups[0].devices`` set to
each size (default 10^6 and 10^7), ``--workers`` processes (default 1). Each size runs in a
fresh Python process (this script re-run with ``--case``) after a 10-device warm-up run, so the
compiled kernels are loaded and the peak memory is per size. Timers, in that order:

* ``simulate``: :func:`sim.api.simulate` only (the scenario is loaded before it);
* ``write``: :func:`sim.outputs.files.write_results` with the default outputs and the plots, as
  ``signalsim run`` calls it (the resolved scenario's text is made before the timer): every
  file, the plots, the atomic swap into place;
* ``write, no plots``: the same without the plots (``--no-plots``), into another directory;
* ``device table``, ``plots``: :func:`sim.outputs.tables.write_devices` (default choice) and
  :func:`sim.outputs.plots.write_plots` alone, for where the time goes;
* ``devices.csv`` (``--csv`` only): ``write_devices`` with ``"csv"``, what the table cost before.

Writes go to a fresh directory under ``--dir`` (default ``results/``, on the same disk as a
run's results), removed afterwards; the times are what a run waits for (the page cache takes the
data; nothing is fsynced). Peak RSS = the peak of the case process and every process under it
(a split run's forkserver and workers), each one's own peak summed (``process_tree.TreePeak``;
until 2026-12 the workers, the forkserver's children, were missed). MB = 10^6 bytes. Target: at 10^7 devices, write (with plots) <= 0.5 x simulate. The exit
status is 0 whatever the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from process_tree import TreePeak

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
SCENARIO = HERE / "scenario-3apps.toml"
MARK = "OUTPUTS-CASE-RESULT "  # prefix of the result line a case process prints
SIZES = [10**6, 10**7]
TARGET_RATIO = 0.5  # write / simulate at 10^7 devices
TARGET_SIZE = 10**7


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def run_case(devices: int, args: argparse.Namespace) -> dict[str, Any]:
    """Every timer of one size, in this process."""
    try:
        import sim  # noqa: F401  (installed package)
    except ImportError:
        sys.path.insert(0, str(REPO_ROOT))
    from sim.api import provenance, simulate
    from sim.outputs.files import write_results
    from sim.outputs.plots import write_plots
    from sim.outputs.tables import write_devices
    from sim.scenario import load_scenario

    overrides = [f"groups[0].devices={devices}", "simulation.engine=fast"]
    simulate(load_scenario(args.scenario, [*overrides, "groups[0].devices=10"]), workers=args.workers)
    rs = load_scenario(args.scenario, overrides)
    out: dict[str, Any] = {"devices": devices, "workers": args.workers}
    # the whole tree's peak (a split run's workers are the forkserver's children), the writes included
    with TreePeak() as tree:
        results, out["simulate_s"] = _timed(lambda: simulate(rs, workers=args.workers))
        resolved = rs.to_toml(provenance(out["simulate_s"]))
        Path(args.dir).mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="bench-outputs-", dir=args.dir))
        try:
            written, out["write_s"] = _timed(lambda: write_results(results, resolved, work / "run", write_plots))
            out["files"] = {p.name: p.stat().st_size for p in written.iterdir() if p.is_file()}
            _, out["write_no_plots_s"] = _timed(lambda: write_results(results, resolved, work / "no-plots"))
            part = work / "parts"
            part.mkdir()
            _, out["device_table_s"] = _timed(lambda: write_devices(results.devices, part, "auto"))
            _, out["plots_s"] = _timed(lambda: write_plots(results, part / "plots"))
            if args.csv:
                path, out["csv_s"] = _timed(lambda: write_devices(results.devices, part, "csv"))
                out["csv_bytes"] = path.stat().st_size
        finally:
            shutil.rmtree(work, ignore_errors=True)
    out["peak_rss_mb"] = tree.peak_mb
    return out


def spawn_case(devices: int, args: argparse.Namespace) -> dict[str, Any]:
    """One size in a fresh interpreter: its result, or why there is none."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--case", str(devices), "--workers", str(args.workers),
           "--scenario", str(args.scenario), "--dir", str(args.dir)] + (["--csv"] if args.csv else [])
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"devices": devices, "workers": args.workers, "error": f"exit status {proc.returncode}: {last[:200]}"}


def print_report(rows: list[dict[str, Any]]) -> None:
    print("| devices | workers | simulate s | write s | write / simulate | write s, no plots | ratio, no plots "
          "| device table s | plots s | devices.csv s | device table file, MB | peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for r in rows:
        if r.get("error"):
            print(f"| {r['devices']:,} | {r['workers']} | failed: {r['error']} |")
            continue
        table = next(n for n in r["files"] if n.startswith("devices."))
        csv = f"{r['csv_s']:.2f}" if "csv_s" in r else "-"
        print(f"| {r['devices']:,} | {r['workers']} | {r['simulate_s']:.2f} | {r['write_s']:.2f} | "
              f"{r['write_s'] / r['simulate_s']:.3f} | {r['write_no_plots_s']:.2f} | "
              f"{r['write_no_plots_s'] / r['simulate_s']:.3f} | {r['device_table_s']:.2f} | {r['plots_s']:.2f} | "
              f"{csv} | {table}, {r['files'][table] / 1e6:.0f} | {r['peak_rss_mb']:,.0f} |")
    for r in rows:
        if r["devices"] == TARGET_SIZE and not r.get("error"):
            ratio = r["write_s"] / r["simulate_s"]
            verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
            print(f"\ntarget at {TARGET_SIZE:,} devices, {r['workers']} worker(s): write <= {TARGET_RATIO} x "
                  f"simulate: {ratio:.3f} x: {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="device counts, comma-separated")
    parser.add_argument("--workers", type=int, default=1, help="fast-engine worker processes (1 or 2)")
    parser.add_argument("--scenario", type=Path, default=SCENARIO)
    parser.add_argument("--dir", type=Path, default=REPO_ROOT / "results", help="where the writes go")
    parser.add_argument("--csv", action="store_true", help="also time devices.csv (about a minute at 10^7)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--case", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case is not None:
        print(MARK + json.dumps(run_case(args.case, args)))
        return 0
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}")
    rows = [spawn_case(int(n), args) for n in args.sizes.split(",")]
    print_report(rows)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
