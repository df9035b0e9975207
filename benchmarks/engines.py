"""Engine benchmark: a bare SimPy loop, the SimPy engine and the fast engine on the same scenarios.

Usage::

    python benchmarks/engines.py [--quick] [--des-max N] [--fast-max N] [--sizes N,N,...]
                                 [--scenario PATH] [--repeat R] [--bare-gc-off] [--json PATH]

Workload: ``benchmarks/scenario-3apps.toml`` (one LTE group, three apps per device, open loop,
one simulated hour) with ``groups[0].devices`` set to each size. Sizes: 10^4, 10^5, 10^6, 10^7
devices; the SimPy engine ("des") runs up to ``--des-max`` (default 10^5: 10^6 takes many
minutes), the fast engine up to ``--fast-max`` (default 10^7). ``--quick``: 10^3 and 10^4 only.

Cases, each in a fresh Python process (this script re-run with ``--case``), so peak memory is
per case:

* ``des`` / ``fast``: the scenario is loaded and resolved with the overrides
  ``groups[0].devices=N`` and ``simulation.engine=des|fast`` *before* the timer starts; the timer
  covers :func:`sim.api.simulate` only (input draws, the engine run and the metric reduction,
  which builds the result tables). The engine is chosen only through the scenario key, so the
  fast engine needs no change here once ``simulation.engine = "fast"`` is accepted; until then
  its cases are reported as failed with the one-line error.
* ``bare``: the SimPy engine's baseline, at each size the SimPy engine ran: one SimPy process
  per device doing only ``yield env.timeout(interval)``, regular intervals staggered in creation
  order, exactly as many timeouts in all as the SimPy engine's device-events at that size (the
  "bare loop, regular" of ``des_throughput.py``: SimPy's best case). The timer covers creating
  the processes and running them. ``--bare-gc-off`` runs it with the cyclic GC frozen and off,
  as the engine runs.

Device-events of a run = transfers logged = the sum over ``summary["apps"]`` (the scenario's apps
and the pseudo-apps ``os-push`` and ``network``) of ``heartbeats + messages + reconnects``. In the
SimPy engine one transfer is one SimPy timeout, so the bare loop does the same number of SimPy
events. (``des_throughput.py`` counts packets instead, about 2.5 per transfer here; the packet
count is kept in the ``--json`` output.)

Peak memory = the peak RSS of the case's process and every process under it (a split run's
forkserver, its workers and the resource tracker), each process's own peak summed
(``process_tree.TreePeak``; one process: its ``ru_maxrss``). It includes the interpreter and the
imported libraries (numpy, pandas, SimPy, pydantic); "base" is the case process's peak before
the timed run. MB = 10^6 bytes. (Until 2026-12 a split run's figure added ``RUSAGE_CHILDREN``,
which never sees the forkserver's workers while the case runs: it was the parent's alone.)

Targets (fast engine): 10^6 devices x 3 apps x 1 h in <= 10 s wall and <= 2 GB (2000 MB) peak
RSS; device-events/s >= 50 x the SimPy engine's at every size both ran; cost per device-hour
(wall / (devices x simulated hours)) flat: largest / smallest over the sizes run <= 1.5 (the
target's range is 10^4 .. 10^7). The exit status is 0 whether or not a target is met.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from process_tree import TreePeak

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
SCENARIO = HERE / "scenario-3apps.toml"
MARK = "ENGINES-CASE-RESULT "  # prefix of the result line a case process prints

LADDER = [10**4, 10**5, 10**6, 10**7]
QUICK_LADDER = [10**3, 10**4]
TARGET_WALL_S = 10.0  # fast engine, 10^6 devices
TARGET_RSS_MB = 2000.0  # fast engine, 10^6 devices: 2 GB
TARGET_SIZE = 10**6
TARGET_SPEEDUP = 50.0  # fast vs des device-events/s
TARGET_FLAT = 1.5  # largest / smallest cost per device-hour of the fast engine


# --- in the case process -----------------------------------------------------------------------

def _import_sim() -> None:
    try:
        import sim  # noqa: F401  (installed package)
    except ImportError:
        sys.path.insert(0, str(REPO_ROOT))


def peak_rss_mb() -> float:
    """This process's peak RSS so far."""
    unit = 1e-6 if sys.platform == "darwin" else 1024 / 1e6  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def device_events(summary: dict[str, Any]) -> int:
    """Transfers logged: heartbeats + messages + reconnects summed over every app row."""
    return sum(int(row["heartbeats"]) + int(row["messages"]) + int(row["reconnects"])
               for row in summary["apps"].values())


def run_case(engine: str, devices: int, args: argparse.Namespace) -> dict[str, Any]:
    """One measurement, in this process; never raises (an error becomes ``out["error"]``)."""
    label = engine if args.workers == 1 else f"{engine}x{args.workers}"
    out: dict[str, Any] = {"engine": label, "devices": devices, "workers": args.workers, "error": None}
    trees: list[TreePeak] = []  # one per timed run: each split run has workers of its own
    try:
        walls: list[float] = []
        if engine == "bare":
            from des_throughput import (
                bare_loop,  # the same loop as that script's "bare loop, regular"
            )

            out["duration_s"] = args.duration_s  # the des case's, passed by the driver
            out["base_rss_mb"] = peak_rss_mb()
            for _ in range(args.repeat):
                gc.collect()
                with TreePeak() as tree:
                    start = time.perf_counter()
                    done = bare_loop(devices, out["duration_s"], args.events, gc_off=args.bare_gc_off)
                    walls.append(time.perf_counter() - start)
                trees.append(tree)
            out["device_events"] = done
            if done != args.events:
                out["warning"] = f"bare loop completed {done} timeouts, expected {args.events}"
        else:
            _import_sim()
            from sim.api import simulate
            from sim.scenario import load_scenario

            overrides = [f"groups[0].devices={devices}", f"simulation.engine={engine}"]
            if args.duration_s:
                overrides += [f"simulation.duration_s={args.duration_s!r}",
                              f"simulation.bin_s={min(60.0, args.duration_s)!r}"]
            rs = load_scenario(args.scenario, overrides=overrides)
            # a 10-device run first: one-time initialisation (lazy imports, first calls) is not timed
            simulate(load_scenario(args.scenario, overrides=[*overrides[1:], "groups[0].devices=10"]),
                     workers=args.workers)
            out["duration_s"] = rs.scenario.simulation.duration_s
            out["base_rss_mb"] = peak_rss_mb()
            for _ in range(args.repeat):
                res = None  # free the previous run's results first
                gc.collect()
                with TreePeak() as tree:
                    start = time.perf_counter()
                    res = simulate(rs, workers=args.workers)
                    walls.append(time.perf_counter() - start)
                trees.append(tree)
            summary = res.summary
            out["device_events"] = device_events(summary)
            out["packets"] = int(summary["traffic"]["packets_total"])
            out["signalling_messages"] = int(summary["signalling"]["messages_total"])
            out["summary_engine"] = summary.get("engine")
            if summary.get("engine") != engine:  # "fast" with any number of workers
                out["warning"] = f"summary reports engine {summary.get('engine')!r}, asked for {engine!r}"
        out["wall_s"] = min(walls)
        out["walls_s"] = walls
    except Exception as exc:  # noqa: BLE001  (report, do not crash: e.g. the fast engine not there yet)
        out["error"] = one_line(exc)
    out["peak_rss_mb"] = max([peak_rss_mb(), *(t.peak_mb for t in trees)])
    if trees:
        out["processes"] = max(t.processes for t in trees)
        out["concurrent_rss_mb"] = max(t.concurrent_mb for t in trees)  # the tree's largest sampled sum
    return out


# --- in the driver process ---------------------------------------------------------------------

def spawn_case(engine: str, devices: int, args: argparse.Namespace, events: int | None = None,
               duration_s: float | None = None, workers: int = 1) -> dict[str, Any]:
    """Run one case in a fresh interpreter and return its result (or the reason it has none)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--case", engine, "--devices", str(devices),
           "--scenario", str(args.scenario), "--repeat", str(args.repeat), "--workers", str(workers)]
    duration_s = duration_s or args.duration_s
    if duration_s:
        cmd += ["--duration-s", repr(duration_s)]
    if events is not None:
        cmd += ["--events", str(events)]
    if args.bare_gc_off:
        cmd.append("--bare-gc-off")
    fail: dict[str, Any] = {"engine": engine if workers == 1 else f"{engine}x{workers}", "devices": devices}
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=args.case_timeout)
    except subprocess.TimeoutExpired:
        return fail | {"error": f"timed out after {args.case_timeout:g} s (--case-timeout)"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    why = f"killed by signal {-proc.returncode} (out of memory?)" if proc.returncode < 0 else \
        f"exit status {proc.returncode}"
    return fail | {"error": f"case process {why}: {last[:160]}"}


def derived(r: dict[str, Any]) -> dict[str, Any]:
    """Rates of a successful case."""
    wall, ev = r["wall_s"], r["device_events"]
    device_hours = r["devices"] * r["duration_s"] / 3600.0
    return {"events_per_s": ev / wall if wall > 0 else float("inf"),
            "ns_per_event": wall / ev * 1e9 if ev else float("nan"),
            "us_per_device_hour": wall / device_hours * 1e6}


def ok(r: dict[str, Any] | None) -> bool:
    return r is not None and not r.get("error")


def fmt_int(n: int) -> str:
    return f"{n:,}"


def print_table(rows: list[dict[str, Any]], plain: bool) -> None:
    head = ["engine", "devices", "wall s", "device-events", "device-events/s", "ns/device-event",
            "peak RSS MB", "base RSS MB"]
    body = []
    for r in rows:
        if ok(r):
            d = derived(r)
            body.append([r["engine"], fmt_int(r["devices"]), f"{r['wall_s']:.3f}", fmt_int(r["device_events"]),
                         f"{d['events_per_s']:,.0f}", f"{d['ns_per_event']:,.0f}", f"{r['peak_rss_mb']:,.0f}",
                         f"{r['base_rss_mb']:,.0f}"])
        else:
            body.append([r["engine"], fmt_int(r["devices"]), "failed", "", "", "", "", ""])
    errors = [r for r in rows if not ok(r)]
    if not plain:
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            plain = True
    if plain:
        widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
        line = "  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(head, widths)))
        print(line)
        print("-" * len(line))
        for b in body:
            print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(b, widths))))
    else:
        table = Table(title="engines: one simulated hour, three apps per device")
        for i, h in enumerate(head):
            table.add_column(h, justify="left" if i == 0 else "right")
        for b in body:
            table.add_row(*b)
        Console(width=None if sys.stdout.isatty() else 140).print(table)
    for r in errors:
        print(f"  {r['engine']} {fmt_int(r['devices'])}: {r['error']}")
    for r in rows:
        if r.get("warning"):
            print(f"  warning, {r['engine']} {fmt_int(r['devices'])}: {r['warning']}")


def verdict(passed: bool | None) -> str:
    return "NOT RUN" if passed is None else ("PASS" if passed else "FAIL")


def report(results: dict[tuple[str, int], dict[str, Any]], sizes: list[int]) -> dict[str, Any]:
    """Print the ratios and the targets; return them for the JSON output."""
    got = {k: derived(r) for k, r in results.items() if ok(r)}
    out: dict[str, Any] = {"fast_vs_des": {}, "des_vs_bare": {}, "flatness": {}, "targets": {}}

    print(f"\nfast vs des, device-events/s (target >= {TARGET_SPEEDUP:g}x):")
    for n in sizes:
        if ("fast", n) in got and ("des", n) in got:
            ratio = got["fast", n]["events_per_s"] / got["des", n]["events_per_s"]
            out["fast_vs_des"][n] = ratio
            print(f"  {fmt_int(n):>12} devices: {ratio:8.1f}x  {verdict(ratio >= TARGET_SPEEDUP)}")
    if not out["fast_vs_des"]:
        print("  no size where both ran")

    print("\ndes vs bare SimPy loop, device-events/s (same count of SimPy events; information):")
    for n in sizes:
        if ("des", n) in got and ("bare", n) in got:
            ratio = got["des", n]["events_per_s"] / got["bare", n]["events_per_s"]
            out["des_vs_bare"][n] = ratio
            print(f"  {fmt_int(n):>12} devices: {ratio:8.3f}  (des {got['des', n]['ns_per_event']:,.0f} ns, "
                  f"bare {got['bare', n]['ns_per_event']:,.0f} ns per device-event)")
    if not out["des_vs_bare"]:
        print("  no size where both ran")

    print("\ncost per device-hour, relative to the smallest size run (flatness):")
    for engine in ("des", "fast", "bare"):
        run = [n for n in sizes if (engine, n) in got]
        if not run:
            continue
        base = got[engine, run[0]]["us_per_device_hour"]
        rel = {n: got[engine, n]["us_per_device_hour"] / base for n in run}
        out["flatness"][engine] = {n: {"us_per_device_hour": got[engine, n]["us_per_device_hour"], "relative": rel[n]}
                                   for n in run}
        cells = ", ".join(f"{fmt_int(n)}: {got[engine, n]['us_per_device_hour']:,.1f} us ({rel[n]:.2f})" for n in run)
        print(f"  {engine:<4} {cells}")

    print("\ntargets (fast engine):")
    t = out["targets"]

    def line(key: str, label: str, value: str, passed: bool | None, note: str = "") -> None:
        t[key] = verdict(passed)
        print(f"  {label:<52}{value:>20}  {t[key]}{note}")

    for label in sorted({e for e, _ in results if e.startswith("fast")}):
        big = results.get((label, TARGET_SIZE))
        who = "1 process" if label == "fast" else f"{label[5:]} worker processes"
        if ok(big):
            line(f"wall_1e6_{label}", f"10^6 devices x 3 apps x 1 h, wall <= {TARGET_WALL_S:g} s, {who}",
                 f"{big['wall_s']:.2f} s", big["wall_s"] <= TARGET_WALL_S)
            line(f"rss_1e6_{label}", f"10^6 devices, peak RSS <= {TARGET_RSS_MB:,.0f} MB, {who}",
                 f"{big['peak_rss_mb']:,.0f} MB", big["peak_rss_mb"] <= TARGET_RSS_MB)
        else:
            value, passed = ("failed", False) if big else ("not run", None)
            line(f"wall_1e6_{label}", f"10^6 devices x 3 apps x 1 h, wall <= {TARGET_WALL_S:g} s, {who}", value,
                 passed)
            line(f"rss_1e6_{label}", f"10^6 devices, peak RSS <= {TARGET_RSS_MB:,.0f} MB, {who}", value, passed)

    fast_failed = any(not ok(r) for (e, _), r in results.items() if e == "fast")
    label = f"device-events/s >= {TARGET_SPEEDUP:g} x des, every size both ran"
    # a fast case that failed where des ran counts against the target
    lost = [n for n in sizes if ("des", n) in got and ("fast", n) in results and not ok(results["fast", n])]
    if out["fast_vs_des"]:
        worst = min(out["fast_vs_des"].values())
        line("speedup", label, f"lowest {worst:.1f}x" + (f", {len(lost)} failed" if lost else ""),
             worst >= TARGET_SPEEDUP and not lost)
    else:
        line("speedup", label, "fast failed" if fast_failed else "no common size", False if fast_failed else None)

    label = f"cost per device-hour flat, max / min <= {TARGET_FLAT:g}"
    flat = out["flatness"].get("fast")
    if flat and len(flat) >= 2:
        costs = [v["us_per_device_hour"] for v in flat.values()]
        spread = max(costs) / min(costs)
        ran = list(flat)
        note = "" if all(n in ran for n in LADDER) else \
            f"  (sizes run: {', '.join(f'{n:.0e}' for n in ran)}; the target's range is 1e+04 .. 1e+07)"
        if fast_failed:
            note += "  (a fast case failed)"
        line("flatness", label, f"{spread:.2f}", spread <= TARGET_FLAT and not fast_failed, note)
    else:
        line("flatness", label, "fewer than 2 sizes", False if fast_failed else None)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke test: sizes 10^3 and 10^4 only")
    ap.add_argument("--sizes", help="comma-separated device counts instead of the default ladder")
    ap.add_argument("--des-max", type=int, default=10**5, help="largest size for the SimPy engine (default 100000)")
    ap.add_argument("--fast-max", type=int, default=10**7, help="largest size for the fast engine (default 10^7)")
    ap.add_argument("--scenario", type=Path, default=SCENARIO, help="scenario file (default scenario-3apps.toml)")
    ap.add_argument("--duration-s", type=float, default=None, help="override simulated seconds (default: the file's)")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per case, best taken (default 1)")
    ap.add_argument("--no-bare", action="store_true", help="skip the bare SimPy loop")
    ap.add_argument("--bare-gc-off", action="store_true", help="run the bare loop with the cyclic GC off")
    ap.add_argument("--case-timeout", type=float, default=3600.0, help="seconds before a case is abandoned")
    ap.add_argument("--plain", action="store_true", help="plain-text table instead of rich")
    ap.add_argument("--json", type=Path, help="also write every result and ratio to this JSON file")
    # internal: run one case in this process
    ap.add_argument("--fast-workers", default="1,2",
                    help="worker process counts for the fast engine, comma-separated (default 1,2; the ratios "
                         "and flatness use 1)")
    ap.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--case", choices=["des", "fast", "bare"], help=argparse.SUPPRESS)
    ap.add_argument("--devices", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--events", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.repeat < 1 or (args.duration_s is not None and args.duration_s <= 0):
        ap.error("--repeat and --duration-s must be positive")
    args.scenario = args.scenario.resolve()

    if args.case:
        if args.devices is None or args.devices < 1:
            ap.error("--case needs --devices")
        if args.case == "bare" and (args.events is None or args.duration_s is None):
            ap.error("--case bare needs --events and --duration-s")
        print(MARK + json.dumps(run_case(args.case, args.devices, args)), flush=True)
        return 0

    if args.sizes:
        sizes = sorted({int(float(s)) for s in args.sizes.split(",") if s.strip()})
    else:
        sizes = QUICK_LADDER if args.quick else LADDER
    if not sizes or sizes[0] < 1:
        ap.error("sizes must be positive")
    fast_workers = sorted({int(w) for w in args.fast_workers.split(",") if w.strip()})
    plan = [(e, n, 1) for n in sizes for e in ("des", "bare") if n <= args.des_max]
    plan += [("fast", n, w) for n in sizes for w in fast_workers if n <= args.fast_max]
    plan.sort(key=lambda p: p[1])
    if args.no_bare:
        plan = [p for p in plan if p[0] != "bare"]

    import numpy as np
    import simpy

    print(f"signalsim engines benchmark: {args.scenario.name}, sizes {', '.join(fmt_int(n) for n in sizes)}"
          f"{', best of ' + str(args.repeat) if args.repeat > 1 else ''}")
    print(f"python {platform.python_version()} ({platform.python_implementation()}), numpy {np.__version__}, "
          f"simpy {simpy.__version__}, cpu_count {os.cpu_count()}, {platform.platform()}")
    names = [(e if w == 1 else f"{e}x{w}") + f" {n:.0e}" for e, n, w in plan]
    print(f"cases: {', '.join(names)}; each in a fresh process\n", flush=True)

    results: dict[tuple[str, int], dict[str, Any]] = {}
    for k, (engine, n, workers) in enumerate(plan, 1):
        label = engine if workers == 1 else f"{engine}x{workers}"
        print(f"[{k}/{len(plan)}] {label} {fmt_int(n)} devices ... ", end="", file=sys.stderr, flush=True)
        events = duration_s = None
        if engine == "bare":
            des = results.get(("des", n))
            if not ok(des):
                results["bare", n] = {"engine": "bare", "devices": n, "error": "needs the des case's event count"}
                print("skipped (des failed)", file=sys.stderr, flush=True)
                continue
            events, duration_s = des["device_events"], des["duration_s"]
        r = spawn_case(engine, n, args, events, duration_s, workers)
        results[label, n] = r
        print(f"{r['wall_s']:.2f} s" if ok(r) else f"failed: {r['error']}", file=sys.stderr, flush=True)

    rows = [results[e if w == 1 else f"{e}x{w}", n] for e, n, w in plan if (e if w == 1 else f"{e}x{w}", n) in results]
    print()
    print_table(rows, args.plain)
    ratios = report(results, sizes)
    print("\npeak RSS: the case process and every process under it (forkserver, workers), each one's own peak "
          "summed; it includes the interpreter and imports (base = the case process's peak before the timed run); "
          "MB = 10^6 bytes.")
    if args.json:
        data = {"sizes": sizes, "cases": rows, "derived": {f"{e}:{n}": derived(r) for (e, n), r in results.items()
                                                            if ok(r)},
                "ratios": json.loads(json.dumps(ratios, default=str)),
                "platform": {"python": platform.python_version(), "numpy": np.__version__, "simpy": simpy.__version__,
                             "cpu_count": os.cpu_count(), "platform": platform.platform()}}
        args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
