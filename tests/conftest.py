"""Shared helpers: build small scenarios in code and run them."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

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


ROOT = Path(__file__).resolve().parents[1]
# london-2009 at a fifth of its size, the RNC scaled with it (as scenarios/sweeps/london-capacity.toml)
LONDON_FIFTH = ["groups[0].devices=3600", "groups[1].devices=400", "controlplane.nodes.RNC.devices_per_node=4000",
                "controlplane.nodes.RNC.messages_per_s=78.62"]
# and an IM server outage from 20 to 30 min: calls fail, the RNC is overloaded, a storm at recovery
IM_OUTAGE = 'events=[{kind="server_outage", app="im", start_s=1200.0, end_s=1800.0, retry={policy="immediate"}}]'


@pytest.fixture(scope="session")
def london_storm(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The results folder ``signalsim run`` wrote for london-2009 at a fifth with an IM server outage,
    and what it printed."""
    from sim.cli import cli

    out = tmp_path_factory.mktemp("london-storm") / "run"
    args = ["run", str(ROOT / "scenarios" / "london-2009.toml"), "--out", str(out), "--devices", "none"]
    result = CliRunner().invoke(cli, [*args, *(a for o in [*LONDON_FIFTH, IM_OUTAGE] for a in ("--set", o))])
    assert result.exit_code == 0, result.output
    return out, result.output
