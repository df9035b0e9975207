"""UMTS RRC (TS 25.331; Qian et al., IMC 2010): IDLE, CELL_FACH, CELL_DCH, CELL_PCH.

- From IDLE any transfer sets up a CELL_DCH connection (``rrc_setup``; paging first when
  mobile-terminated).
- In CELL_FACH a transfer larger than the RLC buffer threshold in either direction moves the
  UE to CELL_DCH; smaller ones are carried on FACH.
- From CELL_PCH a transfer costs a cell update to CELL_FACH, then the FACH rule applies.
- Demotions: T1 of inactivity CELL_DCH -> CELL_FACH; T2 more CELL_FACH -> IDLE (or CELL_PCH
  when ``pch_enabled``); CELL_PCH -> IDLE after ``pch_release_s``.
- Fast dormancy: ``fast_dormancy_s`` after the last transfer, a UE still in CELL_DCH/FACH
  sends a Signalling Connection Release Indication; "legacy" (no cause) makes the network
  release to IDLE, "rel8" (with cause) moves the UE to CELL_PCH.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.radio.base import Machine
from sim.radio.columns import INF, Columns
from sim.radio.profiles import UmtsProfile

STATES = ("IDLE", "CELL_FACH", "CELL_DCH", "CELL_PCH")


@dataclass(frozen=True, slots=True)
class Spec:
    idle: int
    fach: int
    dch: int
    pch: int
    rrc_setup: int
    release: int
    dch_to_fach: int
    fach_to_dch: int
    to_pch: int
    cell_update: int
    pch_release: int
    paging: int
    fd_proc: int  # fd_release or fd_to_pch; -1 when fast dormancy is off
    fd_state: int
    t1_s: float
    t2_s: float
    idle_to_dch_delay_s: float
    fach_to_dch_delay_s: float
    pch_to_fach_delay_s: float
    up_threshold: int
    down_threshold: int
    pch_enabled: bool
    pch_release_s: float
    fast_dormancy_s: float


def spec(profile: UmtsProfile, proc: dict[str, int], state: dict[str, int]) -> Spec:
    fd = profile.fast_dormancy
    fd_proc = {"off": -1, "legacy": proc["fd_release"], "rel8": proc["fd_to_pch"]}[fd]
    fd_state = state["CELL_PCH"] if fd == "rel8" else state["IDLE"]
    return Spec(state["IDLE"], state["CELL_FACH"], state["CELL_DCH"], state["CELL_PCH"],
                proc["rrc_setup"], proc["release"], proc["dch_to_fach"], proc["fach_to_dch"],
                proc["to_pch"], proc["cell_update"], proc["pch_release"], proc["paging"], fd_proc, fd_state,
                profile.t1_s, profile.t2_s, profile.idle_to_dch_delay_s, profile.fach_to_dch_delay_s,
                profile.pch_to_fach_delay_s, profile.fach_to_dch_up_bytes, profile.fach_to_dch_down_bytes,
                profile.pch_enabled, profile.pch_release_s, profile.fast_dormancy_s)


def state_power_mw(profile: UmtsProfile) -> dict[str, float]:
    return {"IDLE": profile.idle_power_mw, "CELL_FACH": profile.fach_power_mw,
            "CELL_DCH": profile.dch_power_mw, "CELL_PCH": profile.pch_power_mw}


def promotions(profile: UmtsProfile) -> dict[str, tuple[float, float, str]]:
    """Promotion procedures: (delay s, power mW during it, target state)."""
    return {"rrc_setup": (profile.idle_to_dch_delay_s, profile.idle_to_dch_power_mw, "CELL_DCH"),
            "fach_to_dch": (profile.fach_to_dch_delay_s, profile.fach_to_dch_power_mw, "CELL_DCH"),
            "cell_update": (profile.pch_to_fach_delay_s, profile.pch_to_fach_power_mw, "CELL_FACH")}


def demotions(s: Spec, state: int, t: float) -> list[tuple[float, int, int]]:
    """The timer-driven transitions that follow a transfer completed at ``t`` in ``state``."""
    chain: list[tuple[float, int, int]] = []
    fach_from = t
    if state == s.dch:
        fach_from = t + s.t1_s
        chain.append((fach_from, s.dch_to_fach, s.fach))
    end = fach_from + s.t2_s
    chain.append((end, s.to_pch, s.pch) if s.pch_enabled else (end, s.release, s.idle))
    if s.fd_proc >= 0:
        fd_at = t + s.fast_dormancy_s
        if fd_at < end:  # the UE is still in CELL_DCH or CELL_FACH when its dormancy timer fires
            chain = [e for e in chain if e[0] < fd_at]
            chain.append((fd_at, s.fd_proc, s.fd_state))
    last_at, _, last_state = chain[-1]
    if last_state == s.pch and not math.isinf(s.pch_release_s):
        chain.append((last_at + s.pch_release_s, s.pch_release, s.idle))
    return chain


class UmtsMachine(Machine):
    __slots__ = ()

    def data(self, t: float, app: int, up_bytes: int, down_bytes: int, incoming: bool) -> float:
        s = self.spec
        t = self.settle(t)
        if self.state == s.idle:
            t = self.promote(t, s.rrc_setup, s.dch, app, s.idle_to_dch_delay_s, s.paging if incoming else -1)
        else:
            if self.state == s.pch:
                t = self.promote(t, s.cell_update, s.fach, app, s.pch_to_fach_delay_s)
            if self.state == s.fach and (up_bytes > s.up_threshold or down_bytes > s.down_threshold):
                t = self.promote(t, s.fach_to_dch, s.dch, app, s.fach_to_dch_delay_s)
        self.schedule(demotions(s, self.state, t))
        return t


class UmtsColumns(Columns):
    """Array form of :class:`UmtsMachine`; :meth:`chain` is :func:`demotions` slot by slot."""

    CHAIN = 3
    USES_BYTES = True  # CELL_FACH -> CELL_DCH above the RLC buffer thresholds

    def data(self, t, app, incoming, up, down):
        s, n = self.spec, t.size
        t = self.promote(self.state[:n] == s.idle, t, s.rrc_setup, s.dch, app, s.idle_to_dch_delay_s, incoming,
                         s.paging)
        t = self.promote(self.state[:n] == s.pch, t, s.cell_update, s.fach, app, s.pch_to_fach_delay_s)
        big = (self.state[:n] == s.fach) & ((up > s.up_threshold) | (down > s.down_threshold))
        return self.promote(big, t, s.fach_to_dch, s.dch, app, s.fach_to_dch_delay_s)

    def chain(self, t):
        s, n = self.spec, t.size
        due, proc, state = self.due[:, :n], self.due_proc[:, :n], self.due_state[:, :n]
        dch = self.state[:n] == s.dch
        to_fach = t + s.t1_s
        end = np.where(dch, to_fach, t) + s.t2_s
        due[0] = np.where(dch, to_fach, INF)  # slot 0: CELL_DCH -> CELL_FACH after T1
        proc[0], state[0] = s.dch_to_fach, s.fach
        due[1] = end  # slot 1: T2 more to CELL_PCH or IDLE, or fast dormancy first
        proc[1], state[1] = (s.to_pch, s.pch) if s.pch_enabled else (s.release, s.idle)
        if s.fd_proc >= 0:
            fd_at = t + s.fast_dormancy_s
            first = fd_at < end  # the UE is still in CELL_DCH or CELL_FACH when its dormancy timer fires
            np.copyto(due[0], INF, where=first & (to_fach >= fd_at))
            np.copyto(due[1], fd_at, where=first)
            np.copyto(proc[1], s.fd_proc, where=first)
            np.copyto(state[1], s.fd_state, where=first)
        due[2] = INF  # slot 2: CELL_PCH -> IDLE
        if not math.isinf(s.pch_release_s):
            np.copyto(due[2], due[1] + s.pch_release_s, where=state[1] == s.pch)
            proc[2], state[2] = s.pch_release, s.idle
