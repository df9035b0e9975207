"""Every random input of a run, drawn per fixed-size block of devices.

Each (group, block, app) has its own ``numpy.random.SeedSequence`` child of the run's seed,
so a device's inputs depend only on the seed and its position, never on event order, engine,
or how many workers share the population. Engines consume these arrays; they draw nothing, but for
access barring's draws, whose number depends on the run: each is a function of the seed, the device
and how many it drew before (``keyed_uniform``).
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numba import njit

from sim.scenario.schema import CALL_TYPES, NATIVE_CALL, SERVICE_TYPES, App, Group, Scenario

BLOCK_DEVICES = 1024  # fixed: changing it changes every result for a given seed


@dataclass(frozen=True)
class AppDraws:
    """One app's inputs for the devices of a block (arrays over devices)."""

    installed: np.ndarray  # bool [n]
    phase: np.ndarray  # [n] in [0, 1): first heartbeat at phase x first interval
    jitter: np.ndarray  # [n, k] in [-1, 1): heartbeat k's interval is scaled by 1 + jitter x this
    msg_offsets: np.ndarray  # [n + 1]: device i's messages are msg_*[offsets[i]:offsets[i + 1]]
    msg_times_s: np.ndarray  # sorted within each device
    msg_incoming: np.ndarray  # bool: mobile-terminated


@dataclass(frozen=True)
class BlockDraws:
    group: int
    block: int
    first_device: int  # global index of the block's first device
    n: int
    apps: tuple[AppDraws, ...]  # in scenario order
    push_phase: np.ndarray  # [n] in [0, 1): first push-channel heartbeat at phase x push interval
    call_offsets: np.ndarray  # [n + 1]: device i's voice calls are call_*[offsets[i]:offsets[i + 1]]
    call_times_s: np.ndarray  # sorted within each device
    call_type: np.ndarray  # int: index in sim.scenario.schema.SERVICE_TYPES (calls, then short messages)
    call_duration_s: np.ndarray  # exponential, mean calls.mean_duration_s
    call_partner: np.ndarray  # int: the other party, a device of the block (its index there); -1: none
    retry_jitter: tuple[np.ndarray, ...]  # per scenario event: [n, k] in [0, 1), the clients' retry jitter


def blocks(scenario: Scenario) -> Iterator[tuple[int, int, int, int]]:
    """``(group, block, first_device, n)`` for every block, in device order."""
    first = 0
    for g, group in enumerate(scenario.groups):
        for b in range(math.ceil(group.devices / BLOCK_DEVICES)):
            n = min(BLOCK_DEVICES, group.devices - b * BLOCK_DEVICES)
            yield g, b, first, n
            first += n


def max_heartbeats(app: App, duration_s: float) -> int:
    """An upper bound on one device's heartbeats of ``app`` in ``duration_s``."""
    hb = app.heartbeat
    if hb.policy == "none" or hb.jitter == 0.0:
        return 0
    shortest = (hb.interval_s if hb.policy == "fixed" else hb.min_interval_s) * (1.0 - hb.jitter)
    return int(duration_s / shortest) + 2


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
BARRING_STREAM = 0xACB  # the stream of a device's access barring draws (keyed_uniform)


def restart_stream(event: int) -> int:
    """The stream of a device's draws for core restart ``event`` (its index in ``events``: its attach's spread,
    its T3346 back-offs)."""
    return (0x3346 << 16) + event


@njit(cache=True)
def _mix(z: np.uint64) -> np.uint64:
    """SplitMix64's finaliser (Steele, Lea and Flood, OOPSLA 2014; as ``java.util.SplittableRandom``)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def keyed_uniform(seed: int, stream: int, device: int, k: int) -> float:
    """Draw ``k`` on [0, 1) of ``device``'s own ``stream`` for the run's ``seed``: SplitMix64 over the four keys,
    53 bits. A function of its keys alone, so both engines (the SimPy one calls this, the compiled loop inlines
    it) draw the same for a device whatever the order of events, with no generator to keep per device."""
    h = np.uint64(0)
    for key in (seed, stream, device, k):
        h = _mix(h + np.uint64(key) + _GOLDEN)
    return float(h >> np.uint64(11)) * (1.0 / 9007199254740992.0)


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=key))


def _poisson_times(rng: np.random.Generator, rate_per_s: float, n: int, duration_s: float,
                   mark_share: float | None = None, columns: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A Poisson process per device, drawn for a full block, the first ``n`` devices kept.

    Returns (offsets [n + 1], times sorted within each device, marks, uniforms): with ``mark_share``
    each event is marked True with that probability (drawn after the times), else no marks; then
    ``columns`` uniforms per event on [0, 1) (drawn last, so they change no earlier draw).
    """
    counts = rng.poisson(rate_per_s * duration_s, size=BLOCK_DEVICES)
    total = int(counts.sum())
    times = rng.random(total) * duration_s
    marks = rng.random(total) < mark_share if mark_share is not None else np.zeros(total, dtype=bool)
    uniforms = rng.random((total, columns)) if columns else np.zeros((total, 0))
    counts = counts[:n]
    kept = int(counts.sum())
    order = _by_device_then_time(np.repeat(np.arange(n), counts), times[:kept], duration_s)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets, times[:kept][order], marks[:kept][order], uniforms[:kept][order]


def _by_device_then_time(device: np.ndarray, times: np.ndarray, duration_s: float) -> np.ndarray:
    """``np.lexsort((times, device))``, five times faster: one float key per event, ``device x span
    + time`` with ``span`` a power of two above the duration, is exactly as ordered as the pairs
    whenever no two keys are equal (rounding never reorders, it can only merge); else the slow way."""
    key = device * 2.0 ** math.ceil(math.log2(duration_s)) + times
    order = np.argsort(key)
    ordered = key[order]
    if (ordered[1:] == ordered[:-1]).any():
        return np.lexsort((times, device))
    return order


def _app_draws(rng: np.random.Generator, app: App, p_install: float, n: int, duration_s: float) -> AppDraws:
    # Draw every array for a full block, in this order, installed or not, then keep the first
    # n devices: a device's inputs never depend on how many devices follow it.
    full = BLOCK_DEVICES
    installed = rng.random(full)[:n] < p_install
    phase = rng.random(full)[:n]
    jitter = rng.uniform(-1.0, 1.0, size=(full, max_heartbeats(app, duration_s)))[:n]
    offsets, times, incoming, _ = _poisson_times(rng, app.messages.per_hour / 3600.0, n, duration_s,
                                                 app.messages.incoming_share)
    return AppDraws(installed, phase, jitter, offsets, times, incoming)


def block_draws(scenario: Scenario, group: int, block: int, first_device: int, n: int) -> BlockDraws:
    """Draw the inputs of one block of devices of ``scenario.groups[group]``."""
    seed, duration_s = scenario.simulation.seed, scenario.simulation.duration_s
    grp: Group = scenario.groups[group]
    apps = tuple(
        _app_draws(_rng(seed, group, block, a), app, grp.apps.get(app.name, 0.0), n, duration_s)
        for a, app in enumerate(scenario.apps)
    )
    push_phase = _rng(seed, group, block, len(scenario.apps)).random(BLOCK_DEVICES)[:n]
    calls = _call_draws(scenario, group, _rng(seed, group, block, len(scenario.apps) + 1), n)
    # short messages on a stream of their own (a child of the calls' key): the calls stay as they were
    calls = _with_sms(calls, scenario, _rng(seed, group, block, len(scenario.apps) + 1, 1), n)
    retry_jitter = tuple(
        _rng(seed, group, block, len(scenario.apps) + 2 + e).random((BLOCK_DEVICES, max_retries(event)))[:n]
        for e, event in enumerate(scenario.events))
    return BlockDraws(group, block, first_device, n, apps, push_phase, *calls, retry_jitter)


def _call_draws(scenario: Scenario, group: int, rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """A block's voice calls: one Poisson process at the sum of the types' rates, each call then
    given a type (in proportion to the rates), an exponential duration and a partner.

    The partner is another device of the block, uniformly (assumption: a workforce calls itself;
    with one device in the block there is none). Times come first from the stream, so a run with
    ``calls.per_hour`` alone calls at the times it always did."""
    calls, radio = scenario.calls, scenario.groups[group].radio or scenario.network.radio
    rates = np.zeros(len(CALL_TYPES))
    rates[CALL_TYPES.index(NATIVE_CALL[radio])] += calls.per_hour
    for t, rate in calls.per_hour_by_type.items():
        rates[CALL_TYPES.index(t)] += rate
    total = float(rates.sum())
    offsets, times, _, u = _poisson_times(rng, total / 3600.0, n, scenario.simulation.duration_s, columns=3)
    kind = np.searchsorted(np.cumsum(rates) / total, u[:, 0], side="right") if total > 0 else np.zeros(0, int)
    duration = -calls.mean_duration_s * np.log1p(-u[:, 1])  # exponential by inversion
    caller = np.repeat(np.arange(n), np.diff(offsets))
    partner = (caller + 1 + (u[:, 2] * (n - 1)).astype(np.int64)) % n if n > 1 else np.full(times.size, -1)
    return offsets, times, np.minimum(kind, len(CALL_TYPES) - 1), duration, partner


def _with_sms(calls: tuple[np.ndarray, ...], scenario: Scenario, rng: np.random.Generator, n: int
              ) -> tuple[np.ndarray, ...]:
    """A block's calls (``_call_draws``) with its short messages merged in, by device then time (a call
    first at equal times): a Poisson process at ``sms.per_hour``, each received with probability
    ``sms.mobile_terminated_share``; no duration, no partner."""
    sms = scenario.sms
    if sms.per_hour == 0:
        return calls
    s_offsets, s_times, received, _ = _poisson_times(rng, sms.per_hour / 3600.0, n, scenario.simulation.duration_s,
                                                     sms.mobile_terminated_share)
    c_offsets, c_times, c_kind, c_duration, c_partner = calls
    s_kind = np.where(received, SERVICE_TYPES.index("sms_mt"), SERVICE_TYPES.index("sms_mo"))
    device = np.concatenate([np.repeat(np.arange(n), np.diff(c_offsets)), np.repeat(np.arange(n), np.diff(s_offsets))])
    times = np.concatenate([c_times, s_times])
    order = np.lexsort((times, device))
    return (c_offsets + s_offsets, times[order], np.concatenate([c_kind, s_kind])[order],
            np.concatenate([c_duration, np.zeros(s_times.size)])[order],
            np.concatenate([c_partner, np.full(s_times.size, -1)])[order])


def max_retries(event) -> int:
    """An upper bound on one client's failed connect attempts during ``event`` (a server outage)."""
    if event.kind != "server_outage" or event.retry.policy != "exponential" or not event.retry.jitter:
        return 0
    return int((event.end_s - event.start_s) / event.retry.attempt_timeout_s) + 2


def fixed_beat_times(interval_s: float, jitter: float, phase: np.ndarray, jitter_draws: np.ndarray,
                     duration_s: float) -> np.ndarray:
    """Fixed-policy heartbeat times of many devices at once: ``[device, beat]``, inf past ``duration_s``.

    Device i's first beat falls at ``phase[i] x interval`` (steady state); each next one an
    interval later, scaled by ``1 + jitter x draw``.
    """
    first = phase[:, None] * interval_s
    if jitter == 0.0:
        times = first + interval_s * np.arange(int(duration_s / interval_s) + 1)
    else:
        gaps = interval_s * (1.0 + jitter * jitter_draws[:, :-1])
        times = np.concatenate([first, first + np.cumsum(gaps, axis=1)], axis=1)
    np.copyto(times, np.inf, where=times >= duration_s)
    return times


def concat_draws(parts: list[BlockDraws]) -> BlockDraws:
    """Consecutive blocks of one group as one (``block`` is the first's): the same inputs, device by device."""
    if len(parts) == 1:
        return parts[0]

    def ragged(offsets: list[np.ndarray]) -> np.ndarray:
        ends = np.cumsum([o[-1] for o in offsets])
        return np.concatenate([[0]] + [o[1:] + (ends[i - 1] if i else 0) for i, o in enumerate(offsets)])

    apps = tuple(AppDraws(*(np.concatenate([getattr(p.apps[a], f) for p in parts])
                            for f in ("installed", "phase", "jitter")),
                          ragged([p.apps[a].msg_offsets for p in parts]),
                          np.concatenate([p.apps[a].msg_times_s for p in parts]),
                          np.concatenate([p.apps[a].msg_incoming for p in parts]))
                 for a in range(len(parts[0].apps)))
    return BlockDraws(parts[0].group, parts[0].block, parts[0].first_device, sum(p.n for p in parts), apps,
                      np.concatenate([p.push_phase for p in parts]), ragged([p.call_offsets for p in parts]),
                      *(np.concatenate([getattr(p, f) for p in parts]) for f in ("call_times_s", "call_type",
                                                                                 "call_duration_s")),
                      np.concatenate([np.where(p.call_partner >= 0,
                                               p.call_partner + p.first_device - parts[0].first_device, -1)
                                      for p in parts]),
                      tuple(np.concatenate(r) for r in zip(*(p.retry_jitter for p in parts))))
