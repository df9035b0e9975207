"""Periodic transfers: the bursts of a flow that recur at a regular interval (ARO's idea).

ARO (``PeriodicTransferImpl``, code) takes the times of a kind of event, the inter-arrival times
(IATs) between every two of them, sorts them, and for each IAT the cluster of those less than
``PERIOD_TOLERANCE_S`` above it; a cluster whose mean exceeds ``MIN_PERIOD_S`` is scored by the
longest chain of events it links one after the other; the best chain, if it has at least
``MIN_LINKS`` links, is periodic, its period the cluster's mean. Here the events are the flow's
bursts (their first packets), and every pair of bursts at most ``LOOKAHEAD`` apart is an IAT
(ARO pairs all, at a cost quadratic in the events, and caps them at 200 per run): an unrelated
burst between two keepalives does not hide them. The period reported is the mean IAT of the
chain's own links (ARO reports the cluster's mean, which may include IATs off the chain).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# code: ARO Profile.periodMinCycle, periodCycleTol, periodMinSamples (VideoOptimizer
# ARO.Core configuration/pojo/Profile.java)
MIN_PERIOD_S = 10.0
PERIOD_TOLERANCE_S = 1.0
MIN_LINKS = 3
LOOKAHEAD = 8  # assumption: bursts of other traffic between two periodic ones, at most 7


@dataclass(frozen=True)
class Periodic:
    """A chain of bursts recurring at ``period_s``: the indices of its bursts among the flow's."""

    period_s: float
    bursts: np.ndarray


def find_periodic(starts_s: np.ndarray) -> Periodic | None:
    """The longest regular chain among burst start times ``starts_s`` (ascending), or None."""
    n = starts_s.size
    if n < MIN_LINKS + 1:
        return None
    pairs = [(i, j) for i in range(n) for j in range(i + 1, min(n, i + LOOKAHEAD + 1))]
    begin, end = (np.array(p, dtype=np.int64) for p in zip(*pairs))
    iat = starts_s[end] - starts_s[begin]
    order = np.argsort(iat, kind="stable")
    iat, begin, end = iat[order], begin[order], end[order]
    stop = np.searchsorted(iat, iat + PERIOD_TOLERANCE_S, side="left")  # cluster k: IATs [k, stop[k])
    best = np.zeros(0, dtype=np.int64)
    passed = False  # whether the cluster before passed the mean test
    for k in range(iat.size):
        if passed and stop[k] == stop[k - 1]:
            continue  # a subset of the cluster before: its longest chain is no longer
        passed = iat[k:stop[k]].mean() > MIN_PERIOD_S
        if passed:
            chain = _longest_chain(begin[k:stop[k]], end[k:stop[k]], n)
            best = chain if chain.size > best.size else best
    if best.size - 1 < MIN_LINKS:
        return None
    return Periodic(float(np.diff(starts_s[best]).mean()), best)


def _longest_chain(begin: np.ndarray, end: np.ndarray, n: int) -> np.ndarray:
    """The longest path of events linked by the edges ``begin -> end`` (begin < end): its events."""
    length = np.ones(n, dtype=np.int64)
    back = np.full(n, -1, dtype=np.int64)
    order = np.lexsort((end, begin))  # by begin event: every edge into an event comes before those out of it
    for b, e in zip(begin[order].tolist(), end[order].tolist()):
        if length[b] + 1 > length[e]:
            length[e], back[e] = length[b] + 1, b
    at = int(np.argmax(length))
    chain = [at]
    while back[chain[-1]] >= 0:
        chain.append(int(back[chain[-1]]))
    return np.array(chain[::-1], dtype=np.int64)
