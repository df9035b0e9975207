"""The nodes' figures streamed from their log (``sim.metrics.nodes``): chunks and parts add up exactly."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine import log
from sim.metrics import delivery
from sim.metrics.nodes import NodeLog

END_S, BIN_S = 1000.0, 60.0  # a last bin of 40 s
NAMES = ["RNC", "SGSN"]


def _rows(rng: np.random.Generator, n: int, instances: int = 5) -> np.ndarray:
    """``n`` random node-log rows of every kind over ``instances`` instances, some on a bin's edge."""
    kind = rng.integers(0, 6, n)
    a = rng.uniform(0.0, END_S, n)
    a[rng.random(n) < 0.05] = 360.0
    interval = (kind == log.NL_BUSY) | (kind == log.NL_QUEUED)
    b = np.where(kind == log.NL_WAIT, rng.exponential(0.3, n) * (rng.random(n) < 0.7),  # most waits 0
                 np.where(interval, np.minimum(a + rng.exponential(5.0, n), END_S),
                          np.where(kind == log.NL_REJECT, 0.0, rng.integers(1, 40, n))))
    return np.column_stack([kind, rng.integers(0, instances, n), a, b]).astype(np.float64)


NODE_OF = np.array([0, 1, 0, 1, 1], dtype=np.int64)


def _state(nl: NodeLog) -> dict[str, np.ndarray]:
    return {name: getattr(nl, name) for name in (*NodeLog.SUMS, "low", "high")} | {
        "count": nl.occupancy.count, "total": nl.occupancy.total, "seconds": nl.occupancy.per_bin()}


def _assert_equal(a: NodeLog, b: NodeLog) -> None:
    sa, sb = _state(a), _state(b)
    for name in sa:
        np.testing.assert_array_equal(sa[name], sb[name], name)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 3000), st.lists(st.integers(0, 3000), max_size=6))
def test_chunks_and_parts_add_up_to_the_whole_exactly(seed, n, cuts) -> None:
    """The log in one chunk, in chunks cut anywhere, shuffled, and as two parts absorbed: the same integers."""
    rows = _rows(np.random.default_rng(seed), n)
    whole = NodeLog(NAMES, END_S, BIN_S)
    whole.add(rows, NODE_OF)
    chunked = NodeLog(NAMES, END_S, BIN_S)
    for chunk in np.split(rows[np.random.default_rng(seed + 1).permutation(n)], sorted(c % (n + 1) for c in cuts)):
        chunked.add(chunk, NODE_OF)
    _assert_equal(whole, chunked)
    parts = [NodeLog(NAMES, END_S, BIN_S) for _ in range(2)]
    first = rows[:, 1] < 2  # instances 0 and 1 in one part, the rest in the other
    parts[0].add(rows[first], NODE_OF)
    parts[1].add(rows[~first], NODE_OF)
    merged = NodeLog(NAMES, END_S, BIN_S)
    for part in parts:
        merged.absorb(part)
    _assert_equal(whole, merged)


def test_counts_and_seconds_are_the_logs() -> None:
    """Offered and carried messages and rejects per bin as ``np.histogram`` bins the rows; busy and queued seconds
    per bin as the intervals' overlaps with the bins, to a nanosecond per bound."""
    rows = _rows(np.random.default_rng(7), 20_000)
    nl = NodeLog(NAMES, END_S, BIN_S)
    nl.add(rows, NODE_OF)
    edges = nl.edges
    of = NODE_OF[rows[:, 1].astype(int)]
    seconds = nl.occupancy.per_bin()
    for j in range(len(NAMES)):
        mine = rows[of == j]
        pick = lambda kind: mine[mine[:, 0] == kind][:, 2:]
        for got, kind, weighted in ((nl.offered, log.NL_OFFER, True), (nl.carried, log.NL_CARRIED, True),
                                    (nl.rejected, log.NL_REJECT, False)):
            t, w = pick(kind).T
            np.testing.assert_array_equal(got[j], np.histogram(t, edges, weights=w if weighted else None)[0])
        for layer, kind in ((2 * j, log.NL_BUSY), (2 * j + 1, log.NL_QUEUED)):
            start, end = pick(kind).T
            overlap = np.clip(np.minimum(end[:, None], edges[1:]) - np.maximum(start[:, None], edges[:-1]), 0, None)
            np.testing.assert_allclose(seconds[:, layer], overlap.sum(axis=0), rtol=0, atol=len(start) * 1e-9)


@pytest.mark.parametrize("scale_s", [1e-3, 0.5, 30.0])
def test_wait_figures_against_numpy(scale_s) -> None:
    """The mean of the waits (in whole microseconds: within 0.5 us of numpy's) and the p95 within the histogram's
    resolution (0.5 %, ``delivery.percentile_s``, and the microsecond) of numpy's, overall and per bin."""
    rng = np.random.default_rng(3)
    n = 5000
    arrival = rng.uniform(0.0, END_S, n)
    waits = rng.exponential(scale_s, n) * (rng.random(n) < 0.6)
    rows = np.column_stack([np.full(n, log.NL_WAIT), np.zeros(n), arrival, waits])
    nl = NodeLog(NAMES, END_S, BIN_S)
    nl.add(rows, NODE_OF)
    got = nl.wait_figures(0)
    assert got["wait_mean_s"] == pytest.approx(waits.mean(), rel=0, abs=0.5e-6)
    resolution = {"rel": (delivery.GROWTH - 1.0) / 2, "abs": 1e-6}
    assert got["wait_p95_s"] == pytest.approx(np.percentile(waits, 95), **resolution)
    per_bin = nl.wait_p95_per_bin(0)
    bins = np.searchsorted(nl.edges, arrival, side="right") - 1
    for b in range(nl.edges.size - 1):
        assert per_bin[b] == pytest.approx(np.percentile(waits[bins == b], 95), **resolution)
    assert nl.wait_figures(1) == {"wait_mean_s": 0.0, "wait_p95_s": 0.0}  # a node with no wait


def test_a_wait_alone_in_its_bucket_is_exact() -> None:
    rows = np.array([[log.NL_WAIT, 0, 10.0, 0.25]] * 99 + [[log.NL_WAIT, 0, 20.0, 0.0]], dtype=np.float64)
    nl = NodeLog(NAMES, END_S, BIN_S)
    nl.add(rows, NODE_OF)
    assert nl.wait_figures(0)["wait_p95_s"] == 0.25
