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
from dataclasses import dataclass

import numpy as np

from sim.radio.base import Machine, area
from sim.radio.compiled import fire, jit, merge, page, promote, put, settle, space, start
from sim.radio.profiles import NrProfile

STATES = ("RRC_IDLE", "RRC_INACTIVE", "RRC_CONNECTED")

CHAIN = 2  # demotions pending at most (``sim.radio.compiled``)


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


@jit
def rows(t, runs, key, up, down, app_of_key, end_s, recs, per_row, device,
         idle, inactive, connected, service_request, release, suspend, resume, inactive_release, paging, ran_paging,
         tail_s, promotion_delay_s, resume_delay_s, inactive_enabled, inactive_release_s, paging_area, ran_paging_area,
         paging_key, upkeep, keeper, sdt, sdt_enabled, sdt_max_bytes):
    """The compiled form of :class:`NrMachine` (``sim.radio.compiled``): every row's records; returns how many."""
    (heads, head_t, order), chain = space(runs, t, CHAIN)
    due, due_proc, due_state = chain
    n = 0
    for r in range(t.shape[0]):
        first, n = n, put(recs, n, 0.0, -1, -1, idle)
        state, ready, owner, head, size, pages = idle, 0.0, -1, 0, 0, 0
        last = start(paging_key, device[r], upkeep, idle)
        for j in range(merge(t, r, runs, heads, head_t, order)):
            k = order[j]
            n, state, head, tk, last = settle(recs, n, owner, state, chain, head, size, t[r, k], ready, last, upkeep,
                                              keeper)
            kk = key[r, k]
            if (sdt_enabled and state == inactive and not kk & 1 and up[r, k] <= sdt_max_bytes
                    and down[r, k] <= sdt_max_bytes):  # a small data transmission: RRC_INACTIVE stays
                n = put(recs, n, tk, sdt, app_of_key[kk], inactive)
                continue
            if state == idle or state == inactive:
                owner = app_of_key[kk]
                if state == idle:
                    if kk & 1:
                        n, pages = page(recs, n, tk, paging, owner, state, paging_area, paging_key, device[r], pages)
                    n, tk = promote(recs, n, tk, service_request, connected, owner, promotion_delay_s)
                else:
                    if kk & 1:
                        n, pages = page(recs, n, tk, ran_paging, owner, state, ran_paging_area, paging_key, device[r],
                                        pages)
                    n, tk = promote(recs, n, tk, resume, connected, owner, resume_delay_s)
                state, ready = connected, tk
            end = tk + tail_s
            head, size = 0, 1
            if not inactive_enabled:
                due[0], due_proc[0], due_state[0] = end, release, idle
            else:
                due[0], due_proc[0], due_state[0] = end, suspend, inactive
                if inactive_release_s != np.inf:
                    due[1], due_proc[1], due_state[1] = end + inactive_release_s, inactive_release, idle
                    size = 2
        n, state, head, last = fire(recs, n, owner, state, chain, head, size, end_s, True, last, upkeep, keeper)
        per_row[r] = n - first
    return n
