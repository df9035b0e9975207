"""The limited nodes' figures over time, streamed from their log (docs/model.md §9).

Both engines log what each node instance did as rows ``(kind, instance, a, b)`` (the kinds:
``sim.engine.log.NL_OFFER`` ... ``NL_CARRIED``). A :class:`NodeLog` takes them a chunk at a time and
keeps, per node and bin, integer accumulators only: messages offered and carried, rejects, the bounds of
busy processors' and waiting procedures' intervals in whole quanta of 2^-32 s (``Coverage``), and the carried
procedures' waits as a count, a sum in whole microseconds and ``sim.metrics.delivery``'s histogram (per
bin of arrival). So any split of the log into chunks, or of the nodes into parts, gives identical figures,
in memory independent of the number of rows.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.engine.log import NL_CARRIED, NL_OFFER, NL_QUEUED, NL_REJECT, NL_WAIT
from sim.metrics import delivery
from sim.metrics.coverage import Coverage, bin_edges

CHUNK_ROWS = 2**20  # a compiled run's node log buffer (rows of 4 float64: 32 MB), fed here when full
# the intervals' bounds in whole quanta of 2^-32 s (0.23 ns): the scaling is exact, and int64 holds 68 years of them
PER_S = 2.0**32


@njit(cache=True, inline="always")
def _bin(t: float, edges, bin_s: float) -> int:
    """The bin of time ``t``: ``edges[b] <= t < edges[b + 1]``, the run's end in the last one (``np.histogram``'s)."""
    last = edges.size - 2
    b = min(int(t / bin_s), last)
    while b > 0 and t < edges[b]:
        b -= 1
    while b < last and t >= edges[b + 1]:
        b += 1
    return b


@njit(cache=True, nogil=True)
def tally(rows, q_us, node_of, edges, bin_s, n_nodes):
    """One pass over node-log rows (``node_of[instance]``: its node, of ``n_nodes``; ``q_us``: column ``b``
    in whole microseconds, ``delivery.quanta``): per node and bin, messages offered and carried (by completion
    time) and rejects; the histograms of the bounds of busy processors' (layer 2 x node) and queue stays'
    (2 x node + 1) intervals, in quanta of 1 / ``PER_S`` (``Coverage.add_histograms``); per node the carried
    procedures' waits, how many and their sum (us), and per bin of arrival their histogram (``delivery.bucket``),
    each bucket's least and greatest:
    ``(offered, carried, rejected, waits, wait_us, hist, low, high, starts, start_q, ends, end_q)``."""
    n_bins = edges.size - 1
    offered = np.zeros((n_nodes, n_bins), dtype=np.int64)
    carried, rejected = np.zeros_like(offered), np.zeros_like(offered)
    starts = np.zeros(2 * n_nodes * edges.size, dtype=np.int64)
    start_q, ends, end_q = np.zeros_like(starts), np.zeros_like(starts), np.zeros_like(starts)
    waits, waits_us = np.zeros(n_nodes, dtype=np.int64), np.zeros(n_nodes, dtype=np.int64)
    hist = np.zeros((n_nodes, n_bins, delivery.BUCKETS), dtype=np.int64)
    low, high = np.full(hist.shape, delivery.EMPTY_LOW), np.zeros_like(hist)
    for i in range(rows.shape[0]):
        kind, j, a, b = int(rows[i, 0]), node_of[int(rows[i, 1])], rows[i, 2], rows[i, 3]
        if kind == NL_OFFER:
            offered[j, _bin(a, edges, bin_s)] += int(b)
        elif kind == NL_CARRIED:
            carried[j, _bin(a, edges, bin_s)] += int(b)
        elif kind == NL_REJECT:
            rejected[j, _bin(a, edges, bin_s)] += 1
        elif kind == NL_WAIT:
            q = q_us[i]
            k, t = delivery.bucket(q), _bin(a, edges, bin_s)
            waits[j] += 1
            waits_us[j] += q
            hist[j, t, k] += 1
            low[j, t, k] = min(low[j, t, k], q)
            high[j, t, k] = max(high[j, t, k], q)
        else:  # NL_BUSY or NL_QUEUED: an interval [a, b)
            layer = (2 * j + (1 if kind == NL_QUEUED else 0)) * edges.size
            starts[layer + _bin(a, edges, bin_s)] += 1
            start_q[layer + _bin(a, edges, bin_s)] += np.int64(np.rint(a * PER_S))
            ends[layer + _bin(b, edges, bin_s)] += 1
            end_q[layer + _bin(b, edges, bin_s)] += np.int64(np.rint(b * PER_S))
    return offered, carried, rejected, waits, waits_us, hist, low, high, starts, start_q, ends, end_q


class NodeLog:
    """Per limited node (``names``, in the scenario's order) and bin: what its instances' logs say.

    :meth:`add` chunks of rows; :meth:`absorb` the log of other instances (another part of the run).
    """

    SUMS = ("offered", "carried", "rejected", "waits", "wait_us", "hist")  # what parts add up

    def __init__(self, names: list[str], end_s: float, bin_s: float):
        self.names, self.bin_s = names, bin_s
        self.edges = bin_edges(end_s, bin_s)
        n, n_bins = len(names), self.edges.size - 1
        self.offered = np.zeros((n, n_bins), dtype=np.int64)  # messages
        self.carried = np.zeros((n, n_bins), dtype=np.int64)  # messages, by completion time
        self.rejected = np.zeros((n, n_bins), dtype=np.int64)  # procedures
        self.occupancy = Coverage(self.edges, bin_s, 2 * n, PER_S)  # layer 2 x node: busy processors, + 1: queue
        self.waits = np.zeros(n, dtype=np.int64)  # carried procedures
        self.wait_us = np.zeros(n, dtype=np.int64)  # their waits' sum
        self.hist = np.zeros((n, n_bins, delivery.BUCKETS), dtype=np.int64)  # [node, bin of arrival, bucket]
        self.low = np.full(self.hist.shape, delivery.EMPTY_LOW)  # each bucket's least wait (us)
        self.high = np.zeros(self.hist.shape, dtype=np.int64)  # ... and greatest

    def add(self, rows: np.ndarray, node_of: np.ndarray) -> None:
        """Account node-log rows ``(kind, instance, a, b)``; ``node_of[instance]``: its node's index in ``names``."""
        *sums, low, high, starts, start_q, ends, end_q = tally(rows, delivery.quanta(rows[:, 3]), node_of,
                                                               self.edges, self.bin_s, len(self.names))
        for name, part in zip(self.SUMS, sums):
            getattr(self, name)[...] += part
        self._bounds(low, high)
        self.occupancy.add_histograms(starts, start_q, ends, end_q)

    def absorb(self, part: NodeLog) -> None:
        """Account the log of other instances of the same nodes over the same bins."""
        for name in self.SUMS:
            getattr(self, name)[...] += getattr(part, name)
        self._bounds(part.low, part.high)
        self.occupancy.absorb(part.occupancy)

    def _bounds(self, low: np.ndarray, high: np.ndarray) -> None:
        np.minimum(self.low, low, out=self.low)
        np.maximum(self.high, high, out=self.high)

    def wait_figures(self, node: int) -> dict[str, float]:
        """``wait_mean_s`` (of the waits in whole microseconds) and ``wait_p95_s`` (:func:`p95_s`) over the
        procedures node ``node`` carried; 0 if none."""
        n = int(self.waits[node])
        return {"wait_mean_s": int(self.wait_us[node]) * delivery.RESOLUTION_S / n if n else 0.0,
                "wait_p95_s": p95_s(self.hist[node].sum(axis=0), self.low[node].min(axis=0),
                                    self.high[node].max(axis=0))}

    def wait_p95_per_bin(self, node: int) -> np.ndarray:
        """Per bin, ``wait_p95_s`` of the procedures that arrived in it (0 where none)."""
        return np.array([p95_s(h, lo, hi) for h, lo, hi in zip(self.hist[node], self.low[node], self.high[node])])


def p95_s(hist: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """The 95th percentile of the waits in ``hist`` (``delivery``'s histogram) as numpy's default takes it: between
    the order statistics either side of rank 0.95 (n - 1), each read to 0.5 % (``delivery.order_statistic_s``)."""
    n = int(hist.sum())
    if n == 0:
        return 0.0
    rank = 0.95 * (n - 1)
    below = math.floor(rank)
    a = delivery.order_statistic_s(hist, low, high, below + 1)
    return a + (rank - below) * (delivery.order_statistic_s(hist, low, high, min(below + 2, n)) - a)
