"""LTE RRC (TS 36.331): RRC_IDLE and RRC_CONNECTED.

A transfer in RRC_IDLE triggers a service request (preceded by paging when the data is
mobile-terminated) and waits ``promotion_delay_s``; ``tail_s`` of inactivity after the last
transfer releases the connection (S1 release). DRX inside RRC_CONNECTED is folded into the
tail power.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.radio.base import Machine
from sim.radio.columns import Columns
from sim.radio.profiles import LteProfile

STATES = ("RRC_IDLE", "RRC_CONNECTED")


@dataclass(frozen=True, slots=True)
class Spec:
    idle: int
    connected: int
    service_request: int
    s1_release: int
    paging: int
    tail_s: float
    promotion_delay_s: float


def spec(profile: LteProfile, proc: dict[str, int], state: dict[str, int]) -> Spec:
    return Spec(state["RRC_IDLE"], state["RRC_CONNECTED"], proc["service_request"], proc["s1_release"],
                proc["paging"], profile.tail_s, profile.promotion_delay_s)


def state_power_mw(profile: LteProfile) -> dict[str, float]:
    return {"RRC_IDLE": profile.idle_power_mw, "RRC_CONNECTED": profile.connected_power_mw}


def promotions(profile: LteProfile) -> dict[str, tuple[float, float, str]]:
    """Promotion procedures: (delay s, power mW during it, target state)."""
    return {"service_request": (profile.promotion_delay_s, profile.promotion_power_mw, "RRC_CONNECTED")}


class LteMachine(Machine):
    """Written out flat: LTE is the common case and the engine's hottest path."""

    __slots__ = ()

    def data(self, t: float, app: int, up_bytes: int, down_bytes: int, incoming: bool) -> float:
        s, rec = self.spec, self.rec
        if self.due <= t:  # the tail expired since the last transfer: S1 release
            rec((self.due, self.device, s.s1_release, self.owner, s.idle))
            self.state = s.idle
        if t < self.ready:
            t = self.ready
        if self.state == s.idle:
            if incoming:
                rec((t, self.device, s.paging, app, s.idle))
            rec((t, self.device, s.service_request, app, s.connected))
            self.state, self.owner = s.connected, app
            t += s.promotion_delay_s
            self.ready = t
        self.due, self.due_proc, self.due_state = t + s.tail_s, s.s1_release, s.idle
        return t


class LteColumns(Columns):
    """Array form of :class:`LteMachine`."""

    def data(self, t, app, incoming, up, down):
        s = self.spec
        return self.promote(self.state[:t.size] == s.idle, t, s.service_request, s.connected, app,
                            s.promotion_delay_s, incoming, s.paging)

    def chain(self, t):
        n, s = t.size, self.spec
        np.add(t, s.tail_s, out=self.due[0, :n])
        self.due_proc[0, :n], self.due_state[0, :n] = s.s1_release, s.idle
