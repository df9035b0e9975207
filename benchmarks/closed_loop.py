"""Closed-loop benchmark: the SimPy engine against the compiled engines on overload and storm scenarios.

Usage::

    python benchmarks/closed_loop.py [--sizes N,N,...] [--fast-sizes N,N,...] [--des-max N]
        [--workloads london,storm,storm-mme] [--two-workers-from N] [--json PATH]

Compiled runs of ``--two-workers-from`` devices or more (default 10^7) use two worker processes, the rest
one process, as issue 14's targets are stated.

Workloads (one simulated hour each, ``groups`` scaled to each size):

- ``london``: ``scenarios/london-2009.toml`` repeated per RNC (20,000 subscribers to an RNC, 10 %
  smartphones with a 270 s IM heartbeat, 0.9 calls per subscriber-hour, the RNC saturated): a closed
  loop with a limited node, which the fast engine runs as the compiled closed loop (``sim.engine.closed``),
  RNC by RNC. Its two groups are repeated once per RNC (devices go to RNC ``d // 20,000`` in group order,
  so one pair of groups for all would give the first RNCs feature phones alone and the last smartphones
  alone); the benchmark writes that scenario to a temporary file.
- ``storm``: ``scenarios/reconnect-storm.toml`` (LTE, the IM server down from 20 to 30 min, immediate
  retry) without a limited node: feedback per device, which the fast engine computes in its per-device
  kernels (``sim.engine.feedback``).
- ``storm-mme``: the same storm behind a finite MME (``controlplane.nodes.MME`` at its default capacity): a
  server outage behind a limited node, which the fast engine runs as the compiled closed loop (the clients'
  retransmissions, SYNs and reconnects each a radio job through the MME).

Each case runs in a fresh Python process after a 200-device warm-up run (kernels loaded from Numba's
cache); the scenario is resolved and checked against the budget (``sim.scenario.budget.check``) before the
timer, which covers :func:`sim.api.simulate` (draws, engine, metrics). A case the budget refuses is
reported as refused, with the budget's reason. Peak memory: the case process and every process under it
(``benchmarks/process_tree.TreePeak``; the benchmark's own process, about 30 MB, included), MB = 10^6 bytes. Device-hours per second: devices x simulated
hours / wall seconds; the ratio is the compiled engine's device-hours per second over SimPy's at the
same size (their results compared: total messages and failed calls must agree).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

REPO_ROOT = Path(__file__).resolve().parent.parent
MARK = "CLOSED-LOOP-CASE-RESULT "
WORKLOADS: dict[str, tuple[str, list[str]]] = {
    "london": ("scenarios/london-2009.toml", []),
    "storm": ("scenarios/reconnect-storm.toml", []),
    "storm-mme": ("scenarios/reconnect-storm.toml", ["controlplane.nodes.MME={}"]),
}


def scenario_file(workload: str, devices: int, folder: Path) -> Path:
    """The workload's scenario at ``devices``: london's pair of groups once per RNC of ``devices_per_node``
    (a 90/10 split of each), written to ``folder``; the others as they are."""
    path = REPO_ROOT / WORKLOADS[workload][0]
    if workload != "london":
        return path
    scn = tomllib.loads(path.read_text(encoding="utf-8"))
    per_rnc = scn["controlplane"]["nodes"]["RNC"]["devices_per_node"]
    pair = scn["groups"]
    scn["groups"] = []
    for r, lo in enumerate(range(0, devices, per_rnc)):
        n = min(per_rnc, devices - lo)
        smart = n // 10
        scn["groups"] += [{**pair[0], "name": f"{pair[0]['name']}-{r}", "devices": n - smart},
                          {**pair[1], "name": f"{pair[1]['name']}-{r}", "devices": smart}]
    out = folder / f"london-{devices}.toml"
    out.write_text(tomli_w.dumps(scn), encoding="utf-8")
    return out


def overrides(workload: str, devices: int, engine: str) -> list[str]:
    """The workload at ``devices`` on ``engine`` (london's sizes are in its file: :func:`scenario_file`)."""
    _, extra = WORKLOADS[workload]
    sizes = [] if workload == "london" else [f"groups[0].devices={devices}"]
    return [*sizes, *extra, f"simulation.engine={engine}"]


def run_case(workload: str, engine: str, devices: int, workers: int) -> dict[str, Any]:
    """In the case process: warm up, check the budget, then time one run (on ``workers`` processes)."""
    from sim.api import simulate
    from sim.errors import ScenarioError
    from sim.scenario import load_scenario
    from sim.scenario.budget import check

    out: dict[str, Any] = {"workload": workload, "engine": engine, "devices": devices, "workers": workers}
    with tempfile.TemporaryDirectory() as folder:
        try:
            rs = load_scenario(scenario_file(workload, devices, Path(folder)), overrides(workload, devices, engine))
            check(rs, workers)
        except ScenarioError as exc:
            return out | {"refused": str(exc).splitlines()[0]}
        simulate(load_scenario(scenario_file(workload, 200, Path(folder)), overrides(workload, 200, engine)))
    start = time.perf_counter()
    res = simulate(rs, workers=workers)
    wall_s = time.perf_counter() - start
    s = res.summary
    return out | {"ran_on": s["engine"], "wall_s": wall_s,
                  "device_hours": devices * rs.scenario.simulation.duration_s / 3600.0,
                  "messages_total": s["signalling"]["messages_total"],
                  "calls_failed": s.get("calls", {}).get("failed", 0)}


def spawn(workload: str, engine: str, devices: int, workers: int = 1) -> dict[str, Any]:
    """One case in a fresh process; its result and the peak memory of its process tree."""
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    from process_tree import TreePeak

    with TreePeak() as peak:
        proc = subprocess.run([sys.executable, __file__, "--case", workload, engine, str(devices), str(workers)],
                              capture_output=True, text=True, cwd=REPO_ROOT)
    line = next((x for x in proc.stdout.splitlines() if x.startswith(MARK)), None)
    if proc.returncode or line is None:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"workload": workload, "engine": engine, "devices": devices, "error": f"exit {proc.returncode}: {tail}"}
    return json.loads(line[len(MARK):]) | {"peak_mb": peak.peak_mb}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="20000,100000", help="both engines")
    ap.add_argument("--fast-sizes", default="1000000,10000000", help="the compiled engines alone")
    ap.add_argument("--des-max", type=int, default=100000, help="largest size SimPy runs")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--two-workers-from", type=int, default=10**7,
                    help="compiled runs of this many devices or more use two worker processes (else one process)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--case", nargs=4, metavar=("WORKLOAD", "ENGINE", "DEVICES", "WORKERS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.case:
        print(MARK + json.dumps(run_case(args.case[0], args.case[1], int(args.case[2]), int(args.case[3]))),
              flush=True)
        return 0
    both = [int(x) for x in args.sizes.split(",") if x]
    alone = [int(x) for x in args.fast_sizes.split(",") if x]
    rows = []
    print("one simulated hour; wall s of simulate; peak MB of the case's process tree; x SimPy: device-hours per "
          "second against SimPy's at the same size")
    print(f"{'workload':>9} {'engine':>6} {'ran on':>6} {'devices':>11} {'workers':>7} {'wall s':>8} {'dev-h/s':>11} "
          f"{'peak MB':>8} {'messages':>13} {'x SimPy':>8}")
    for workload in args.workloads.split(","):
        for n in both + alone:
            des = spawn(workload, "des", n) if n in both and n <= args.des_max else None
            fast = spawn(workload, "fast", n, 2 if n >= args.two_workers_from else 1)
            for r in (des, fast):
                if r is None:
                    continue
                rows.append(r)
                head = f"{workload:>9} {r['engine']:>6}"
                if "error" in r or "refused" in r:
                    print(f"{head} {'':>6} {n:>11,} {r.get('workers', 1):>7} {r.get('error') or r['refused']}")
                    continue
                ratio = ""
                if r is fast and des is not None and "wall_s" in des:
                    same = (des["messages_total"], des["calls_failed"]) == (fast["messages_total"], fast["calls_failed"])
                    ratio = f"{des['wall_s'] / fast['wall_s']:.1f}" if same else "DIFFERENT"
                print(f"{head} {r['ran_on']:>6} {n:>11,} {r['workers']:>7} {r['wall_s']:>8.2f} "
                      f"{r['device_hours'] / r['wall_s']:>11,.0f} "
                      f"{r['peak_mb']:>8,.0f} {r['messages_total']:>13,} {ratio:>8}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
