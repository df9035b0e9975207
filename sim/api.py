"""The Python API: scenario -> engine -> metrics, returning pandas tables and the summary.

>>> from sim import run
>>> res = run("scenarios/quickstart.toml", overrides=["groups[0].devices=20"])
>>> res.summary["devices"]
20
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from datetime import datetime, timezone
from pathlib import Path

from sim.metrics.reduce import Reducer
from sim.metrics.results import Results
from sim.radio.tables import build_tables
from sim.scenario import ResolvedScenario, load_scenario
from sim.version import software_version


def simulate(rs: ResolvedScenario, progress: Callable[[float], None] | None = None, workers: int = 1,
             executor: Executor | None = None) -> Results:
    """Run a resolved scenario on its engine (``rs.engine``) and reduce the logs to results.

    ``workers`` > 1 splits a fast-engine run over that many processes, or ``executor`` (e.g. a
    Dask client's ``get_executor()``) over its workers; the results are the same either way."""
    tables = build_tables(rs.profiles, rs.radios, rs.scenario.simulation.seed, len(rs.scenario.apps))
    # each engine's modules are imported by its first run: a fast run never loads SimPy, a SimPy run never
    # the chunked split (start-up, docs/performance.md)
    if rs.engine == "fast":  # an open loop in chunks of devices, a closed loop in its partitions
        from sim.split import reduce_fast
        return reduce_fast(rs, tables, progress, workers, executor).results("fast")
    from sim.engine.des import run_des
    reducer = Reducer(tables, rs)
    reducer.add(run_des(rs, tables, progress))
    return reducer.results("des")


def run(scenario: str | Path | ResolvedScenario | None = None, *, seed: int | None = None,
        overrides: Sequence[str] = (), progress: Callable[[float], None] | None = None, workers: int = 1,
        executor: Executor | None = None) -> Results:
    """Load (unless given resolved) and simulate a scenario; ``None`` runs the quickstart."""
    rs = scenario if isinstance(scenario, ResolvedScenario) else load_scenario(scenario, overrides, seed)
    return simulate(rs, progress, workers, executor)


def provenance(wall_time_s: float) -> dict[str, object]:
    """Run metadata written beside the resolved scenario."""
    return {"software_version": software_version(),
            "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "wall_time_s": round(wall_time_s, 3)}


def timed(fn: Callable[[], Results]) -> tuple[Results, float]:
    start = time.perf_counter()
    res = fn()
    return res, time.perf_counter() - start
