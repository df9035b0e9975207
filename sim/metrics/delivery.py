"""Delivery delay: when each heartbeat and message was delivered against when it was generated.

A transfer goes on the radio at ``x_t`` (``sim.engine.log.LogArrays``); it is *delivered* once the radio
can carry it: at the end of the promotion it triggered or found in progress (and of one that starts just
as that one ends: UMTS's CELL_PCH -> CELL_FACH -> CELL_DCH), read from the device's transition records,
else at ``x_t``. Its delay is delivered minus generated (``x_generated_t``). docs/model.md §15.

The figures stream: each log adds to integer accumulators (delays summed in whole microseconds, so sums
are exact and do not depend on the order of the logs; a histogram of log-spaced buckets for the
percentiles), so any split into chunks or workers gives identical results, in memory independent of
the number of messages.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

RESOLUTION_S = 1e-6  # each delay is rounded to whole microseconds, then summed exactly (int64)
PER_S = 1e6  # 1 / RESOLUTION_S
GROWTH = 1.01  # bucket k >= 1 holds rounded delays of [GROWTH^(k-1), GROWTH^k) microseconds; bucket 0: zero
BUCKETS = 3300  # up to GROWTH^3299 us = 1.8 x 10^8 s (5.7 years); longer delays count in the last bucket
_LOG_GROWTH = math.log(GROWTH)
EMPTY_LOW = np.iinfo(np.int64).max  # an empty bucket's least delay


@njit(cache=True, inline="always")
def bucket(q_us: int) -> int:
    """The histogram bucket of a delay of ``q_us`` whole microseconds: 0 for zero, k >= 1 for
    ``[GROWTH^(k-1), GROWTH^k)``, the last for any longer."""
    return 0 if q_us == 0 else min(1 + int(np.floor(np.log(q_us) / _LOG_GROWTH)), BUCKETS - 1)


@njit(cache=True, nogil=True)
def _promotions(tr_t, tr_dev, tr_proc, delay_of_proc, n_dev):
    """The promotions among transition records (each device's together, in time order): start, end, and
    per device d the range ``offsets[d]`` to ``offsets[d + 1]``."""
    offsets = np.zeros(n_dev + 1, dtype=np.int64)
    for i in range(tr_t.size):
        if tr_proc[i] >= 0 and delay_of_proc[tr_proc[i]] >= 0.0:
            offsets[tr_dev[i] + 1] += 1
    offsets = np.cumsum(offsets)
    start, end = np.empty(offsets[-1]), np.empty(offsets[-1])
    k = 0
    for i in range(tr_t.size):
        if tr_proc[i] >= 0 and delay_of_proc[tr_proc[i]] >= 0.0:
            start[k], end[k] = tr_t[i], tr_t[i] + delay_of_proc[tr_proc[i]]
            k += 1
    return start, end, offsets


@njit(cache=True, inline="always")
def _delivered(t: float, start, end, lo: int, hi: int) -> float:
    """When a transfer requested at ``t`` is delivered: after the promotions ``start[lo:hi]`` (its device's,
    in start order) in progress at ``t``, or starting as the one it waited for ends."""
    left, right = lo, hi  # the first promotion starting after t: a binary search
    while left < right:
        mid = (left + right) >> 1
        if start[mid] <= t:
            left = mid + 1
        else:
            right = mid
    j, d = left - 1, t
    while lo <= j < hi and start[j] <= d:
        d = max(d, end[j])
        j += 1
    return d


@njit(cache=True, nogil=True)
def tally(x_t, x_gen, x_dev, x_code, series_of_code, tr_t, tr_dev, tr_proc, delay_of_proc, threshold_us, bin_s,
          n_series, n_dev, n_bins):
    """One pass over a log's transfers (``x_dev``: device in range): each of a code with a ``series_of_code``
    (>= 0: an app's heartbeats, say; -1: not counted) is delivered after its device's promotions
    (:func:`_delivered`, from the transition records ``tr_*``, each device's together in time order, and the
    promotion delays ``delay_of_proc``, -1: not a promotion); its delay since ``x_gen``, in whole microseconds,
    goes per series into a histogram (:func:`bucket`) with each
    bucket's least and greatest delay, a sum and a count beyond ``threshold_us``; per device into a count and
    a sum; per bin of generation time into a count, a sum and a count beyond:
    ``(hist, low, high, series_us, series_delayed, dev_n, dev_us, bin_n, bin_us, bin_delayed)``."""
    start, end, offsets = _promotions(tr_t, tr_dev, tr_proc, delay_of_proc, n_dev)
    hist = np.zeros((n_series, BUCKETS), dtype=np.int64)
    low, high = np.full((n_series, BUCKETS), EMPTY_LOW), np.zeros((n_series, BUCKETS), dtype=np.int64)
    series_us, series_delayed = np.zeros(n_series, dtype=np.int64), np.zeros(n_series, dtype=np.int64)
    dev_n, dev_us = np.zeros(n_dev, dtype=np.int64), np.zeros(n_dev, dtype=np.int64)
    bin_n, bin_us = np.zeros(n_bins, dtype=np.int64), np.zeros(n_bins, dtype=np.int64)
    bin_delayed = np.zeros(n_bins, dtype=np.int64)
    last_q, last_k = 0, 0  # most delays repeat the one before (none, a promotion's): its bucket is known
    for i in range(x_t.size):
        a = series_of_code[x_code[i]]
        if a < 0:
            continue
        d = x_dev[i]
        delay = _delivered(x_t[i], start, end, offsets[d], offsets[d + 1]) - x_gen[i]
        qi = max(0, int(np.rint(delay * PER_S)))
        if qi != last_q:
            last_q, last_k = qi, bucket(qi)
        k = last_k
        late = 1 if qi > threshold_us else 0
        b = min(int(x_gen[i] / bin_s), n_bins - 1)
        hist[a, k] += 1
        low[a, k] = min(low[a, k], qi)
        high[a, k] = max(high[a, k], qi)
        series_us[a] += qi
        series_delayed[a] += late
        dev_n[d] += 1
        dev_us[d] += qi
        bin_n[b] += 1
        bin_us[b] += qi
        bin_delayed[b] += late
    return hist, low, high, series_us, series_delayed, dev_n, dev_us, bin_n, bin_us, bin_delayed


def quanta(delay_s: np.ndarray) -> np.ndarray:
    """Delays in whole microseconds (``RESOLUTION_S``), none below zero, as :func:`tally` rounds them."""
    return np.maximum(np.rint(delay_s * PER_S), 0.0).astype(np.int64)


def percentile_s(hist: np.ndarray, low: np.ndarray, high: np.ndarray, p: float) -> float:
    """The nearest-rank ``p``-th percentile of the delays in ``hist`` (``low``, ``high``: each bucket's
    least and greatest): its bucket's geometric centre, within the bucket's least and greatest delay; so
    within 0.5 % of the rounded delay's, and exact where the bucket holds one value (a promotion delay, 0)."""
    n = int(hist.sum())
    return order_statistic_s(hist, low, high, max(1, math.ceil(p / 100.0 * n))) if n else 0.0


def order_statistic_s(hist: np.ndarray, low: np.ndarray, high: np.ndarray, rank: int) -> float:
    """The ``rank``-th least (from 1) of the delays in ``hist``, as :func:`percentile_s` reads it."""
    k = int(np.searchsorted(np.cumsum(hist), rank))
    centre = GROWTH ** (k - 0.5) if k else 0.0
    return min(max(centre, float(low[k])), float(high[k])) * RESOLUTION_S


def figures(hist: np.ndarray, low: np.ndarray, high: np.ndarray, total_us: int, delayed: int) -> dict[str, float]:
    """``delivered`` (how many), ``mean_s``, ``p50_s``, ``p95_s``, ``p99_s`` and ``share_delayed`` (``delayed`` of them
    beyond the threshold) of the delays in histogram ``hist`` (:func:`tally`) summing to ``total_us``."""
    n = int(hist.sum())
    out = {"delivered": n, "mean_s": total_us * RESOLUTION_S / n if n else 0.0}
    out |= {f"p{p}_s": percentile_s(hist, low, high, p) for p in (50, 95, 99)}
    out["share_delayed"] = delayed / n if n else 0.0
    return out
