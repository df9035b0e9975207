"""signalsim: the signalling load of instant-messaging heartbeats on a mobile control plane.

Public API: :func:`run`, :func:`load_scenario`, :class:`Results`, :class:`ScenarioError`.
"""
from sim.api import run, simulate
from sim.errors import Problem, ScenarioError
from sim.metrics import Results
from sim.scenario import ResolvedScenario, load_scenario

__all__ = ["run", "simulate", "load_scenario", "Results", "ResolvedScenario", "ScenarioError", "Problem"]
