"""Parameter sweeps: a sweep file (spec) -> runs (points) -> executed (runner), each result kept
atomically (store) -> one tidy table (table) -> plots over the axes (plots)."""
from sim.sweep.runner import SweepReport, run_sweep
from sim.sweep.spec import Sweep, load_sweep

__all__ = ["Sweep", "SweepReport", "load_sweep", "run_sweep"]
