"""Scenario layer: the TOML file format, its validation and its resolution into a runnable model."""
from sim.scenario.loader import ResolvedScenario, load_scenario, resolve

__all__ = ["ResolvedScenario", "load_scenario", "resolve"]
