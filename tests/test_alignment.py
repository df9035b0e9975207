"""Alarm batching (Group.alarm_window_s): apps' wake-ups share the OS's windows."""
from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import run, scenario
from test_engines import assert_same_results

from sim.population.schedule import batched

# two IM apps with equal 300 s heartbeats (Kononen and Paakkonen, COMSNETS 2011: aligning k equal-period
# keepalives gives one promotion per period instead of k, "up to about 50 %" saved for two)
TWO_APPS = [{"name": n, "heartbeat": {"policy": "fixed", "interval_s": 300.0}} for n in ("im1", "im2")]
NO_UPKEEP = {"overrides": {"lte": {"t3412_s": math.inf}}}


def test_batched_alarms_fire_at_the_first_boundary_at_or_after_their_time_by_hand() -> None:
    times = np.array([[0.0, 10.0, 59.9, 60.0, 61.0], [5.0, 35.0, 36.0, np.inf, np.inf]])
    phase = np.array([0.0, 0.5])  # boundaries at 0, 60, 120 ... and 30, 90, 150 ...
    out = batched(times, 60.0, phase, 100.0)
    np.testing.assert_allclose(out, [[0.0, 60.0, 60.0, 60.0, np.inf], [30.0, 90.0, 90.0, np.inf, np.inf]])
    assert batched(times, None, phase, 100.0) is times


def test_aligned_equal_heartbeats_promote_once_a_period() -> None:
    common = dict(apps=TWO_APPS, network=NO_UPKEEP, simulation={"duration_s": 3600.0})
    exact = run(scenario(groups=[{"name": "g", "devices": 200, "apps": {"im1": 1.0, "im2": 1.0}}], **common))
    aligned = run(scenario(groups=[{"name": "g", "devices": 200, "apps": {"im1": 1.0, "im2": 1.0},
                                    "alarm_window_s": 300.0}], **common))
    beats = exact.summary["apps"]["im1"]["heartbeats"] + exact.summary["apps"]["im2"]["heartbeats"]
    # the same beats, each at most one window later: only an app's last beat can leave the run
    batched_beats = aligned.summary["apps"]["im1"]["heartbeats"] + aligned.summary["apps"]["im2"]["heartbeats"]
    assert beats - 2 * 200 <= batched_beats < beats
    # one promotion per 300 s window per phone: 3600 / 300 = 12 an hour (the first may fall after the
    # run's start: 11 or 12); unaligned, two apps at random phases promote about twice as often
    per_phone = aligned.summary["rrc"]["promotions_total"] / 200
    assert 11.0 <= per_phone <= 12.0
    saving = 1.0 - aligned.summary["rrc"]["promotions_total"] / exact.summary["rrc"]["promotions_total"]
    # about half: unaligned beats whose tails overlapped shared a promotion already (2 x 10.38 / 300 = 7 % of
    # pairs: 48 % saved), and the last beats pushed past the run's end save a little more
    assert 0.45 < saving < 0.55


@pytest.mark.parametrize("nat_s", [None, 320.0])
def test_aligned_alarms_run_the_same_on_both_engines(nat_s) -> None:
    # a NAT just above the heartbeat: batching stretches gaps by up to a window, past it
    apps = [*TWO_APPS, {"name": "mail", "connection": "push", "messages": {"per_hour": 3.0}}]
    assert_same_results(scenario(apps=apps, network={"nat_timeout_s": nat_s},
                                 groups=[{"name": "g", "devices": 60, "apps": {"im1": 1.0, "im2": 0.5, "mail": 0.5},
                                          "alarm_window_s": 120.0}], simulation={"duration_s": 1800.0}))
