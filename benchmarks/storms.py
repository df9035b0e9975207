"""Storm benchmark: the reconnect storm without limited nodes on the fast engine and the SimPy engine.

Usage::

    python benchmarks/storms.py [--sizes N,N,...] [--des-max N] [--policy P] [--json PATH]

Workload: ``scenarios/reconnect-storm.toml`` (LTE, a 270 s heartbeat, the IM server down from 20 to
30 min, one simulated hour; immediate retry unless ``--policy``) with ``groups[0].devices`` set to each
size (default 2x10^4, 10^5, 10^6). Every device's feedback is its own (no limited node), so ``auto`` runs
it on the fast engine (``sim.engine.feedback``); the SimPy engine (``des``) runs the sizes up to
``--des-max`` (default 2x10^4: 10^5 takes several minutes and GB).

Each case runs in a fresh Python process after a 10-device warm-up run (compiled kernels loaded); the
scenario is resolved before the timer, which covers :func:`sim.api.simulate` (draws, engine, metrics).
Peak memory: the case process's peak RSS (``wait4``; one process, no workers: the whole process tree),
MB = 10^6 bytes. Device-hours per second: devices x simulated hours / wall seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SCENARIO = REPO_ROOT / "scenarios" / "reconnect-storm.toml"
MARK = "STORMS-CASE-RESULT "
POLICIES = {"immediate": [], "fixed": ['events[0].retry.policy="fixed"'],
            "exponential": ['events[0].retry.policy="exponential"'],
            "jitter": ['events[0].retry.policy="exponential"', "events[0].retry.jitter=true"]}


def run_case(engine: str, devices: int, policy: str) -> dict[str, Any]:
    """In the case process: warm up, then time one run."""
    from sim.api import simulate
    from sim.scenario import load_scenario

    def resolved(n: int):
        return load_scenario(SCENARIO, [f"groups[0].devices={n}", f"simulation.engine={engine}", *POLICIES[policy]])

    simulate(resolved(10))
    rs = resolved(devices)
    start = time.perf_counter()
    res = simulate(rs)
    wall_s = time.perf_counter() - start
    s = res.summary
    return {"engine": s["engine"], "devices": devices, "wall_s": wall_s,
            "device_hours": devices * rs.scenario.simulation.duration_s / 3600.0,
            "messages_total": s["signalling"]["messages_total"], "reconnects": s["apps"]["im"]["reconnects"]}


def spawn(engine: str, devices: int, policy: str) -> dict[str, Any]:
    """One case in a fresh process; its result and peak RSS."""
    proc = subprocess.Popen([sys.executable, __file__, "--case", engine, str(devices), "--policy", policy],
                            stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    line = next((x for x in out.splitlines() if x.startswith(MARK)), None)
    if proc.returncode or line is None:
        return {"engine": engine, "devices": devices, "error": f"exit {proc.returncode}"}
    return json.loads(line[len(MARK):]) | {"peak_rss_mb": usage.ru_maxrss * 1024 / 1e6}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="20000,100000,1000000")
    ap.add_argument("--des-max", type=int, default=20000)
    ap.add_argument("--policy", choices=list(POLICIES), default="immediate")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--case", nargs=2, metavar=("ENGINE", "DEVICES"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.case:
        print(MARK + json.dumps(run_case(args.case[0], int(args.case[1]), args.policy)), flush=True)
        return 0
    rows = []
    print(f"reconnect-storm, {args.policy} retry, no limited node; wall s of simulate, peak RSS of the process")
    print(f"{'engine':>6} {'devices':>10} {'wall s':>9} {'dev-h/s':>12} {'peak MB':>8} {'messages':>14} {'fast x':>8}")
    for n in (int(x) for x in args.sizes.split(",")):
        fast = spawn("fast", n, args.policy)
        des = spawn("des", n, args.policy) if n <= args.des_max else None
        for r in (des, fast):
            if r is None:
                continue
            rows.append(r)
            if "error" in r:
                print(f"{r['engine']:>6} {n:>10,} failed: {r['error']}")
                continue
            ratio = ""
            if r is fast and des is not None and "error" not in des:
                if des["messages_total"] != fast["messages_total"]:
                    ratio = "DIFFERENT"
                else:
                    ratio = f"{des['wall_s'] / fast['wall_s']:.0f}"
            print(f"{r['engine']:>6} {n:>10,} {r['wall_s']:>9.2f} {r['device_hours'] / r['wall_s']:>12,.0f} "
                  f"{r['peak_rss_mb']:>8,.0f} {r['messages_total']:>14,} {ratio:>8}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
