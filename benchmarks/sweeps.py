"""Sweep and split-run benchmark: sweep throughput on 1 and 2 local workers, and the speed-up of
one large fast-engine run split over 2 worker processes.

Usage::

    python benchmarks/sweeps.py [--sweep PATH] [--set KEY=VALUE ...] [--workers 1,2] [--devices N] [--no-split]
                                [--json PATH]

* Sweep throughput: ``sim.sweep.run_sweep`` on ``--sweep`` (default
  ``scenarios/sweeps/heartbeat-vs-tail.toml``: 108 runs for one hour) with ``--set`` added to its
  fixed overrides (default ``groups[0].devices=20000``, a hundred times the file's phones: runs of
  about 0.3 s, long enough that starting the worker processes is not the whole story; ``--set
  groups[0].devices=200`` measures the file as it is) into a fresh temporary directory for each
  worker count (nothing resumed), plots off. The timer covers
  everything the command does but loading the sweep file: starting the worker processes, the
  runs, the per-run files, the table. Printed: runs, wall time, runs per second, speed-up
  against the first worker count.
* Split run: ``benchmarks/scenario-3apps.toml`` with ``groups[0].devices=N`` (default 10^6) and
  ``simulation.engine=fast``, resolved before the timer; ``sim.api.simulate(rs, workers=w)``
  timed for w = 1 and 2 in this process, one after the other, and checked to give the same
  summary. Printed: wall times and the speed-up. About 4-6 s per run at 10^6 devices.

Timings on a shared machine vary by tens of percent; the exit status is 0 whatever they are.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
try:
    import sim  # noqa: F401  (installed package)
except ImportError:
    sys.path.insert(0, str(REPO_ROOT))

from sim.api import simulate  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.sweep import load_sweep, run_sweep  # noqa: E402


def sweep_throughput(path: Path, extra: list[str], workers: list[int]) -> list[dict[str, Any]]:
    sweep = load_sweep(path)
    sweep = replace(sweep, spec=sweep.spec.model_copy(update={"set": [*sweep.spec.set, *extra]}))
    rows = []
    for count in workers:
        with tempfile.TemporaryDirectory(prefix="sweep-bench-") as out:
            start = time.perf_counter()
            report = run_sweep(sweep, Path(out), workers=count, plots=False)
            wall_s = time.perf_counter() - start
        rows.append({"workers": count, "runs": report.ran, "failed": report.failed, "wall_s": wall_s,
                     "runs_per_s": report.ran / wall_s})
    return rows


def split_speedup(devices: int) -> list[dict[str, Any]]:
    rs = load_scenario(HERE / "scenario-3apps.toml", [f"groups[0].devices={devices}", "simulation.engine=fast"])
    rows, summaries = [], []
    for count in (1, 2):
        start = time.perf_counter()
        results = simulate(rs, workers=count)
        rows.append({"workers": count, "devices": devices, "wall_s": time.perf_counter() - start})
        summaries.append(results.summary)
    rows[1]["same_summary"] = summaries[0] == summaries[1]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweep", type=Path, default=REPO_ROOT / "scenarios" / "sweeps" / "heartbeat-vs-tail.toml")
    parser.add_argument("--set", dest="overrides", action="append", metavar="KEY=VALUE",
                        help="added to the sweep's fixed overrides (repeatable) [default: groups[0].devices=20000]")
    parser.add_argument("--workers", default="1,2", help="local worker counts for the sweep, comma-separated")
    parser.add_argument("--devices", type=int, default=10**6, help="devices of the split run")
    parser.add_argument("--no-split", action="store_true", help="skip the split run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    print(f"python {platform.python_version()}, cpu_count {os.cpu_count()}, load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} (other work on the machine slows every figure)")
    extra = args.overrides or ["groups[0].devices=20000"]
    sweep = sweep_throughput(args.sweep, extra, [int(w) for w in args.workers.split(",")])
    print(f"\nsweep {args.sweep.name}, --set {' '.join(extra)}")
    print(f"{'workers':>8} {'runs':>6} {'wall s':>8} {'runs/s':>8} {'speed-up':>9}")
    for row in sweep:
        print(f"{row['workers']:>8} {row['runs']:>6} {row['wall_s']:>8.2f} {row['runs_per_s']:>8.1f} "
              f"{row['runs_per_s'] / sweep[0]['runs_per_s']:>9.2f}")
    split: list[dict[str, Any]] = []
    if not args.no_split:
        split = split_speedup(args.devices)
        print(f"\nsplit run: {args.devices:,} devices x 3 apps x 1 h, fast engine")
        print(f"{'workers':>8} {'wall s':>8} {'speed-up':>9}")
        for row in split:
            print(f"{row['workers']:>8} {row['wall_s']:>8.2f} {split[0]['wall_s'] / row['wall_s']:>9.2f}")
        print(f"same summary on 1 and 2 workers: {split[1]['same_summary']}")
    if args.json:
        args.json.write_text(json.dumps({"sweep": sweep, "split": split, "load_average": os.getloadavg()}, indent=2))


if __name__ == "__main__":
    main()
