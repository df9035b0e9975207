"""NR RRC (TS 38.300 §9.2.2, TS 38.331): RRC_IDLE, RRC_INACTIVE, RRC_CONNECTED.

With ``inactive_enabled`` the inactivity timer suspends the UE to RRC_INACTIVE (one RRCRelease
with suspend, gNB only); the next transfer resumes it with three RRC messages and no core
signalling. Otherwise the timer releases to RRC_IDLE as in LTE. With ``sdt_enabled`` (Rel-17 small
data transmission) an outgoing transfer of at most ``sdt_max_bytes`` each way from RRC_INACTIVE is
one ``sdt`` record instead: the state, its timers and the periodic RNA update stay as they were.

Upkeep (``sim.radio.compiled``): in RRC_IDLE (CM-IDLE) a periodic registration update every
``t3512_s`` (TS 24.501 §5.3.7); in RRC_INACTIVE the UE stays CM-CONNECTED, so no registration
update, but a periodic RNA update every ``t380_s`` (TS 38.331 §5.3.13.8, TS 38.300 §9.2.2.5). Each
is one record, the state unchanged, its short connection folded into its messages.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from sim.radio.base import Machine, area
from sim.radio.compiled import page, part, promote, put
from sim.radio.profiles import NrProfile

STATES = ("RRC_IDLE", "RRC_INACTIVE", "RRC_CONNECTED")

CHAIN = 2  # demotions pending at most (``sim.radio.compiled``)


class Spec(NamedTuple):
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
    paging_area: tuple[int, float, int]  # the repeat's procedure, answer probability, most repetitions
    ran_paging_area: tuple[int, float, int]
    paging_key: int  # the run's key of the paging draws (sim.radio.compiled.paging_repeats)
    upkeep: tuple[tuple[int, int, float], ...]  # (state, periodic update procedure, period s)
    keeper: int  # the app code owning the periodic updates (the ``mobility`` pseudo-app)
    sdt: int
    sdt_enabled: bool
    sdt_max_bytes: int


def spec(profile: NrProfile, proc: dict[str, int], state: dict[str, int], key: int, keeper: int) -> Spec:
    return Spec(state["RRC_IDLE"], state["RRC_INACTIVE"], state["RRC_CONNECTED"],
                proc["service_request"], proc["release"], proc["suspend"], proc["resume"],
                proc["inactive_release"], proc["paging"], proc["ran_paging"],
                profile.tail_s, profile.promotion_delay_s, profile.resume_delay_s,
                profile.inactive_enabled, profile.inactive_release_s, area(profile, proc, "paging"),
                area(profile, proc, "ran_paging"), key,
                ((state["RRC_IDLE"], proc["periodic_registration"], float(profile.t3512_s)),
                 (state["RRC_INACTIVE"], proc["rna_update"], float(profile.t380_s))), keeper,
                proc["sdt"], profile.sdt_enabled, profile.sdt_max_bytes)


def uses_bytes(spec: Spec) -> bool:
    """Whether transfers' bytes matter: for small data transmission only."""
    return spec.sdt_enabled


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
        if (s.sdt_enabled and self.state == s.inactive and not incoming and up_bytes <= s.sdt_max_bytes
                and down_bytes <= s.sdt_max_bytes):  # a small data transmission: RRC_INACTIVE stays
            self.rec((t, self.device, s.sdt, app, s.inactive))
            return t
        if self.state == s.idle:
            if incoming:
                self.page(t, s.paging, app, s.paging_area)
            t = self.promote(t, s.service_request, s.connected, app, s.promotion_delay_s)
        elif self.state == s.inactive:
            if incoming:
                self.page(t, s.ran_paging, app, s.ran_paging_area)
            t = self.promote(t, s.resume, s.connected, app, s.resume_delay_s)
        end = t + s.tail_s
        self.rest = []
        if not s.inactive_enabled:
            self.due, self.due_proc, self.due_state = end, s.release, s.idle
        else:
            self.due, self.due_proc, self.due_state = end, s.suspend, s.inactive
            if not math.isinf(s.inactive_release_s):
                self.rest = [(end + s.inactive_release_s, s.inactive_release, s.idle)]
        return t


@part
def transfer(recs, n, state, ready, owner, chain, row, head, size, tk, app, up, down, incoming, device, pages, s):
    """The compiled form of :meth:`NrMachine.data` after :func:`~sim.radio.compiled.settle` (``sim.radio.kernel``):
    a small data transmission, or the promotion (a page first if ``incoming``) and the new chain of demotions.
    Returns ``n``, the state, when a promotion ends, the owner, the chain's head and size, when the transfer goes
    and the pages so far."""
    if (s.sdt_enabled and state == s.inactive and not incoming and up <= s.sdt_max_bytes
            and down <= s.sdt_max_bytes):  # a small data transmission: RRC_INACTIVE and its timers stay
        n = put(recs, n, tk, s.sdt, app, s.inactive)
        return n, state, ready, owner, head, size, tk, pages
    due, due_proc, due_state = chain
    if state == s.idle or state == s.inactive:
        owner = app
        if state == s.idle:
            if incoming:
                n, pages = page(recs, n, tk, s.paging, owner, state, s.paging_area, s.paging_key, device, pages)
            n, tk = promote(recs, n, tk, s.service_request, s.connected, owner, s.promotion_delay_s)
        else:
            if incoming:
                n, pages = page(recs, n, tk, s.ran_paging, owner, state, s.ran_paging_area, s.paging_key, device,
                                pages)
            n, tk = promote(recs, n, tk, s.resume, s.connected, owner, s.resume_delay_s)
        state, ready = s.connected, tk
    end = tk + s.tail_s
    size = 1
    if not s.inactive_enabled:
        due[row, 0], due_proc[row, 0], due_state[row, 0] = end, s.release, s.idle
    else:
        due[row, 0], due_proc[row, 0], due_state[row, 0] = end, s.suspend, s.inactive
        if s.inactive_release_s != np.inf:
            due[row, 1], due_proc[row, 1], due_state[row, 1] = end + s.inactive_release_s, s.inactive_release, s.idle
            size = 2
    return n, state, ready, owner, 0, size, tk, pages
