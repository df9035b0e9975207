"""NR RRC (TS 38.300 §9.2.2, TS 38.331): RRC_IDLE, RRC_INACTIVE, RRC_CONNECTED.

With ``inactive_enabled`` the inactivity timer suspends the UE to RRC_INACTIVE (one RRCRelease
with suspend, gNB only); the next transfer resumes it with three RRC messages and no core
signalling. Otherwise the timer releases to RRC_IDLE as in LTE.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.radio.base import Machine
from sim.radio.columns import Columns
from sim.radio.profiles import NrProfile

STATES = ("RRC_IDLE", "RRC_INACTIVE", "RRC_CONNECTED")


@dataclass(frozen=True, slots=True)
class Spec:
    idle: int
    inactive: int
    connected: int
    service_request: int
    release: int
    suspend: int
    resume: int
    inactive_release: int
    paging: int
    ran_paging: int
    tail_s: float
    promotion_delay_s: float
    resume_delay_s: float
    inactive_enabled: bool
    inactive_release_s: float


def spec(profile: NrProfile, proc: dict[str, int], state: dict[str, int]) -> Spec:
    return Spec(state["RRC_IDLE"], state["RRC_INACTIVE"], state["RRC_CONNECTED"],
                proc["service_request"], proc["release"], proc["suspend"], proc["resume"],
                proc["inactive_release"], proc["paging"], proc["ran_paging"],
                profile.tail_s, profile.promotion_delay_s, profile.resume_delay_s,
                profile.inactive_enabled, profile.inactive_release_s)


def state_power_mw(profile: NrProfile) -> dict[str, float]:
    return {"RRC_IDLE": profile.idle_power_mw, "RRC_INACTIVE": profile.inactive_power_mw,
            "RRC_CONNECTED": profile.connected_power_mw}


def promotions(profile: NrProfile) -> dict[str, tuple[float, float, str]]:
    """Promotion procedures: (delay s, power mW during it, target state)."""
    return {"service_request": (profile.promotion_delay_s, profile.promotion_power_mw, "RRC_CONNECTED"),
            "resume": (profile.resume_delay_s, profile.promotion_power_mw, "RRC_CONNECTED")}


class NrMachine(Machine):
    __slots__ = ()

    def data(self, t: float, app: int, up_bytes: int, down_bytes: int, incoming: bool) -> float:
        s = self.spec
        t = self.settle(t)
        if self.state == s.idle:
            t = self.promote(t, s.service_request, s.connected, app, s.promotion_delay_s, s.paging if incoming else -1)
        elif self.state == s.inactive:
            t = self.promote(t, s.resume, s.connected, app, s.resume_delay_s, s.ran_paging if incoming else -1)
        end = t + s.tail_s
        self.rest = []
        if not s.inactive_enabled:
            self.due, self.due_proc, self.due_state = end, s.release, s.idle
        else:
            self.due, self.due_proc, self.due_state = end, s.suspend, s.inactive
            if not math.isinf(s.inactive_release_s):
                self.rest = [(end + s.inactive_release_s, s.inactive_release, s.idle)]
        return t


class NrColumns(Columns):
    """Array form of :class:`NrMachine`."""

    CHAIN = 2

    def data(self, t, app, incoming, up, down):
        s, state = self.spec, self.state[:t.size]
        idle, inactive = state == s.idle, state == s.inactive
        t = self.promote(idle, t, s.service_request, s.connected, app, s.promotion_delay_s, incoming, s.paging)
        return self.promote(inactive, t, s.resume, s.connected, app, s.resume_delay_s, incoming, s.ran_paging)

    def chain(self, t):
        n, s = t.size, self.spec
        end = t + s.tail_s
        self.due[0, :n] = end
        if not s.inactive_enabled:
            self.due_proc[0, :n], self.due_state[0, :n] = s.release, s.idle
            return
        self.due_proc[0, :n], self.due_state[0, :n] = s.suspend, s.inactive
        if not math.isinf(s.inactive_release_s):
            np.add(end, s.inactive_release_s, out=self.due[1, :n])
            self.due_proc[1, :n], self.due_state[1, :n] = s.inactive_release, s.idle
