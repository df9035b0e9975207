"""Closed forms the validation cases compare the simulator with.

Pure functions of model parameters, written from renewal and queueing theory and the RRC
timers as documented (docs/model.md, docs/validation.md), never from the simulator's code.
Rates are per second unless the name says otherwise.
"""
from __future__ import annotations

import math


def fixed_heartbeat_promotions_per_hour(interval_s: float, tail_s: float, delay_s: float, duration_s: float) -> float:
    """Promotions per device-hour of a fixed heartbeat alone (LTE, devices start idle).

    The tail runs from the end of the last transfer. A beat that promotes is delivered
    ``delay_s`` late, so the next beat finds the radio idle when ``interval_s >= tail_s + delay_s``
    (a timer expiring as a transfer arrives expires first): every beat promotes. A beat that
    rides an open connection is delivered at once, so with ``tail_s <= interval_s < tail_s +
    delay_s`` every other beat promotes; with ``interval_s < tail_s`` the radio never idles again
    after the first beat: one promotion in the run. Beats are a stationary lattice (uniform
    phase), so the expected count in the run is exactly ``duration_s / interval_s`` beats.
    """
    if interval_s >= tail_s + delay_s:
        return 3600.0 / interval_s
    if interval_s >= tail_s:
        return 1800.0 / interval_s
    return 3600.0 / duration_s


def poisson_promotion_rate(rate_per_s: float, tail_s: float, delay_s: float) -> float:
    """Promotions per second for Poisson traffic at ``rate_per_s``: renewal cycle mean
    ``delay_s + e^(λT)/λ`` (promotion, then the wait for a gap of T, then the idle wait 1/λ).

    Equal to the often-quoted ``λ e^(-λ(T + d))`` to first order in ``λ d``.
    """
    lam = rate_per_s
    return lam / (lam * delay_s + math.exp(lam * tail_s))


def poisson_connected_share(rate_per_s: float, tail_s: float, delay_s: float) -> float:
    """Long-run share of time in RRC_CONNECTED (promotion included) for Poisson traffic:
    ``(d + (e^(λT) - 1)/λ) / (d + e^(λT)/λ)``."""
    lam = rate_per_s
    grow = math.exp(lam * tail_s)
    return (lam * delay_s + grow - 1.0) / (lam * delay_s + grow)


def mixed_promotions_per_hour(interval_s: float, rate_per_s: float, tail_s: float) -> float:
    """Promotions per hour for a fixed heartbeat plus Poisson messages, promotion delay 0.

    With no promotion delay an event promotes exactly when no other event fell in the
    ``tail_s`` before it. For ``interval_s >= tail_s``, a beat promotes when no message came in
    the tail before it (probability e^(-λT)); a message promotes when no message and no beat
    came in the tail before it, which holds for a share ``(H - T)/H`` of heartbeat phases
    (PASTA). Per heartbeat period: ``e^(-λT) (1 + λ (H - T))``. Derivation: docs/validation.md.
    """
    if interval_s < tail_s:
        raise ValueError("the closed form needs interval_s >= tail_s")
    lam = rate_per_s
    return 3600.0 / interval_s * math.exp(-lam * tail_s) * (1.0 + lam * (interval_s - tail_s))


def md1_mean_wait_s(arrival_rate_per_s: float, service_s: float) -> float:
    """Pollaczek–Khinchine mean queueing wait of M/D/1: ``ρ D / (2 (1 - ρ))``."""
    rho = arrival_rate_per_s * service_s
    if rho >= 1.0:
        raise ValueError("M/D/1 needs utilisation below 1")
    return rho * service_s / (2.0 * (1.0 - rho))


def erlang_b(servers: int, load_erlang: float) -> float:
    """Erlang B blocking by the recursion B(0) = 1, B(k) = A B(k-1) / (k + A B(k-1))."""
    b = 1.0
    for k in range(1, servers + 1):
        b = load_erlang * b / (k + load_erlang * b)
    return b


def battery_life_share(radio_power_mw: float, baseline_radio_power_mw: float, other_power_mw: float) -> float:
    """Battery life relative to a baseline configuration when only the radio draw changes."""
    return (other_power_mw + baseline_radio_power_mw) / (other_power_mw + radio_power_mw)


def paging_attempt_messages(area: dict, base_stations: int) -> dict[str, int]:
    """Messages per node of one paging attempt over ``base_stations`` of a paging area (a profile's
    ``[paging_areas.<procedure>]`` table as plain data): each paged base station its
    ``per_base_station`` messages, each one beyond the first its ``per_other_base_station`` (XnAP),
    each paged cell its ``per_cell`` (TS 23.401 §5.3.4.3, TS 25.413, TS 38.300 §9.2.2)."""
    cells = base_stations * area["cells_per_base_station"]
    out: dict[str, int] = {}
    for key, times in (("per_base_station", base_stations), ("per_other_base_station", base_stations - 1),
                       ("per_cell", cells)):
        for node, count in area.get(key, {}).items():
            out[node] = out.get(node, 0) + count * times
    return out


def paging_repeat_moments(answer_probability: float, repetitions: int) -> tuple[float, float]:
    """Mean and variance of a page's further whole-area attempts: X = min(F, R), F the unanswered
    attempts before the first answer (geometric, answered with p each), R the repetitions.
    P(X >= k) = q^k for k <= R (q = 1 - p), so E[X] = sum q^k and E[X^2] = sum (2k - 1) q^k."""
    q = 1.0 - answer_probability
    mean = sum(q ** k for k in range(1, repetitions + 1))
    second = sum((2 * k - 1) * q ** k for k in range(1, repetitions + 1))
    return mean, second - mean * mean
