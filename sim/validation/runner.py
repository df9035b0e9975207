"""Run the reference cases and collect one table."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sim.validation.cases import CASES, Lab, Settings
from sim.validation.table import Curve, Row


@dataclass
class Validation:
    """The table of a validation run, its curves and its wall time."""

    rows: list[Row] = field(default_factory=list)
    curves: list[Curve] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(r.passed for r in self.rows)


def run_validation(settings: Settings = Settings(), only: Sequence[str] = (),
                   progress: Callable[[str], None] | None = None) -> Validation:
    """Run every case (or those named in ``only``) and return the table.

    Raises ``KeyError`` for an unknown case name and :class:`sim.errors.ScenarioError` for a bad
    ``settings.profile_overrides`` entry (before any case has run long)."""
    unknown = [name for name in only if name not in CASES]
    if unknown:
        raise KeyError(f"unknown case {unknown[0]!r} (cases: {', '.join(CASES)})")
    lab = Lab(settings)
    out = Validation()
    start = time.perf_counter()
    for name, case in CASES.items():
        if only and name not in only:
            continue
        if progress is not None:
            progress(name)
        result = case(lab)
        out.rows += result.rows
        out.curves += result.curves
    out.wall_s = time.perf_counter() - start
    return out
