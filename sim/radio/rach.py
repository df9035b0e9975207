"""Contention-based random access (RACH) in one cell, as 3GPP TR 37.868 evaluates it.

Before its first RRC message a phone in RRC_IDLE must win a random access (TS 36.321 §5.1):

1. **Msg1.** At the next random-access opportunity (RAO, one every ``rao_period_ms``) it sends one of
   ``preambles`` contention preambles, chosen uniformly. A preamble two or more phones chose in
   the same RAO has *collided*: the eNB decodes none of them (the reading of TR 37.868's
   evaluation that the public reproductions use). A preamble one phone chose is detected with
   probability 1 − e^(−k) on the phone's k-th transmission (``detection = "tr37868"``; the
   power ramping of later transmissions makes them likelier to be heard), or always
   (``"ideal"``).
2. **Msg2.** The eNB answers at most ``ul_grants_per_rao`` detected preambles (chosen at random
   among them) with a random access response carrying an uplink grant, spread evenly over the
   ``rar_window_ms`` subframes of the response window, which opens ``preamble_processing_ms``
   after the preamble's subframe. A phone without a response by the window's end has failed
   this attempt.
3. **Msg3, Msg4.** ``msg3_delay_ms`` after its response the phone sends Msg3 (the RRC connection
   request); the eNB answers ``msg4_delay_ms`` after it with Msg4 (contention resolution). Each
   transmission of either is lost with ``harq_retx_probability`` and repeated one HARQ round trip
   later (``msg3_rtt_ms``, ``msg4_rtt_ms``), ``harq_max_tx`` transmissions at most. The
   contention resolution timer runs from the last Msg3 transmission; if Msg4 has not arrived
   when it expires (``contention_resolution_timer_ms``), the attempt has failed then.
4. A failed attempt waits a uniform back-off in [0, ``backoff_ms``] and tries again at the next
   RAO, with a new preamble; after ``preamble_trans_max`` transmissions the access fails.

Every transmission takes one subframe (1 ms). An access that succeeds at its first preamble,
first grant, without HARQ retransmission takes :func:`uncontended_ms` (15 ms with TR 37.868's
figures) from its RAO.

**Collision probability.** TR 37.868 defines it as "the ratio between the number of occurrences
when two or more MTC devices send a random access attempt using exactly the same preamble and
the overall number of opportunities (with or without access attempts) in the period": collided
preambles over all preambles of all RAOs of the period (``collided_preambles / (preambles x
RAOs)``, the definition :func:`kpis` reports as ``collision_probability``). The other reading
(a device's attempt collides: collided attempts over attempts) is ``attempt_collision_probability``.

Randomness comes only from the ``numpy.random.Generator`` handed in: each RAO draws, for its
contenders in the order given (the callers sort them by device), ``4 + 2 * harq_max_tx`` uniforms
each (preamble, detection, grant priority, back-off, then the Msg3 and the Msg4 transmissions),
so the batch simulation here and the closed loop's cells (``sim.controlplane.rach``) draw alike.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sim.radio.compiled import jit
from sim.radio.profiles import RandomAccess

# TR 37.868's MTC traffic models: every device accesses once, at a time drawn uniformly over 60 s
# (model 1) or from a Beta(3, 4) distribution over 10 s (model 2, a synchronised burst).
TRAFFIC_MODELS: dict[int, tuple[float, tuple[int, int] | None]] = {1: (60.0, None), 2: (10.0, (3, 4))}

# outcome of one attempt (Msg1 to Msg4)
SUCCESS, COLLIDED, UNDETECTED, NO_GRANT, HARQ_FAILED = range(5)
FIXED_DRAWS = 4  # uniforms per contender before its Msg3 and Msg4 draws: preamble, detection, grant, back-off


class Timing(NamedTuple):
    """A :class:`~sim.radio.profiles.RandomAccess` as plain numbers for the compiled kernels."""

    preambles: int
    period_ms: int
    grants: int
    max_tx: int
    backoff_ms: float
    ideal: bool
    processing_ms: int
    window_ms: int
    msg3_delay_ms: int
    msg3_rtt_ms: int
    msg4_delay_ms: int
    msg4_rtt_ms: int
    harq_p: float
    harq_max_tx: int
    resolution_ms: int


def timing(cfg: RandomAccess) -> Timing:
    return Timing(cfg.preambles, cfg.rao_period_ms, cfg.ul_grants_per_rao, cfg.preamble_trans_max, cfg.backoff_ms,
                  cfg.detection == "ideal", cfg.preamble_processing_ms, cfg.rar_window_ms, cfg.msg3_delay_ms,
                  cfg.msg3_rtt_ms, cfg.msg4_delay_ms, cfg.msg4_rtt_ms, cfg.harq_retx_probability, cfg.harq_max_tx,
                  cfg.contention_resolution_timer_ms)


def uncontended_ms(tm: Timing) -> int:
    """From the RAO to Msg4 when the first preamble wins the first grant and no HARQ repeats: preamble,
    processing, the window's first subframe, Msg3 delay and transmission, Msg4 delay and transmission."""
    return 1 + tm.processing_ms + 1 + tm.msg3_delay_ms + 1 + tm.msg4_delay_ms + 1


def attempt_span_ms(tm: Timing) -> float:
    """The longest one attempt can take from its RAO to the next one it may use (back-off included)."""
    msg3_ms = 1 + tm.processing_ms + tm.window_ms + tm.msg3_delay_ms + 1 + (tm.harq_max_tx - 1) * tm.msg3_rtt_ms
    msg4_ms = max(tm.resolution_ms, tm.msg4_delay_ms + 1 + (tm.harq_max_tx - 1) * tm.msg4_rtt_ms)
    return msg3_ms + msg4_ms + tm.backoff_ms + tm.period_ms


@jit
def _transmissions(u, first: int, harq_p: float, harq_max_tx: int) -> int:
    """HARQ transmissions of one message until one gets through (``harq_max_tx + 1``: none did)."""
    n = 1
    while n <= harq_max_tx and u[first + n - 1] < harq_p:
        n += 1
    return n


@jit
def opportunity(rng, t_ms: int, tx, tm: Timing, end_ms, retry_ms, outcome) -> int:
    """Resolve one RAO at subframe ``t_ms`` for contenders on their ``tx``-th preamble transmission.

    Writes per contender the attempt's ``outcome``, ``end_ms`` (Msg4 received on success, else when
    the phone knows the attempt failed) and ``retry_ms`` (``end_ms`` plus the back-off: the earliest
    time of its next preamble); returns the number of collided preambles."""
    n = tx.size
    width = FIXED_DRAWS + 2 * tm.harq_max_tx
    u = np.empty((n, width))
    for i in range(n):
        for j in range(width):
            u[i, j] = rng.random()
    chosen = np.zeros(tm.preambles, dtype=np.int64)
    preamble = np.empty(n, dtype=np.int64)
    for i in range(n):
        preamble[i] = min(int(u[i, 0] * tm.preambles), tm.preambles - 1)
        chosen[preamble[i]] += 1
    window_end = t_ms + 1 + tm.processing_ms + tm.window_ms
    detected = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        end_ms[i] = window_end
        if chosen[preamble[i]] > 1:
            outcome[i] = COLLIDED
        elif tm.ideal or u[i, 1] < 1.0 - math.exp(-tx[i]):
            outcome[i] = NO_GRANT  # until granted below
            detected[i] = True
        else:
            outcome[i] = UNDETECTED
    heard = np.flatnonzero(detected)
    order = heard[np.argsort(u[heard, 2], kind="mergesort")]
    for g in range(min(order.size, tm.grants)):
        i = order[g]
        rar_ms = t_ms + 1 + tm.processing_ms + 1 + (g * tm.window_ms) // tm.grants
        n3 = _transmissions(u[i], FIXED_DRAWS, tm.harq_p, tm.harq_max_tx)
        last_msg3_ms = rar_ms + tm.msg3_delay_ms + 1 + (min(n3, tm.harq_max_tx) - 1) * tm.msg3_rtt_ms
        n4 = _transmissions(u[i], FIXED_DRAWS + tm.harq_max_tx, tm.harq_p, tm.harq_max_tx)
        msg4_ms = last_msg3_ms + tm.msg4_delay_ms + 1 + (n4 - 1) * tm.msg4_rtt_ms
        if n3 <= tm.harq_max_tx and n4 <= tm.harq_max_tx and msg4_ms - last_msg3_ms <= tm.resolution_ms:
            outcome[i], end_ms[i] = SUCCESS, msg4_ms
        else:
            outcome[i], end_ms[i] = HARQ_FAILED, last_msg3_ms + tm.resolution_ms
    for i in range(n):
        retry_ms[i] = end_ms[i] + u[i, 3] * tm.backoff_ms
    collided = 0
    for k in range(tm.preambles):
        collided += chosen[k] > 1
    return collided


@jit
def _next_rao(at_ms: float, period_ms: int) -> int:
    """The first RAO at or after ``at_ms`` (RAO r is at subframe r x period)."""
    return int(math.ceil(at_ms / period_ms))


@jit
def _run(rng, first_rao, tm: Timing, n_rao: int):
    """Every device from its first RAO until it succeeds or runs out of transmissions."""
    n_dev = first_rao.size
    head = np.full(n_rao, -1, dtype=np.int64)  # per RAO, a linked list of its contenders
    nxt = np.full(n_dev, -1, dtype=np.int64)
    for d in range(n_dev - 1, -1, -1):
        r = first_rao[d]
        nxt[d], head[r] = head[r], d
    tx = np.zeros(n_dev, dtype=np.int64)
    ok = np.zeros(n_dev, dtype=np.bool_)
    end = np.full(n_dev, np.nan)
    attempts = np.zeros(n_rao, dtype=np.int64)
    collided_preambles = np.zeros(n_rao, dtype=np.int64)
    collided_attempts = np.zeros(n_rao, dtype=np.int64)
    for r in range(n_rao):
        m, d = 0, head[r]
        while d >= 0:
            m += 1
            d = nxt[d]
        if m == 0:
            continue
        who = np.empty(m, dtype=np.int64)
        d = head[r]
        for k in range(m):
            who[k] = d
            d = nxt[d]
        who.sort()
        tx[who] += 1
        end_ms, retry_ms, outcome = np.empty(m), np.empty(m), np.empty(m, dtype=np.int64)
        collided_preambles[r] = opportunity(rng, r * tm.period_ms, tx[who], tm, end_ms, retry_ms, outcome)
        attempts[r] = m
        for k in range(m):
            d = who[k]
            collided_attempts[r] += outcome[k] == COLLIDED
            if outcome[k] == SUCCESS:
                ok[d], end[d] = True, end_ms[k]
            elif tx[d] == tm.max_tx:
                end[d] = end_ms[k]
            else:
                later = _next_rao(retry_ms[k], tm.period_ms)
                nxt[d], head[later] = head[later], d
    return ok, tx, end, attempts, collided_preambles, collided_attempts


@dataclass(frozen=True)
class CellRun:
    """One cell's random accesses: per device and per RAO (RAO r at ``r x period_ms``)."""

    success: np.ndarray  # bool: the access completed
    transmissions: np.ndarray  # preambles sent
    first_ms: np.ndarray  # the RAO of the first preamble
    end_ms: np.ndarray  # Msg4 received, or when the last attempt failed
    attempts: np.ndarray  # per RAO: preambles sent
    collided_preambles: np.ndarray  # per RAO: preambles chosen by two or more devices
    collided_attempts: np.ndarray  # per RAO: preambles sent that collided


def simulate(arrival_ms: np.ndarray, tm: Timing, rng: np.random.Generator) -> CellRun:
    """Each device accesses once, from its first RAO at or after its arrival (``arrival_ms`` >= 0)."""
    arrival_ms = np.asarray(arrival_ms, dtype=float)
    if arrival_ms.size and not (np.isfinite(arrival_ms).all() and arrival_ms.min() >= 0.0):
        raise ValueError("arrival times must be finite and >= 0 ms")
    first = np.ceil(arrival_ms / tm.period_ms).astype(np.int64)
    last = int(first.max()) if first.size else 0
    n_rao = last + tm.max_tx * math.ceil(attempt_span_ms(tm) / tm.period_ms) + 1
    ok, tx, end, attempts, preambles, collided = _run(rng, first, tm, n_rao)
    return CellRun(ok, tx, first * tm.period_ms, end, attempts, preambles, collided)


def kpis(run: CellRun, tm: Timing, period_s: float) -> dict[str, float]:
    """TR 37.868's measures of a run whose devices arrived over ``period_s``.

    ``collision_probability`` counts the RAOs of the period (those at times before ``period_s``);
    the others are over all devices (success) or over the successful ones (transmissions, delay:
    from the first preamble's RAO to Msg4)."""
    in_period = math.ceil(period_s * 1000.0 / tm.period_ms)
    won = run.success
    n_won = int(won.sum())
    sent = int(run.attempts.sum())
    return {
        "collision_probability": float(run.collided_preambles[:in_period].sum()) / (tm.preambles * in_period),
        "attempt_collision_probability": float(run.collided_attempts.sum()) / sent if sent else 0.0,
        "access_success_probability": n_won / won.size if won.size else 0.0,
        "preamble_transmissions_mean": float(run.transmissions[won].mean()) if n_won else 0.0,
        "access_delay_mean_s": float((run.end_ms[won] - run.first_ms[won]).mean()) / 1000.0 if n_won else 0.0,
    }


def arrivals_ms(model: int, devices: int, rng: np.random.Generator) -> np.ndarray:
    """``devices`` access times under TR 37.868 traffic model 1 or 2, in ms."""
    period_s, beta = TRAFFIC_MODELS[model]
    draws = rng.random(devices) if beta is None else rng.beta(*beta, devices)
    return draws * period_s * 1000.0
