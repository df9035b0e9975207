"""A sweep expanded into runs: each point's parameter values, replication, seed and stable id.

Seeds: replication ``r`` runs with the seed ``SeedSequence(sweep seed, spawn_key=(r,))`` draws
(32 bits), the same at every point. Points then differ only by their parameters, not by their
random inputs (common random numbers), so a curve over an axis is not masked by seed noise,
and the replications give the spread. The seed is a function of the sweep file alone: never of
the worker count, the executor or the order in which runs finish.

A run's id hashes everything that determines its result (the base scenario's content, the fixed
and per-point overrides, the seed), so a rerun into the same folder recognises finished runs
even after axis values are added or reordered.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass

import numpy as np

from sim.sweep.spec import Scalar, Sweep


@dataclass(frozen=True)
class Run:
    """One simulation of a sweep."""

    point: int  # index of the parameter combination, in the sweep file's order
    replication: int
    seed: int
    params: dict[str, Scalar]  # axis column -> value (case name for an axis of cases)
    overrides: tuple[str, ...]  # the sweep's fixed overrides, then this point's
    run_id: str


def replication_seed(master_seed: int, replication: int) -> int:
    """The scenario seed of replication ``replication`` of a sweep seeded ``master_seed``."""
    return int(np.random.SeedSequence(master_seed, spawn_key=(replication,)).generate_state(1)[0])


def expand(sweep: Sweep) -> list[Run]:
    """Every run of the sweep: points in grid order (first axis slowest) or zipped, then replications."""
    spec = sweep.spec
    levels = [axis.levels() for axis in spec.axes]
    combos = zip(*levels) if spec.mode == "zip" else itertools.product(*levels)
    seeds = [replication_seed(spec.seed, r) for r in range(spec.replications)]
    runs = []
    for point, combo in enumerate(combos):
        overrides = tuple(spec.set) + tuple(item for axis, level in zip(spec.axes, combo)
                                            for item in axis.overrides(level))
        params = {axis.column: level for axis, level in zip(spec.axes, combo)}
        for replication, seed in enumerate(seeds):
            key = json.dumps({"base": sweep.base_digest, "overrides": overrides, "seed": seed})
            runs.append(Run(point, replication, seed, params, overrides,
                            hashlib.sha256(key.encode()).hexdigest()[:16]))
    return runs
