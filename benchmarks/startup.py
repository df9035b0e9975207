"""Start-up benchmark: the whole-process wall time of short commands, against the 1.0 s target.

Usage::

    python benchmarks/startup.py [--repeat R] [--no-cold] [--json PATH]

Each measurement is a fresh process, as a user starts it, timed by GNU time (``/usr/bin/time -f
%e``, the acceptance's instrument; ``time.perf_counter`` around the child where it is missing):

* ``run --no-plots``: ``signalsim run scenarios/quickstart.toml --no-plots`` (1,000 phones, one
  simulated hour, a few milliseconds of simulation), into a fresh temporary folder each time:
  interpreter start, imports, loading the compiled kernels from Numba's cache, the run, the
  files, the terminal report, the exit. The target (issue 14): median of 5 <= 1.0 s.
* ``--help``: ``signalsim --help``, the command list.
* ``import sim.cli``: its cumulative import time as ``python -X importtime`` reports it (in-process,
  so without the interpreter's own start and exit), and which of the heavy libraries (matplotlib,
  pandas, pyarrow, Numba, SimPy, Dask) importing it loads: none is expected.
* baselines, timed alike: ``python -c pass`` (the interpreter's start and exit) and ``python -c
  "import gc; gc.disable(); import numpy, numba, pydantic, click, rich, jinja2; gc.freeze()"``, the
  libraries a run cannot do without (a run writes its tables without pandas), loaded and left at exit
  as the console script does (the collector off, then frozen, see ``sim.cli.main``): the floor under
  ``run --no-plots``, so that what is signalsim's own shows on a machine whose speed varies (the
  floor leaves out what Numba does when it loads the first kernel).
* ``first run``: ``run --no-plots`` once with an empty Numba cache (``NUMBA_CACHE_DIR`` set to a
  new folder; skipped with ``--no-cold``): what the first run after installing, or after a change
  to a kernel's source, costs while the kernels compile. Not part of the target.

An untimed run comes first, so that Numba's cache is filled, the package's bytecode is cached
(that run is started without ``PYTHONDONTWRITEBYTECODE``, as Python runs by default; the timed
ones read the cache either way) and the files are in the page cache: the figures are those of
every run after the first on a default install. Without cached bytecode each start compiles the
package's forty modules again (about 50 ms here).
Printed: each measurement's median, minimum and maximum, user + system CPU seconds (GNU time),
the load average (other work on this shared machine slows every figure), and PASS / FAIL. The
exit status is 0 whatever the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
QUICKSTART = REPO_ROOT / "scenarios" / "quickstart.toml"
GNU_TIME = "/usr/bin/time"
TARGET_S = 1.0  # issue 14: `signalsim run --no-plots` on the quickstart, median of 5 whole-process runs
HEAVY = ("matplotlib", "pandas", "pyarrow", "numba", "simpy", "dask", "distributed")
LIBRARIES = "import gc; gc.disable(); import numpy, numba, pydantic, click, rich, jinja2; gc.freeze()"  # `run` needs


def signalsim() -> list[str]:
    """The console script beside this interpreter (a venv's), else on PATH, else ``python -m sim``."""
    beside = Path(sys.executable).with_name("signalsim")
    found = str(beside) if beside.exists() else shutil.which("signalsim")
    return [found] if found else [sys.executable, "-m", "sim"]


def timed(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Wall seconds of one whole process (and its CPU seconds, under GNU time); raises if it fails."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        gnu = os.access(GNU_TIME, os.X_OK)
        full = [GNU_TIME, "-o", report.name, "-f", "%e %U %S", *cmd] if gnu else cmd
        start = time.perf_counter()
        proc = subprocess.run(full, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, check=False)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit {proc.returncode}: {proc.stderr.strip()[-300:]}")
        if not gnu:
            return {"wall_s": wall}
        wall_s, user_s, sys_s = (float(x) for x in report.read().split()[-3:])
        return {"wall_s": wall_s, "cpu_s": user_s + sys_s}


def series(runs: list[dict[str, float]]) -> dict[str, Any]:
    walls = [r["wall_s"] for r in runs]
    out: dict[str, Any] = {"walls_s": walls, "median_s": statistics.median(walls), "min_s": min(walls),
                           "max_s": max(walls)}
    if all("cpu_s" in r for r in runs):
        out["cpu_median_s"] = statistics.median(r["cpu_s"] for r in runs)
    return out


def import_time(repeat: int) -> dict[str, Any]:
    """``import sim.cli``'s cumulative import time (median of ``repeat``) and the heavy modules it loads."""
    code = f"import sys, sim.cli, json; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    times, loaded = [], []
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=REPO_ROOT, capture_output=True,
                              text=True, check=True)
        line = [row for row in proc.stderr.splitlines() if row.rstrip().endswith("| sim.cli")][-1]
        times.append(int(line.split("|")[1]) / 1e6)  # "import time: self | cumulative | name", in µs
        loaded = json.loads(proc.stdout)
    return {"median_s": statistics.median(times), "heavy_loaded": loaded}


def run_cmd(out: Path) -> list[str]:
    return [*signalsim(), "run", str(QUICKSTART), "--no-plots", "--out", str(out)]


def fmt(s: dict[str, Any]) -> str:
    cpu = f", CPU {s['cpu_median_s']:.2f} s" if "cpu_median_s" in s else ""
    return f"median {s['median_s']:.2f} s (min {s['min_s']:.2f}, max {s['max_s']:.2f}{cpu})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="processes per measurement, median taken (default 5)")
    ap.add_argument("--no-cold", action="store_true", help="skip the first run with an empty Numba cache")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be positive")

    print(f"signalsim start-up: {' '.join(signalsim())}, {args.repeat} processes each, "
          f"{'GNU time' if os.access(GNU_TIME, os.X_OK) else 'perf_counter'}")
    print(f"python {platform.python_version()}, cpu_count {os.cpu_count()}, load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} (other work on the machine slows every figure)\n")
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        # fills Numba's cache and the package's bytecode cache, as a first run does by default
        timed(run_cmd(work / "warm-up"), {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
        figures["run"] = series([timed(run_cmd(work / f"run-{i}")) for i in range(args.repeat)])
        figures["help"] = series([timed([*signalsim(), "--help"]) for _ in range(args.repeat)])
        figures["python"] = series([timed([sys.executable, "-c", "pass"]) for _ in range(args.repeat)])
        figures["libraries"] = series([timed([sys.executable, "-c", LIBRARIES]) for _ in range(args.repeat)])
        figures["import"] = import_time(args.repeat)
        if not args.no_cold:
            env = {**os.environ, "NUMBA_CACHE_DIR": str(work / "numba-cache")}
            figures["cold"] = series([timed(run_cmd(work / "cold"), env)])

    print(f"  {'signalsim run quickstart --no-plots':<38}{fmt(figures['run'])}")
    print(f"  {'signalsim --help':<38}{fmt(figures['help'])}")
    print(f"  {'python -c pass':<38}{fmt(figures['python'])}")
    label = 'python -c "import numpy, numba, ..."'
    print(f"  {label:<38}{fmt(figures['libraries'])}")
    own = figures["run"]["median_s"] - figures["libraries"]["median_s"]
    print(f"  {'run above the libraries':<38}{own:.2f} s (signalsim, the kernels' loading, the run, the files)")
    heavy = ", ".join(figures["import"]["heavy_loaded"]) or "none of " + ", ".join(HEAVY)
    print(f"  {'import sim.cli (-X importtime)':<38}median {figures['import']['median_s']:.3f} s; loads {heavy}")
    if "cold" in figures:
        print(f"  {'first run, empty Numba cache':<38}{figures['cold']['median_s']:.2f} s (the kernels compile)")
    median = figures["run"]["median_s"]
    figures["target"] = {"limit_s": TARGET_S, "passed": median <= TARGET_S}
    print(f"\ntarget: run --no-plots, median of {args.repeat} <= {TARGET_S:g} s wall: {median:.2f} s: "
          f"{'PASS' if median <= TARGET_S else 'FAIL'}")
    if args.json:
        figures["load_average"] = os.getloadavg()
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
