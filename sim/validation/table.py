"""What a validation run produces: rows of the table and curves worth plotting."""
from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Row:
    """One checked quantity.

    ``tolerance`` is relative to ``expected``; ``basis`` says how it was derived (e.g. "4 SE
    over 400 devices"). Rows checked by order rather than by value (``tolerance`` NaN) carry
    their verdict in ``passed``. ``labels`` name where the quantity was measured when one case
    measures it at several points (``(("model", 2), ("devices", 30000))``): a CSV column each, so
    a script can find a row by them.
    """

    case: str
    quantity: str
    engine: str  # "fast", "des"; "node" for the control-plane node on its own, "rach" for a cell's random access
    expected: float
    source: str
    simulated: float
    tolerance: float
    basis: str
    passed: bool
    labels: tuple[tuple[str, int | str], ...] = ()

    @property
    def rel_error(self) -> float:
        if self.expected == 0.0:
            return 0.0 if self.simulated == 0.0 else math.inf
        return abs(self.simulated - self.expected) / abs(self.expected)


def check(case: str, quantity: str, engine: str, expected: float, source: str, simulated: float,
          tolerance_abs: float, basis: str, labels: tuple[tuple[str, int | str], ...] = ()) -> Row:
    """A row that passes when ``|simulated - expected| <= tolerance_abs``."""
    scale = abs(expected) or 1.0
    return Row(case, quantity, engine, expected, source, simulated, tolerance_abs / scale, basis,
               abs(simulated - expected) <= tolerance_abs, labels)


@dataclass
class Curve:
    """A case's simulated points against its closed form, for a plot under ``--out``."""

    case: str
    title: str
    x_label: str
    y_label: str
    theory_x: list[float]
    theory_y: list[float]
    theory_label: str
    points: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)  # engine -> (x, y)
    marks: list[tuple[float, str]] = field(default_factory=list)  # vertical lines: (x, label)
    log_x: bool = False


@dataclass
class CaseResult:
    rows: list[Row]
    curves: list[Curve] = field(default_factory=list)
