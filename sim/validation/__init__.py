"""Validation: reference cases comparing the simulator with theory and published measurements."""
from sim.validation.cases import CASES, Settings
from sim.validation.runner import Validation, run_validation
from sim.validation.table import Row

__all__ = ["CASES", "Row", "Settings", "Validation", "run_validation"]
