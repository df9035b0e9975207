"""Closed forms the validation cases compare the simulator with.

Pure functions of model parameters, written from renewal and queueing theory and the RRC
timers as documented (docs/model.md, docs/validation.md), never from the simulator's code.
Rates are per second unless the name says otherwise.
"""
from __future__ import annotations

import math

import numpy as np


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



def _truncated_geometric_mean(p: float, most: int) -> float:
    """Mean of the repeats before the first success, each try failing with ``p``, given a success
    within ``most`` tries."""
    return sum(m * p**m * (1.0 - p) for m in range(most)) / (1.0 - p**most)


def beta_cdf(u: np.ndarray, a: int, b: int) -> np.ndarray:
    """The Beta(a, b) distribution function for whole ``a``, ``b``: P(at least a of a + b - 1 uniforms <= u)."""
    n, u = a + b - 1, np.clip(u, 0.0, 1.0)
    return sum(math.comb(n, j) * u**j * (1.0 - u) ** (n - j) for j in range(a, n + 1))


def rach_light_load(p: dict, devices: int, period_s: float, beta: tuple[int, int] | None) -> dict[str, float]:
    """TR 37.868's measures for ``devices`` accessing once over ``period_s`` (uniformly, or Beta(a, b)
    distributed), by a mean-field argument that holds while the RACH is lightly loaded.

    ``p``: a profile's ``rach`` table. RAO j (at j x period) gets the ``a_j`` devices arriving since the
    last one; its contenders are those and their retransmissions, G_j = a_j E[K] (retries come tens of
    ms later, a blink on the arrival curve), Poisson, so a preamble carries Poisson(x_j = G_j / M) of
    them. A contender collides with probability c = 1 - e^(-x) and its k-th transmission is heard with
    1 - e^(-k), so it fails with q_k = 1 - (1 - c)(1 - e^(-k))(1 - h) (h: Msg3 or Msg4 exhausting its
    HARQ transmissions); E[K], the mean of min(first success, K_max), and x are solved by fixed-point
    iteration. Then:

    - collision probability: the mean over the period's RAOs of P(Poisson(x) >= 2) = 1 - e^(-x)(1 + x);
    - access success: 1 - q_1 ... q_Kmax;
    - transmissions and delay, over the successful devices: the transmissions k with P(success at k);
      the uncontended access (15 ms), plus the grant's response subframe (a heard contender's rank among
      the heard of its RAO is uniform, the others heard Poisson; rank r gets subframe
      floor(r x window / grants)), plus HARQ repeats (truncated geometric), plus per failed attempt the
      wait past the response window and the back-off to the next RAO:
      E[ceil((1 + processing + window + U(0, B)) / period)] x period.

    Neglected, hence "light load": grants running out (fewer than ``ul_grants_per_rao`` heard per RAO)
    and the correlation of collisions between retransmitting devices."""
    m, period_ms, grants, max_tx = p["preambles"], p["rao_period_ms"], p["ul_grants_per_rao"], p["preamble_trans_max"]
    window_ms, backoff_ms, harq_p, harq_tx = (p["rar_window_ms"], p["backoff_ms"], p["harq_retx_probability"],
                                              p["harq_max_tx"])
    harq_fail = 1.0 - (1.0 - harq_p**harq_tx) ** 2
    uncontended_ms = 1 + p["preamble_processing_ms"] + 1 + p["msg3_delay_ms"] + 1 + p["msg4_delay_ms"] + 1
    harq_ms = _truncated_geometric_mean(harq_p, harq_tx) * (p["msg3_rtt_ms"] + p["msg4_rtt_ms"])
    fail_ms = 1 + p["preamble_processing_ms"] + window_ms  # a failed attempt: its response window is over
    backoffs = fail_ms + backoff_ms * (np.arange(100_000) + 0.5) / 100_000
    retry_ms = float(np.ceil(backoffs / period_ms).mean() * period_ms)
    k = np.arange(1, max_tx + 1)
    heard = np.ones(max_tx) if p["detection"] == "ideal" else 1.0 - np.exp(-k)

    # RAO j (j = 0 .. n) at j x period serves the arrivals in ((j - 1) x period, j x period]; the period's RAOs
    # are those before period_s, the last one (j = n) is at or after it
    n_rao = math.ceil(period_s * 1000.0 / period_ms)
    edges = np.minimum(np.arange(n_rao + 1) * period_ms / (period_s * 1000.0), 1.0)
    arrivals = devices * np.diff(edges if beta is None else beta_cdf(edges, *beta), prepend=0.0)

    def attempts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[RAO, k]: P(a k-th transmission) and P(success at the k-th)."""
        win = np.exp(-x)[:, None] * heard[None, :] * (1.0 - harq_fail)
        reach = np.cumprod(np.hstack([np.ones((x.size, 1)), 1.0 - win[:, :-1]]), axis=1)
        return reach, reach * win

    x = np.zeros(arrivals.size)
    for _ in range(500):
        x_new = arrivals * attempts(x)[0].sum(axis=1) / m
        if np.max(np.abs(x_new - x)) < 1e-14:
            break
        x = x_new
    reach, wins = attempts(x)
    p_win = wins.sum(axis=1)
    # a heard contender's response subframe, the others heard Poisson(mu); rank r < grants gets floor(r W / G)
    share = reach / reach.sum(axis=1, keepdims=True)
    mu = x * m * np.exp(-x) * (share * heard).sum(axis=1)
    others = np.arange(4 * grants)
    by_others = np.array([sum((r * window_ms) // grants for r in range(min(n + 1, grants))) / (n + 1)
                          for n in others])
    log_pois = -mu[:, None] + others[None, :] * np.log(np.maximum(mu, 1e-300))[:, None] - \
        np.array([math.lgamma(n + 1.0) for n in others])[None, :]
    slot = (np.exp(log_pois) * by_others[None, :]).sum(axis=1)
    won = arrivals * p_win
    delay_ms = uncontended_ms + slot[:, None] + harq_ms + (k[None, :] - 1) * retry_ms
    return {"collision_probability": float((1.0 - np.exp(-x[:n_rao]) * (1.0 + x[:n_rao])).mean()),
            "access_success_probability": float(won.sum() / devices),
            "preamble_transmissions_mean": float((arrivals[:, None] * wins * k).sum() / won.sum()),
            "access_delay_mean_s": float((arrivals[:, None] * wins * delay_ms).sum() / won.sum() / 1000.0)}
