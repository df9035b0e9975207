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
GROWTH = 1.01  # bucket k >= 1 holds rounded delays of [GROWTH^(k-1), GROWTH^k) microseconds; bucket 0: zero
BUCKETS = 3300  # up to GROWTH^3299 us = 1.8 x 10^8 s (5.7 years); longer delays count in the last bucket
_LOG_GROWTH = math.log(GROWTH)
EMPTY_LOW = np.iinfo(np.int64).max  # an empty bucket's least delay


@njit(cache=True, nogil=True)
def delivered_s(t, dev, p_start, p_end, offsets):
    """When each transfer (requested at ``t`` on device ``dev``) was delivered: after the promotions of its
    device (``p_start``, ``p_end``; device d's are ``offsets[d]`` to ``offsets[d + 1]``, in start order)
    in progress at its request, or starting as the one it waited for ends."""
    out = t.copy()
    for i in range(t.size):
        lo, hi = offsets[dev[i]], offsets[dev[i] + 1]
        if lo == hi:
            continue
        j = lo + np.searchsorted(p_start[lo:hi], t[i], side="right") - 1
        if j < lo:
            continue
        d = t[i]
        while j < hi and p_start[j] <= d:
            if p_end[j] > d:
                d = p_end[j]
            j += 1
        out[i] = d
    return out


def delays(log, first_device: int, n_devices: int, promotion_delay_s: np.ndarray, messages: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """Of the log's transfers ``messages`` (a mask): when each was generated and its delivery delay (s)."""
    proc = log.tr_proc
    promo = np.flatnonzero(proc >= 0)
    promo = promo[promotion_delay_s[proc[promo]] >= 0.0]
    p_dev, p_start = log.tr_device[promo] - first_device, log.tr_t[promo]
    order = np.lexsort((p_start, p_dev))
    p_dev, p_start = p_dev[order], p_start[order]
    p_end = p_start + promotion_delay_s[proc[promo][order]]
    offsets = np.searchsorted(p_dev, np.arange(n_devices + 1))
    x_t = log.x_t[messages]
    generated = log.x_generated_t[messages] if log.x_generated_t is not None else x_t
    return generated, delivered_s(x_t, log.x_device[messages] - first_device, p_start, p_end, offsets) - generated


def quanta(delay_s: np.ndarray) -> np.ndarray:
    """Delays in whole microseconds (``RESOLUTION_S``), none below zero."""
    return np.maximum(np.rint(delay_s / RESOLUTION_S), 0.0).astype(np.int64)


@njit(cache=True, nogil=True)
def tally(q, series, dev, t_gen, threshold_us, bin_s, n_series, n_dev, n_bins):
    """One pass over rounded delays ``q`` (microseconds) on devices ``dev``, generated at ``t_gen``: per
    ``series`` (an app's heartbeats, say) the histogram (bucket 0: zero; k >= 1: ``[GROWTH^(k-1), GROWTH^k)``)
    with each bucket's least and greatest delay, the sum and how many exceed ``threshold_us``; per device the
    count and sum; per bin of generation time the count, sum and how many exceed it:
    ``(hist, low, high, series_us, series_delayed, dev_n, dev_us, bin_n, bin_us, bin_delayed)``."""
    hist = np.zeros((n_series, BUCKETS), dtype=np.int64)
    low, high = np.full((n_series, BUCKETS), EMPTY_LOW), np.zeros((n_series, BUCKETS), dtype=np.int64)
    app_us, app_delayed = np.zeros(n_series, dtype=np.int64), np.zeros(n_series, dtype=np.int64)
    dev_n, dev_us = np.zeros(n_dev, dtype=np.int64), np.zeros(n_dev, dtype=np.int64)
    bin_n, bin_us = np.zeros(n_bins, dtype=np.int64), np.zeros(n_bins, dtype=np.int64)
    bin_delayed = np.zeros(n_bins, dtype=np.int64)
    for i in range(q.size):
        qi, a, b = q[i], series[i], min(int(t_gen[i] / bin_s), n_bins - 1)
        k = 0 if qi == 0 else min(1 + int(np.floor(np.log(qi) / _LOG_GROWTH)), BUCKETS - 1)
        late = 1 if qi > threshold_us else 0
        hist[a, k] += 1
        low[a, k] = min(low[a, k], qi)
        high[a, k] = max(high[a, k], qi)
        app_us[a] += qi
        app_delayed[a] += late
        dev_n[dev[i]] += 1
        dev_us[dev[i]] += qi
        bin_n[b] += 1
        bin_us[b] += qi
        bin_delayed[b] += late
    return hist, low, high, app_us, app_delayed, dev_n, dev_us, bin_n, bin_us, bin_delayed


def percentile_s(hist: np.ndarray, low: np.ndarray, high: np.ndarray, p: float) -> float:
    """The nearest-rank ``p``-th percentile of the delays in ``hist`` (``low``, ``high``: each bucket's
    least and greatest): its bucket's geometric centre, within the bucket's least and greatest delay; so
    within 0.5 % of the rounded delay's, and exact where the bucket holds one value (a promotion delay, 0)."""
    n = int(hist.sum())
    if n == 0:
        return 0.0
    k = int(np.searchsorted(np.cumsum(hist), max(1, math.ceil(p / 100.0 * n))))
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
