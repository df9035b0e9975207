"""Shared helpers: build small scenarios in code and run them."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from sim.api import simulate
from sim.engine.des import run_des
from sim.engine.log import LogArrays
from sim.metrics import Results
from sim.radio.tables import build_tables
from sim.scenario import ResolvedScenario, resolve

BASE: dict[str, Any] = {
    "name": "test",
    "simulation": {"duration_s": 3600.0, "seed": 7, "bin_s": 60.0},
    "network": {"radio": "lte"},
    "apps": [{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 60.0}}],
    "groups": [{"name": "phones", "devices": 1, "apps": {"chat": 1.0}}],
}


def scenario(**changes: Any) -> ResolvedScenario:
    """BASE with top-level tables replaced and ``dotted.key`` values set, validated."""
    data = copy.deepcopy(BASE)
    overrides = []
    for key, value in changes.items():
        if "__" in key:  # simulation__duration_s=... -> simulation.duration_s
            overrides.append((key.replace("__", "."), value))
        else:
            data[key] = value
    for dotted, value in overrides:
        node = data
        *path, last = dotted.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return resolve(data, "test.toml")


def run(rs: ResolvedScenario) -> Results:
    return simulate(rs)


def run_log(rs: ResolvedScenario) -> LogArrays:
    return run_des(rs, build_tables(rs.profiles, rs.radios, rs.scenario.simulation.seed, len(rs.scenario.apps)))


@pytest.fixture
def make():
    return scenario
