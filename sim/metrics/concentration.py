"""How concentrated a quantity is over devices: top shares, Lorenz curve, Gini coefficient."""
from __future__ import annotations

import math

import numpy as np

TOP_PERCENTS = (1, 5, 8, 10, 20)


def top_share(values: np.ndarray, percent: float) -> float:
    """Share of the total held by the top ``percent`` % of devices (at least one device)."""
    total = float(values.sum())
    if total <= 0.0 or values.size == 0:
        return 0.0
    k = max(1, math.ceil(values.size * percent / 100.0))
    return float(np.sort(values)[::-1][:k].sum() / total)


def gini(values: np.ndarray) -> float:
    """Gini coefficient: 0 when every device has the same, towards 1 when one has everything."""
    n, total = values.size, float(values.sum())
    if n == 0 or total <= 0.0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float(2.0 * np.sum(ranks * np.sort(values)) / (n * total) - (n + 1) / n)


def lorenz_top(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative share of devices (most first) against cumulative share of the total."""
    total = float(values.sum())
    ordered = np.sort(values)[::-1]
    x = np.arange(values.size + 1) / max(values.size, 1)
    y = np.concatenate(([0.0], np.cumsum(ordered) / total)) if total > 0 else np.zeros(values.size + 1)
    return x, y
