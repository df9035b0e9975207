"""MarsArrays (the array form of the adaptive heartbeat) against n scalar MarsHeartbeat objects."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.population.heartbeat import MarsArrays, MarsHeartbeat
from sim.scenario.schema import Heartbeat

FIELDS = ("current_s", "stable", "link_successes", "successes", "failures", "last_used_s")


def assert_same(arrays: MarsArrays, scalars: list[MarsHeartbeat]) -> None:
    for field in FIELDS:
        expected = [getattr(h, field) for h in scalars]
        assert getattr(arrays, field).tolist() == expected, field  # exact, floats included


@st.composite
def params(draw) -> Heartbeat:
    # schema: min, max, step > 0 (min <= max when adaptive), margin >= 0, probe and max_failures >= 1,
    # warmup >= 0. Tenths (0.1 .. 300.0: their sums round) and arbitrary floats check that the
    # rounding is the same, e.g. (current - step) - margin, not current - (step + margin); a
    # maximum a whole number of steps above the minimum, or equal to it, and no margin reach the
    # equality tests (capped at the maximum, settled at the minimum).
    value = st.integers(1, 3000).map(lambda k: k / 10) | st.floats(0.1, 300.0)
    lo, step = draw(value), draw(value)
    # mostly room for several steps and a margin below a step: failures settle above the minimum
    hi = lo + draw(st.just(0.0) | value | st.integers(1, 10).map(lambda k: k * step)
                   | st.floats(1.0, 10.0).map(lambda k: k * step))
    margin = draw(st.just(0.0) | value | st.floats(0.0, 1.0).map(lambda f: f * step)
                  | value.map(lambda m: m * step / 300.0))
    if hi - margin < lo:  # settling below the minimum is refused by the schema (it made a beat spin)
        margin = 0.0
    return Heartbeat(policy="adaptive", min_interval_s=lo, max_interval_s=hi, step_s=step, margin_s=margin,
                     probe_beats=draw(st.integers(1, 4)), warmup_beats=draw(st.integers(0, 3)),
                     max_failures=draw(st.integers(1, 3)))


@settings(max_examples=150, deadline=None)
@given(p=params(), n=st.integers(1, 20), data=st.data())
def test_arrays_match_scalar(p: Heartbeat, n: int, data: st.DataObject) -> None:
    arrays, scalars = MarsArrays(p, n), [MarsHeartbeat(p) for _ in range(n)]
    order = np.array(data.draw(st.permutations(range(n))), dtype=np.int64)  # idx need not be sorted
    # what the algorithm is for: a NAT that drops a connection idle longer than its timeout (so
    # that the search settles, mostly above the minimum)
    nat = p.min_interval_s + p.step_s * np.array(data.draw(st.lists(st.floats(0.5, 10.0), min_size=n, max_size=n)))
    # per step and connection (in that order): 0 left out, 1 a failed beat, 2 one that succeeded,
    # 3 and up one that survived iff its interval was below the NAT timeout; and whether the step
    # asks for the next interval, reports a result, or both (a whole beat): any interleaving
    # (one byte per connection: far quicker to draw than n integers)
    top_code = data.draw(st.integers(3, 8))
    kinds = st.sampled_from(["beat", "beat", "next", "result"])
    steps = data.draw(st.integers(1, 120))  # (a list's length would mostly be short)
    schedule = st.lists(st.tuples(kinds, st.binary(min_size=n, max_size=n)), min_size=steps, max_size=steps)
    for kind, code in data.draw(schedule):
        code = np.frombuffer(code, dtype=np.uint8) % (top_code + 1)
        idx, code = order[code > 0], code[code > 0]
        if kind != "result":
            assert arrays.next_interval_s(idx).tolist() == [scalars[i].next_interval_s() for i in idx]
        if kind != "next":
            ok = (code == 2) | ((code > 2) & (arrays.last_used_s[idx] < nat[idx]))
            arrays.result(idx, ok)
            for i, alive in zip(idx, ok):
                scalars[i].result(bool(alive))
        assert_same(arrays, scalars)


@pytest.mark.parametrize(("step", "margin", "up1", "up2", "settled"), [
    (60.0, 20.0, 270.0, 330.0, 250.0),  # the defaults
    # 210 + 60.3 = 270.3, + 60.3 = 330.6; (330.6 - 60.3) - 20.3 gives exactly 250.0 in binary
    # floats, while 330.6 - (60.3 + 20.3) would give 250.00000000000003: the arithmetic's order
    (60.3, 20.3, 270.3, 330.6, 250.0),
])
def test_hand_computed(step: float, margin: float, up1: float, up2: float, settled: float) -> None:
    """Default params (min 210, max 600, step 60, margin 20, probe 5, warm-up 3, 2 failures).

    Connection 0 of three (1 and 2 never beat, so they keep their initial state):
    - 7 beats at 210 s, all ok: the first 3 are the warm-up; the 3rd already counts as the first
      success at the current interval 210 (link_successes reaches 3 and 210 was used), so
      successes 4..5 are beats 6..7 (the 7th sets current to 210 + 60 = 270 = up1).
    - 5 ok beats at 270 -> current 330 (up2).
    - a failure at 330 (failures 1; the connection is re-established) -> 3 warm-up beats at 210
      (not at the current interval: nothing learnt) -> a second failure at 330: failures 2 settles
      at 330 - 60 - 20 = 250, i.e. a 20 s margin below 270, the largest interval that survived.
    - 3 warm-up beats at 210 then 250 for good: stable, so successes no longer probe up.
    - 2 failures at the settled 250 (each after its 3 warm-up beats) restart the search at 210;
      3 more warm-up beats, the last of them again a success at the current 210.
    """
    heartbeat = Heartbeat(policy="adaptive", step_s=step, margin_s=margin)
    arrays, one = MarsArrays(heartbeat, 3), np.array([0])
    beats = ([(210.0, True)] * 7 + [(up1, True)] * 5 + [(up2, False)] + [(210.0, True)] * 3 + [(up2, False)]
             + [(210.0, True)] * 3 + [(settled, True)] * 8 + [(settled, False)] + [(210.0, True)] * 3
             + [(settled, False)] + [(210.0, True)] * 3)
    currents, stables = [], []
    for interval, ok in beats:
        assert arrays.next_interval_s(one).tolist() == [interval]
        arrays.result(one, np.array([ok]))
        currents.append(arrays.current_s[0])
        stables.append(bool(arrays.stable[0]))
    assert currents == [210.0] * 6 + [up1] * 5 + [up2] * 5 + [settled] * 16 + [210.0] * 4
    assert stables == [False] * 16 + [True] * 16 + [False] * 4
    assert arrays.current_s.tolist() == [210.0, 210.0, 210.0]
    assert arrays.link_successes.tolist() == [3, 0, 0]
    # the last warm-up beat was at 210, again the current interval: one success there
    assert arrays.successes.tolist() == [1, 0, 0]
    assert arrays.failures.tolist() == [0, 0, 0]
