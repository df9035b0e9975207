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
- Upkeep (``sim.radio.compiled``): in IDLE (PMM-IDLE) a periodic routing-area update every
  ``t3312_s`` (TS 24.008 §4.7.2.2); in CELL_PCH the PS signalling connection stays (PMM-CONNECTED),
  so no RAU but cell updates (TS 25.331 §8.3.1): periodic ones at T305 and mobility ones at
  ``pch_mobility_updates_per_h``, either restarting T305 (:func:`pch_update_s`). Each is one record,
  the state unchanged (a RAU's short connection, a cell update's CELL_FACH moment folded into its messages).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from sim.radio.base import Machine, area
from sim.radio.compiled import page, part, promote
from sim.radio.profiles import UmtsProfile

STATES = ("IDLE", "CELL_FACH", "CELL_DCH", "CELL_PCH")

CHAIN = 3  # demotions pending at most (``sim.radio.compiled``)


class Spec(NamedTuple):
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
    paging_area: tuple[int, float, int]  # the repeat's procedure, answer probability, most repetitions
    paging_key: int  # the run's key of the paging draws (sim.radio.compiled.paging_repeats)
    upkeep: tuple[tuple[int, int, float], ...]  # (state, periodic update procedure, period s)
    keeper: int  # the app code owning the periodic updates (the ``mobility`` pseudo-app)


def pch_update_s(profile: UmtsProfile) -> float:
    """The mean interval between cell updates in CELL_PCH: a renewal process whose gaps are the
    smaller of T305 and the time to the next cell reselection (exponential at the mobility rate λ;
    each update restarts T305): mean gap E[min(Exp(λ), T305)] = (1 - exp(-λ T305)) / λ. Modelled
    as regular updates at that interval, which gives the process's mean count."""
    rate = profile.pch_mobility_updates_per_h / 3600.0
    if rate == 0.0:
        return float(profile.t305_s)
    return 1.0 / rate if math.isinf(profile.t305_s) else -math.expm1(-rate * profile.t305_s) / rate


def spec(profile: UmtsProfile, proc: dict[str, int], state: dict[str, int], key: int, keeper: int) -> Spec:
    fd = profile.fast_dormancy
    fd_proc = {"off": -1, "legacy": proc["fd_release"], "rel8": proc["fd_to_pch"]}[fd]
    fd_state = state["CELL_PCH"] if fd == "rel8" else state["IDLE"]
    return Spec(state["IDLE"], state["CELL_FACH"], state["CELL_DCH"], state["CELL_PCH"],
                proc["rrc_setup"], proc["release"], proc["dch_to_fach"], proc["fach_to_dch"],
                proc["to_pch"], proc["cell_update"], proc["pch_release"], proc["paging"], fd_proc, fd_state,
                profile.t1_s, profile.t2_s, profile.idle_to_dch_delay_s, profile.fach_to_dch_delay_s,
                profile.pch_to_fach_delay_s, profile.fach_to_dch_up_bytes, profile.fach_to_dch_down_bytes,
                profile.pch_enabled, profile.pch_release_s, profile.fast_dormancy_s, area(profile, proc, "paging"), key,
                ((state["IDLE"], proc["periodic_rau"], float(profile.t3312_s)),
                 (state["CELL_PCH"], proc["pch_cell_update"], pch_update_s(profile))), keeper)


def uses_bytes(spec: Spec) -> bool:
    """Transfers' bytes always matter: CELL_FACH -> CELL_DCH above the RLC buffer thresholds."""
    return True


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
            if incoming:
                self.page(t, s.paging, app, s.paging_area)
            t = self.promote(t, s.rrc_setup, s.dch, app, s.idle_to_dch_delay_s)
        else:
            if self.state == s.pch:
                t = self.promote(t, s.cell_update, s.fach, app, s.pch_to_fach_delay_s)
            if self.state == s.fach and (up_bytes > s.up_threshold or down_bytes > s.down_threshold):
                t = self.promote(t, s.fach_to_dch, s.dch, app, s.fach_to_dch_delay_s)
        self.schedule(demotions(s, self.state, t))
        return t


@part
def transfer(recs, n, state, ready, owner, chain, row, head, size, tk, app, up, down, incoming, device, pages, s):
    """The compiled form of :meth:`UmtsMachine.data` after :func:`~sim.radio.compiled.settle` (``sim.radio.kernel``),
    the chain as :func:`demotions` makes it. Returns ``n``, the state, when a promotion ends, the owner, the chain's
    head and size, when the transfer goes and the pages so far."""
    due, due_proc, due_state = chain
    if state == s.idle:
        if incoming:
            n, pages = page(recs, n, tk, s.paging, app, state, s.paging_area, s.paging_key, device, pages)
        n, tk = promote(recs, n, tk, s.rrc_setup, s.dch, app, s.idle_to_dch_delay_s)
        state, owner, ready = s.dch, app, tk
    else:
        if state == s.pch:
            n, tk = promote(recs, n, tk, s.cell_update, s.fach, app, s.pch_to_fach_delay_s)
            state, owner, ready = s.fach, app, tk
        if state == s.fach and (up > s.up_threshold or down > s.down_threshold):
            n, tk = promote(recs, n, tk, s.fach_to_dch, s.dch, app, s.fach_to_dch_delay_s)
            state, owner, ready = s.dch, app, tk
    size, fach_from = 0, tk
    if state == s.dch:
        fach_from = tk + s.t1_s
        due[row, 0], due_proc[row, 0], due_state[row, 0] = fach_from, s.dch_to_fach, s.fach
        size = 1
    end = fach_from + s.t2_s
    if s.pch_enabled:
        due[row, size], due_proc[row, size], due_state[row, size] = end, s.to_pch, s.pch
    else:
        due[row, size], due_proc[row, size], due_state[row, size] = end, s.release, s.idle
    size += 1
    if s.fd_proc >= 0:
        fd_at = tk + s.fast_dormancy_s
        if fd_at < end:  # the UE is still in CELL_DCH or CELL_FACH when its dormancy timer fires
            size = 1 if size == 2 and due[row, 0] < fd_at else 0
            due[row, size], due_proc[row, size], due_state[row, size] = fd_at, s.fd_proc, s.fd_state
            size += 1
    if due_state[row, size - 1] == s.pch and s.pch_release_s != np.inf:
        due[row, size], due_proc[row, size], due_state[row, size] = (due[row, size - 1] + s.pch_release_s,
                                                                     s.pch_release, s.idle)
        size += 1
    return n, state, ready, owner, 0, size, tk, pages
