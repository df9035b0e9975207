"""Compiled single passes over an event log: the counts and sums the metrics are made of.

Each loop adds in log order, as ``np.bincount`` does, so its floats are the ones a bincount
would give; one pass replaces several bincounts and the temporary keys they need.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def transitions(t, dev, proc, owner, state, layer, end_s, bin_s, n_bins, n_dev, n_codes, n_procs, n_owners,
                n_layers, held):
    """Per device (``dev``: 0 .. ``n_dev`` - 1): seconds in each state code and occurrences of each
    procedure (code + 1; 0: the initial state); per bin and per owner app (+ 1; 0: none): occurrences
    of each procedure; per owner app (+ 1), seconds in each state code its records began; and the
    histograms of the state intervals' bounds per ``layer[state]`` (of ``n_layers``) and bin (see
    ``sim.metrics.coverage.Coverage``):
    ``(seconds, counts, bin_proc, app_proc, app_seconds, starts, start_sums, ends, end_sums)``.

    Each device's records are consecutive and in time order: a record's state lasts until the device's
    next record, or ``end_s``; records at or after ``end_s`` never happened. A ``held`` record (``held``: a flag
    per record, or empty: none) is not counted: it ends the one before it, and it and the device's later records
    are counted with a later log (a log streamed in parts: ``Reducer.stream_transitions``)."""
    seconds = np.zeros((n_dev, n_codes))
    counts = np.zeros((n_dev, n_procs), dtype=np.int64)
    bin_proc = np.zeros((n_bins, n_procs), dtype=np.int64)
    app_proc = np.zeros((n_owners, n_procs), dtype=np.int64)
    app_seconds = np.zeros((n_owners, n_codes))
    edges = n_bins + 1
    starts, ends = np.zeros(n_layers * edges), np.zeros(n_layers * edges)
    start_sums, end_sums = np.zeros(n_layers * edges), np.zeros(n_layers * edges)
    for i in range(t.size):
        ti = t[i]
        if ti >= end_s or (held.size and held[i]):
            continue
        ui = t[i + 1] if i + 1 < t.size and dev[i + 1] == dev[i] and t[i + 1] < end_s else end_s
        d, code, s = dev[i], proc[i] + 1, state[i]
        seconds[d, s] += ui - ti
        counts[d, code] += 1
        t_bin, u_bin = min(int(ti / bin_s), n_bins - 1), min(int(ui / bin_s), n_bins - 1)
        bin_proc[t_bin, code] += 1
        app_proc[owner[i] + 1, code] += 1
        app_seconds[owner[i] + 1, s] += ui - ti
        k = layer[s] * edges
        starts[k + t_bin] += 1.0
        start_sums[k + t_bin] += ti
        ends[k + u_bin] += 1.0
        end_sums[k + u_bin] += ui
    return seconds, counts, bin_proc, app_proc, app_seconds, starts, start_sums, ends, end_sums


@njit(cache=True, nogil=True)
def transfers(t, dev, code, n_dev, n_codes, bin_s, n_bins):
    """Transfers per device and code, and per bin and code: ``(per_device, per_bin)``."""
    per_device = np.zeros((n_dev, n_codes), dtype=np.int64)
    per_bin = np.zeros((n_bins, n_codes), dtype=np.int64)
    count_transfers(per_device, per_bin, t, dev, code, bin_s)
    return per_device, per_bin


@njit(cache=True, nogil=True)
def count_transfers(per_device, per_bin, t, dev, code, bin_s):
    """Add transfers to the counts per device and code and per bin and code (:func:`transfers`)."""
    last = per_bin.shape[0] - 1
    for i in range(t.size):
        per_device[dev[i], code[i]] += 1
        per_bin[min(int(t[i] / bin_s), last), code[i]] += 1
