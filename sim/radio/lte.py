"""LTE RRC (TS 36.331): RRC_IDLE and RRC_CONNECTED.

A transfer in RRC_IDLE triggers a service request (preceded by paging when the data is
mobile-terminated) and waits ``promotion_delay_s``; ``tail_s`` of inactivity after the last
transfer releases the connection (S1 release). In RRC_IDLE the phone makes a periodic tracking-area
update every ``t3412_s`` of continuous idle (``sim.radio.compiled``: the timer starts at the S1
release and restarts at each update; TS 24.301 §5.3.5): one ``periodic_tau`` record, the state
staying RRC_IDLE, its short connection (set up and released at once) folded into its messages.
Continuous reception and DRX inside RRC_CONNECTED are folded into one mean tail power
(:func:`tail_power_mw`).
"""
from __future__ import annotations

from typing import NamedTuple

from sim.radio.base import Machine, area
from sim.radio.compiled import page, part, promote
from sim.radio.profiles import LteProfile

STATES = ("RRC_IDLE", "RRC_CONNECTED")

CHAIN = 1  # demotions pending at most (``sim.radio.compiled``)


class Spec(NamedTuple):
    idle: int
    connected: int
    service_request: int
    s1_release: int
    paging: int
    tail_s: float
    promotion_delay_s: float
    paging_area: tuple[int, float, int]  # the repeat's procedure, answer probability, most repetitions
    paging_key: int  # the run's key of the paging draws (sim.radio.compiled.paging_repeats)
    upkeep: tuple[tuple[int, int, float], ...]  # (state, periodic update procedure, period s)
    keeper: int  # the app code owning the periodic updates (the ``mobility`` pseudo-app)


def spec(profile: LteProfile, proc: dict[str, int], state: dict[str, int], key: int, keeper: int) -> Spec:
    return Spec(state["RRC_IDLE"], state["RRC_CONNECTED"], proc["service_request"], proc["s1_release"],
                proc["paging"], profile.tail_s, profile.promotion_delay_s, area(profile, proc, "paging"), key,
                ((state["RRC_IDLE"], proc["periodic_tau"], float(profile.t3412_s)),), keeper)


def drx_power_mw(profile: LteProfile, cycle_s: float) -> float:
    """Mean power over one DRX cycle: the on-duration at ``drx_on_power_mw``, the rest asleep (ARO energyLTE)."""
    on_s = profile.drx_on_s
    return (on_s * profile.drx_on_power_mw + (cycle_s - on_s) * profile.connected_power_mw) / cycle_s


def tail_power_mw(profile: LteProfile) -> float:
    """Mean power over the tail as ARO accounts it (docs/model.md §8): continuous reception, short
    DRX, then long DRX for the rest of ``tail_s``; a tail shorter than the first phases cuts them."""
    cr_s = min(profile.continuous_reception_s, profile.tail_s)
    short_s = min(profile.short_drx_s, profile.tail_s - cr_s)
    long_s = profile.tail_s - cr_s - short_s
    return (cr_s * profile.continuous_reception_power_mw + short_s * drx_power_mw(profile, profile.short_drx_cycle_s)
            + long_s * drx_power_mw(profile, profile.long_drx_cycle_s)) / profile.tail_s


def state_power_mw(profile: LteProfile) -> dict[str, float]:
    """CONNECTED is only ever promotion or tail (transfers take no time): it draws the tail's mean."""
    return {"RRC_IDLE": profile.idle_power_mw, "RRC_CONNECTED": tail_power_mw(profile)}


def promotions(profile: LteProfile) -> dict[str, tuple[float, float, str]]:
    """Promotion procedures: (delay s, power mW during it, target state)."""
    return {"service_request": (profile.promotion_delay_s, profile.promotion_power_mw, "RRC_CONNECTED")}


class LteMachine(Machine):
    """Written out flat: LTE is the common case and the engine's hottest path."""

    __slots__ = ()

    def data(self, t: float, app: int, up_bytes: int, down_bytes: int, incoming: bool) -> float:
        s, rec = self.spec, self.rec
        if self.due <= t:  # the tail expired since the last transfer: S1 release, T3412 starts
            rec((self.due, self.device, s.s1_release, self.owner, s.idle))
            self.state, self.last = s.idle, self.due
        if self.state == s.idle:
            self.keep(t, False)
        if t < self.ready:
            t = self.ready
        if self.state == s.idle:
            if incoming:
                self.page(t, s.paging, app, s.paging_area)
            rec((t, self.device, s.service_request, app, s.connected))
            self.state, self.owner = s.connected, app
            t += s.promotion_delay_s
            self.ready = t
        self.due, self.due_proc, self.due_state = t + s.tail_s, s.s1_release, s.idle
        return t


@part
def transfer(recs, n, state, ready, owner, chain, row, head, size, tk, app, up, down, incoming, device, pages, s):
    """The compiled form of :meth:`LteMachine.data` after :func:`~sim.radio.compiled.settle` (``sim.radio.kernel``):
    the promotion (a page first if ``incoming``) and the new pending demotion. Returns ``n``, the state, when a
    promotion ends, the owner, the chain's head and size, when the transfer goes and the pages so far."""
    due, due_proc, due_state = chain
    if state == s.idle:
        owner = app
        if incoming:
            n, pages = page(recs, n, tk, s.paging, owner, state, s.paging_area, s.paging_key, device, pages)
        n, tk = promote(recs, n, tk, s.service_request, s.connected, owner, s.promotion_delay_s)
        state, ready = s.connected, tk
    due[row, 0], due_proc[row, 0], due_state[row, 0] = tk + s.tail_s, s.s1_release, s.idle
    return n, state, ready, owner, 0, 1, tk, pages
