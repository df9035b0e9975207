"""The run's bins, and the seconds per bin that sets of intervals cover (devices in a state, busy processors)."""
from __future__ import annotations

import math

import numpy as np


def bin_edges(end_s: float, bin_s: float) -> np.ndarray:
    """The edges of the bins of ``bin_s`` over ``[0, end_s]``: the last one shorter if ``bin_s`` does not divide
    the run (a last bin shorter than a nanobin is rounding, and left out)."""
    return np.append(np.arange(math.ceil(end_s / bin_s - 1e-9)) * bin_s, end_s)


class Coverage:
    """Seconds per bin covered by intervals [start, end), per layer (a state, say),
    accumulated interval set by set.

    Up to edge x, an interval covers max(0, x - start) - max(0, x - end); summed over intervals
    that is x * (starts below x) - (their sum), less the same for the ends: two histograms
    (count and sum per bin) per bound, so no sorting and nothing kept per interval.

    ``per_s``: the bounds are summed in whole quanta of 1 / ``per_s`` seconds (int64: the sums, and so the
    seconds, are exact, the same in any order and for any split into parts); None: as floats.
    """

    def __init__(self, edges: np.ndarray, bin_s: float, layers: int = 1, per_s: float | None = None):
        self.edges, self.bin_s, self.layers, self.per_s = edges, bin_s, layers, per_s
        self.n = edges.size  # bins + 1
        dtype = np.float64 if per_s is None else np.int64
        self.count = np.zeros(layers * self.n, dtype=dtype)  # [layer, bin] starts minus ends
        self.total = np.zeros(layers * self.n, dtype=dtype)  # [layer, bin] sum of starts minus sum of ends

    def add_histograms(self, starts: np.ndarray, start_sums: np.ndarray, ends: np.ndarray, end_sums: np.ndarray
                       ) -> None:
        """Add intervals given by the histograms of their bounds: per ``[layer, bin]``, how many start (end)
        there and the sum of their start (end) times (in quanta with ``per_s``)."""
        self.count += starts
        self.total += start_sums
        self.count -= ends
        self.total -= end_sums

    def absorb(self, part: Coverage) -> None:
        """Add the intervals of another coverage of the same bins and layers."""
        self.count += part.count
        self.total += part.total

    def per_bin(self) -> np.ndarray:
        """``[bin, layer]`` covered seconds."""
        count, total = self.count.reshape(self.layers, self.n), self.total.reshape(self.layers, self.n)
        # in quanta the products and sums wrap around in int64 as they may: the differences, the seconds per bin,
        # come out exact all the same (arithmetic modulo 2^64)
        edges = self.edges if self.per_s is None else np.rint(self.edges * self.per_s).astype(np.int64)
        zero = np.zeros((self.layers, 1), dtype=count.dtype)
        below = np.concatenate((zero, np.cumsum(count, axis=1)[:, :-1]), axis=1)  # bounds in bins before edge m
        below_sum = np.concatenate((zero, np.cumsum(total, axis=1)[:, :-1]), axis=1)
        covered = np.diff(edges * below - below_sum, axis=1).T
        return covered if self.per_s is None else covered / self.per_s
