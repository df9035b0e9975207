"""Random access: one cell's TR 37.868 evaluation (``sim.radio.rach``), batch and as a closed-loop cell.

Usage::

    python benchmarks/rach.py [--devices N] [--repeat R]

For traffic models 1 and 2 with ``N`` devices (default 30,000): the best wall time of ``--repeat``
runs of :func:`sim.radio.rach.simulate` (the compiled kernel, after a warm-up run that loads or
compiles it), RAOs and preambles per second, and, for model 2, the same devices through one
SimPy cell (:class:`sim.controlplane.rach.Cell`), the closed loop's form, beside it.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

try:
    import sim  # noqa: F401  (installed package)
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import simpy  # noqa: E402

from sim.controlplane.rach import Cell  # noqa: E402
from sim.radio import rach  # noqa: E402
from sim.radio.profiles import LteProfile, builtin_profile_data  # noqa: E402


def best_s(repeat: int, run) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def through_cell(arrivals_ms: np.ndarray, tm: rach.Timing) -> None:
    env = simpy.Environment()
    cell = Cell(env, "cell", tm, np.random.default_rng(2))

    def device(i: int, at_s: float):
        yield env.timeout(at_s)
        yield cell.access(i)

    for i, a in enumerate(arrivals_ms.tolist()):
        env.process(device(i, a / 1000.0))
    env.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tm = rach.timing(LteProfile(**builtin_profile_data("lte")).rach)
    for model in rach.TRAFFIC_MODELS:
        arrivals = rach.arrivals_ms(model, args.devices, np.random.default_rng(1))
        run = rach.simulate(arrivals, tm, np.random.default_rng(2))  # warm-up: loads or compiles the kernel
        wall_s = best_s(args.repeat, lambda: rach.simulate(arrivals, tm, np.random.default_rng(2)))
        print(f"model {model}, {args.devices:,} devices: batch {wall_s * 1000:.1f} ms "
              f"({run.attempts.size / wall_s:,.0f} RAOs/s, {run.attempts.sum() / wall_s:,.0f} preambles/s)")
        if model == 2:
            cell_s = best_s(1, lambda: through_cell(arrivals, tm))
            print(f"model {model}, {args.devices:,} devices: one SimPy cell {cell_s:.2f} s ({cell_s / wall_s:.0f}x)")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, simpy {simpy.__version__}")


if __name__ == "__main__":
    main()
