"""Metrics: turn an engine's event log into counters, time series and per-app/per-device tables."""
from sim.metrics.reduce import reduce_log
from sim.metrics.results import Results

__all__ = ["Results", "reduce_log"]
