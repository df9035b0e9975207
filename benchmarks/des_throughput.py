"""DES engine throughput: device-events per second beside a bare SimPy loop timed in the same run.

Usage::

    python benchmarks/des_throughput.py [--devices N] [--duration-s S] [--repeat R] [--no-memory]

What is measured (best wall time of ``--repeat`` runs each, after an untimed 10-device run that
takes the one-time costs, such as loading the compiled kernels):

* ``simulate``: :func:`sim.api.simulate` on ``scenarios/quickstart.toml`` with ``N`` devices,
  ``S`` seconds and ``simulation.engine = "des"`` -- input draws, the SimPy run and the numpy
  metric reduction. (The quickstart's own engine, ``auto``, picks the fast engine for this open
  loop; the row timed that until the override was added, and its ratio meant nothing.)
* ``run_des``: the engine alone (:func:`sim.radio.tables.build_tables` + :func:`sim.engine.des.run_des`).
* ``bare loop``: one SimPy process per device doing nothing but ``yield env.timeout(...)``, as
  many timeouts in all as the DES run's device-events; with regular intervals (SimPy's best
  case, the target's baseline), with the garbage collector off as the engine runs, and with
  random gaps like real traffic.

Device-events of a run = ``summary["traffic"]["packets_total"]`` (packets sent and received by
all devices). Target (issue acceptance): DES ``simulate`` rate >= 0.5 x the bare loop's rate.
The run stops if the summary names another engine than the SimPy one, so the target line is
always about the engine the label says.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

try:
    import sim  # noqa: F401  (installed package)
except ImportError:
    sys.path.insert(0, str(REPO_ROOT))
    import sim  # noqa: F401

import numpy as np
import simpy

from sim.api import simulate
from sim.engine.des import run_des
from sim.radio.tables import build_tables
from sim.scenario import ResolvedScenario, load_scenario

TARGET = 0.5
ENGINE = "des"  # what this script times: the SimPy engine, whatever the scenario's own choice


def scenario(devices: int, duration_s: float) -> ResolvedScenario:
    path = REPO_ROOT / "scenarios" / "quickstart.toml"
    overrides = [f"groups[0].devices={devices}", f"simulation.duration_s={duration_s!r}",
                 f"simulation.engine={ENGINE}"]
    # Installed without the repo checkout: fall back to the packaged quickstart.
    return load_scenario(path if path.exists() else None, overrides=overrides)


def bare_loop(devices: int, duration_s: float, total: int, random_gaps: bool = False, gc_off: bool = False,
              random_phase: bool = False) -> int:
    """``devices`` processes doing only timeouts, ``total`` of them before ``duration_s``; returns the count.

    Regular intervals (the default) are SimPy's best case: each new timeout lands at the end of
    the event heap. ``random_gaps`` gives each process exponential gaps instead, like real
    traffic (the DES's own sends are random). ``random_phase`` keeps regular intervals but
    gives each process a random start, as independent devices have, so processes no longer
    wake in creation order (which is kind to the CPU cache). ``gc_off`` runs it as the engine
    runs, with the cyclic garbage collector frozen and off.
    """
    env = simpy.Environment()
    done = [0]

    def proc(env: simpy.Environment, first: float, interval: float):
        timeout = env.timeout
        yield timeout(first)
        while True:
            done[0] += 1
            yield timeout(interval)

    def proc_gaps(env: simpy.Environment, gaps: list[float]):
        timeout = env.timeout
        for gap in gaps:
            yield timeout(gap)
            done[0] += 1

    base, extra = divmod(total, devices)
    rng = np.random.default_rng(0)
    for i in range(devices):
        k = base + (1 if i < extra else 0)  # timeouts this process must complete before the end
        if random_gaps:
            times = np.sort(rng.random(k)) * duration_s  # k uniform points: exponential-like gaps
            env.process(proc_gaps(env, np.diff(times, prepend=0.0).tolist()))
            continue
        if k == 0:
            env.process(proc(env, 2.0 * duration_s, duration_s))
            continue
        # The k-th timeout lands before duration_s, the (k+1)-th after it: with interval = D/(k+1/2)
        # and a start offset in [0, interval/2), completions are at offset + j*interval, j = 1..k.
        interval = duration_s / (k + 0.5)
        # stagger processes so their times differ: in creation order, or at random
        offset = 0.5 * interval * (rng.random() if random_phase else i / devices)
        env.process(proc(env, offset + interval, interval))
    if gc_off:
        gc.collect()
        gc.freeze()
        gc.disable()
    try:
        env.run(until=duration_s)
    finally:
        if gc_off:
            gc.enable()
            gc.unfreeze()
    return done[0]


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        out = None  # drop the previous run's result so it does not weigh on this one (memory, GC)
        gc.collect()
        start = time.perf_counter()
        out = fn()
        wall = time.perf_counter() - start
        best = min(best, wall)
    return best, out


def traced_peak_mb(fn: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def maxrss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10  # bytes on macOS, KiB on Linux


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=10_000, help="devices in the scenario (default 10000)")
    ap.add_argument("--duration-s", type=float, default=3600.0, help="simulated seconds (default 3600)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement, best taken (default 3)")
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc peak-memory runs")
    args = ap.parse_args(argv)
    if args.devices < 1 or args.duration_s <= 0 or args.repeat < 1:
        ap.error("--devices, --duration-s and --repeat must be positive")
    n, dur, rep = args.devices, args.duration_s, args.repeat
    rs = scenario(n, dur)

    print(f"signalsim DES throughput: {n} devices, {dur:g} s simulated, engine {rs.engine}, best of {rep}")
    print(f"python {platform.python_version()} ({platform.python_implementation()}), numpy {np.__version__}, "
          f"simpy {simpy.__version__}, cpu_count {os.cpu_count()}, {platform.platform()}")
    print(f"sim imported from {Path(sim.__file__).resolve().parent}")
    print()

    simulate(scenario(10, dur))  # one-time costs first (loading the compiled kernels), as engines.py does
    t_sim, res = best_of(rep, lambda: simulate(rs))
    if res.summary["engine"] != ENGINE:
        raise SystemExit(f"error: simulate ran the {res.summary['engine']!r} engine, not {ENGINE!r}")
    events = int(res.summary["traffic"]["packets_total"])
    del res

    def engine_only():  # the tables as simulate builds them
        tables = build_tables(rs.profiles, rs.radios, rs.scenario.simulation.seed, len(rs.scenario.apps))
        return run_des(rs, tables)

    t_des, log = best_of(rep, engine_only)
    transfers = int(log.x_t.size)  # sends/receives logged = process wake-ups of the engine
    del log

    t_bare, done = best_of(rep, lambda: bare_loop(n, dur, events))
    if done != events:
        print(f"warning: bare loop processed {done} timeouts, expected {events}", file=sys.stderr)
    t_bare_gc, done_gc = best_of(rep, lambda: bare_loop(n, dur, events, gc_off=True))
    t_bare_phase, done_phase = best_of(rep, lambda: bare_loop(n, dur, events, random_phase=True))
    t_bare_rand, done_rand = best_of(rep, lambda: bare_loop(n, dur, events, random_gaps=True))

    bare_rate = done / t_bare
    rows = [("simulate (full)", t_sim, events), ("run_des (engine only)", t_des, events),
            ("bare loop, regular", t_bare, done), ("bare loop, regular, GC off", t_bare_gc, done_gc),
            ("bare loop, random phases", t_bare_phase, done_phase), ("bare loop, random gaps", t_bare_rand, done_rand)]
    head = f"{'measurement':<28}{'wall s':>9}{'device-events':>15}{'events/s':>12}{'vs bare':>9}"
    print(head)
    print("-" * len(head))
    for name, wall, ev in rows:
        rate = ev / wall
        print(f"{name:<28}{wall:>9.3f}{ev:>15,}{rate:>12,.0f}{rate / bare_rate:>9.3f}")
    print()
    ratio = (events / t_sim) / bare_rate
    verdict = "MET" if ratio >= TARGET else "NOT MET"
    print(f"target: simulate rate >= {TARGET} x bare loop (regular) rate -> ratio {ratio:.3f}: {verdict}")
    for name, wall, ev in rows[3:]:
        print(f"  against the {name}: {(events / t_sim) / (ev / wall):.3f}")
    print(f"the DES run logged {transfers:,} transfers, one SimPy timeout each: {events / max(transfers, 1):.2f} "
          f"device-events per timeout; per timeout the engine costs {t_des / transfers * 1e6:.1f} us, "
          f"a bare regular timeout {t_bare / done * 1e6:.1f} us")
    print()
    if not args.no_memory:
        print("peak traced Python memory (tracemalloc, one extra run each; slower than the timed runs):")
        print(f"  simulate:        {traced_peak_mb(lambda: simulate(rs)):8.1f} MiB")
        print(f"  bare simpy loop: {traced_peak_mb(lambda: bare_loop(n, dur, events)):8.1f} MiB")
    print(f"process peak RSS (ru_maxrss, whole run): {maxrss_mb():.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
