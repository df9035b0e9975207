"""A captured flow as a pattern a population replays: its transfers within one cycle.

The flow's packets (``flow``: a pattern of :func:`sim.trace.flows.matches`, every matching flow of
the capture's device) are cut into bursts (``BURST_GAP_S``). A burst becomes a few transfers: its
first packet, which carries all of the burst's bytes and packets (mobile-terminated if that packet
is the server's, so that it pages an idle phone) and stands for every packet up to ``MERGE_S``
after it; then the packets that keep the burst's later ones less than ``BURST_GAP_S`` (+ ``MERGE_S``)
apart, and its last packet, each of 0 bytes. Every inactivity timer of the built-in profiles is
longer than that, so the RRC machines make the same records as from every packet when the burst's
first packet promotes the radio (the merged packets would have waited for the promotion); when it
finds the radio connected, the tail may start up to ``MERGE_S`` early. UMTS's FACH -> DCH decision
is taken on the whole burst's bytes at its first packet (``docs/trace.md``).

The cycle is the flow's span plus the median gap between its bursts' starts, so that a replay's last
burst and the next cycle's first are as far apart as two bursts usually are.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sim.errors import Problem, ScenarioError
from sim.trace.capture import read_capture
from sim.trace.flows import BURST_GAP_S, device_train, matches

MAX_KINDS = 256  # distinct transfer sizes in one pattern: each is a transfer code of the engines
# NR's resume_delay_s, the shortest promotion delay of the built-in profiles: a packet this soon after its
# burst's first is delivered at the same instant when that one promotes the radio (it waits for the promotion)
MERGE_S = 0.1


@dataclass(frozen=True)
class Pattern:
    """One cycle of a replayed flow: its transfers (arrays over them, in time order) and the cycle's length."""

    offsets_s: np.ndarray  # from the cycle's start, strictly increasing, all below cycle_s
    kind: np.ndarray  # int: index in ``kinds``
    incoming: np.ndarray  # bool: mobile-terminated
    kinds: tuple[tuple[int, int, int], ...]  # (up bytes, down bytes, packets) of each kind of transfer
    cycle_s: float


@lru_cache(maxsize=64)
def load_pattern(path: str, flow: str) -> Pattern:
    """The pattern of ``flow`` in the capture at ``path``; raises :class:`ScenarioError` (the capture's problem)."""
    train = device_train(read_capture(path))
    chosen = [f for f, fl in enumerate(train.flows) if matches(flow, fl.name)]
    if not chosen:
        names = ", ".join(f.name for f in train.flows[:5]) + (", ..." if len(train.flows) > 5 else "")
        raise ScenarioError([Problem(path, "", f"no flow matches {flow!r} (its flows: {names})")])
    mine = np.isin(train.flow, chosen)
    t, up, size = train.t_s[mine], train.up[mine], train.ip_bytes[mine]
    t = t - t[0]
    starts = np.concatenate([[True], np.diff(t) >= BURST_GAP_S])
    if starts.sum() < 2:
        raise ScenarioError([Problem(path, "", f"flow {flow!r} is one burst: no pattern to repeat")])
    burst = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    kept = _kept(t, starts)
    up_bytes = np.bincount(burst, weights=np.where(up, size, 0)).astype(np.int64)
    down_bytes = np.bincount(burst, weights=np.where(up, 0, size)).astype(np.int64)
    packets = np.bincount(burst)
    head = np.isin(kept, first)
    b = burst[kept]
    rows = np.stack([np.where(head, up_bytes[b], 0), np.where(head, down_bytes[b], 0), np.where(head, packets[b], 0)],
                    axis=1)
    kinds, kind = np.unique(rows, axis=0, return_inverse=True)
    if len(kinds) > MAX_KINDS:
        raise ScenarioError([Problem(path, "", f"flow {flow!r} has bursts of {len(kinds)} different sizes; a replay "
                                               f"takes at most {MAX_KINDS}: cut the capture to the part to replay")])
    cycle_s = float(t[-1] + np.median(np.diff(t[first])))
    return Pattern(t[kept], kind.reshape(-1), head & ~up[kept], tuple(tuple(int(v) for v in k) for k in kinds),
                   cycle_s)


def _kept(t: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The packets that stand for their bursts: each burst's first (the packets up to ``MERGE_S`` after it
    merged into it), then the latest packet within ``BURST_GAP_S`` of the last one kept, and the burst's
    last; never two at the same instant."""
    keep = np.zeros(t.size, dtype=bool)
    first = last = 0.0
    for i in range(t.size):
        if starts[i]:
            keep[i], first, last = True, t[i], t[i]
        elif t[i] - first > MERGE_S and (i + 1 == t.size or starts[i + 1] or t[i + 1] - last >= BURST_GAP_S):
            keep[i], last = True, t[i]
    out = np.flatnonzero(keep)
    return out[np.concatenate([[True], np.diff(t[out]) > 0])]


def replay_times(pattern: Pattern, phase: np.ndarray, end_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every device's replay, ``[device, k]``: times (inf outside ``[0, end_s)``), kinds and incoming flags.

    Device i runs the cycle from ``phase[i] x cycle_s`` on (steady state: a uniform point of the
    cycle at t = 0), repeated for as long as the run lasts."""
    c, m = pattern.cycle_s, pattern.offsets_s.size
    cycles = int(end_s / c) + 2
    t = (pattern.offsets_s[None, None, :] + (np.arange(cycles)[None, :, None] - phase[:, None, None]) * c)
    t = t.reshape(phase.size, cycles * m)
    np.copyto(t, np.inf, where=(t < 0.0) | (t >= end_s))
    kind = np.broadcast_to(np.tile(pattern.kind, cycles), t.shape)
    incoming = np.broadcast_to(np.tile(pattern.incoming, cycles), t.shape)
    return t, kind, incoming
