"""Adaptive heartbeat: Tencent Mars' "smart heartbeat" (``mars/stn/src/smart_heartbeat.cc``).

Ported decision by decision, without the parts that need a calendar or a handset maker
(the weekly re-probe of a stable interval, the MIUI alarm alignment) and with the app taken
to be in the background (Mars beats at the minimum while the app is active). Constants
default to ``mars/stn/config.h``; the scenario's ``heartbeat`` table can change them.

- After a connection is (re)established the first ``warmup_beats`` beats use the minimum.
- Then it beats at the current interval; after ``probe_beats`` successes there it probes one
  ``step_s`` higher (capped at the maximum; reaching it settles ``margin_s`` below it).
- ``max_failures`` failures at a probed interval settle ``step_s + margin_s`` lower: a margin
  below the largest interval that survived. Failures of a settled interval restart the search.
"""
from __future__ import annotations

import numpy as np

from sim.scenario.schema import Heartbeat


class MarsHeartbeat:
    """State of one connection's adaptive heartbeat."""

    __slots__ = ("p", "current_s", "stable", "link_successes", "successes", "failures", "last_used_s")

    def __init__(self, params: Heartbeat):
        self.p = params
        self.current_s = params.min_interval_s
        self.stable = False
        self.link_successes = 0  # beats that succeeded since the connection was established
        self.successes = 0  # successes at the current interval
        self.failures = 0
        self.last_used_s = params.min_interval_s

    def next_interval_s(self) -> float:
        used = self.p.min_interval_s if self.link_successes < self.p.warmup_beats else self.current_s
        self.last_used_s = used
        return used

    def result(self, ok: bool) -> None:
        """Learn from the latest beat: ``ok`` if the connection was still alive."""
        if ok:
            self.link_successes += 1
            if self.stable:
                return
        self._adapt(ok)
        if not ok:  # the connection is re-established, which restarts the warm-up
            self.link_successes = 0
            if self.stable:
                self.successes = 0

    def _adapt(self, ok: bool) -> None:
        p = self.p
        if self.last_used_s != self.current_s or self.link_successes < p.warmup_beats:
            return
        if ok:
            self.successes += 1
            if self.current_s >= p.max_interval_s:
                self.current_s = p.max_interval_s - p.margin_s
                self.successes = 0
                self.stable = True
            elif self.successes >= p.probe_beats:
                self.current_s = min(self.current_s + p.step_s, p.max_interval_s)
                self.successes = 0
            self.failures = 0
            return
        if self.last_used_s == p.min_interval_s:
            return
        self.failures += 1
        if self.failures < p.max_failures:
            return
        if self.stable:
            self.current_s, self.stable = p.min_interval_s, False
        else:
            self.current_s = max(p.min_interval_s, self.current_s - p.step_s - p.margin_s)
            self.stable = True
        self.successes = 0
        self.failures = 0


class MarsArrays:
    """Array form of :class:`MarsHeartbeat`: the same state for ``n`` connections sharing ``params``.

    Both methods act on the connections ``idx`` (distinct indices) and take, decision by decision
    and with the same float arithmetic, what the scalar methods take for each of them.
    """

    def __init__(self, params: Heartbeat, n: int):
        self.p = params
        self.current_s = np.full(n, params.min_interval_s, dtype=float)
        self.stable = np.zeros(n, dtype=bool)
        self.link_successes = np.zeros(n, dtype=np.int64)
        self.successes = np.zeros(n, dtype=np.int64)
        self.failures = np.zeros(n, dtype=np.int64)
        self.last_used_s = np.full(n, params.min_interval_s, dtype=float)

    def next_interval_s(self, idx: np.ndarray) -> np.ndarray:
        used = np.where(self.link_successes[idx] < self.p.warmup_beats, self.p.min_interval_s, self.current_s[idx])
        self.last_used_s[idx] = used
        return used

    def result(self, idx: np.ndarray, ok: np.ndarray) -> None:
        """Learn from the latest beat of each connection ``idx``: ``ok`` if it was still alive."""
        p, ok = self.p, np.asarray(ok, dtype=bool)
        cur, stable, used = self.current_s[idx], self.stable[idx], self.last_used_s[idx]
        succ, fail = self.successes[idx], self.failures[idx]
        links = self.link_successes[idx] + ok
        # MarsHeartbeat._adapt runs (a stable success returns first) and passes its first guard
        adapt = ~(ok & stable) & (used == cur) & (links >= p.warmup_beats)
        win = adapt & ok
        succ = succ + win
        top = win & (cur >= p.max_interval_s)
        probe = win & ~top & (succ >= p.probe_beats)
        lose = adapt & ~ok & (used != p.min_interval_s)  # failures at the minimum do not count
        fail = fail + lose
        give_up = lose & (fail >= p.max_failures)
        cur = np.where(top, p.max_interval_s - p.margin_s, cur)
        cur = np.where(probe, np.minimum(cur + p.step_s, p.max_interval_s), cur)
        cur = np.where(give_up & stable, p.min_interval_s, cur)
        cur = np.where(give_up & ~stable, np.maximum(p.min_interval_s, cur - p.step_s - p.margin_s), cur)
        stable = (stable | top) ^ give_up
        # a failure re-establishes the connection: the warm-up restarts, a settled count too
        succ = np.where(top | probe | give_up | (~ok & stable), 0, succ)
        self.current_s[idx], self.stable[idx] = cur, stable
        self.successes[idx], self.failures[idx] = succ, np.where(win | give_up, 0, fail)
        self.link_successes[idx] = np.where(ok, links, 0)
