"""signalsim: the signalling load of instant-messaging heartbeats on a mobile control plane.

Public API: :func:`run`, :func:`load_scenario`, :class:`Results`, :class:`ScenarioError`.

The names load with their modules on first use (PEP 562), so that ``import sim.cli`` and
``signalsim --help`` do not import the engines, pandas and Numba (start-up: docs/performance.md).
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.api import run, simulate
    from sim.errors import Problem, ScenarioError
    from sim.metrics.results import Results
    from sim.scenario import ResolvedScenario, load_scenario

_HOMES = {"run": "sim.api", "simulate": "sim.api", "load_scenario": "sim.scenario", "Results": "sim.metrics.results",
          "ResolvedScenario": "sim.scenario", "ScenarioError": "sim.errors", "Problem": "sim.errors"}
__all__ = ["run", "simulate", "load_scenario", "Results", "ResolvedScenario", "ScenarioError", "Problem"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name]), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
