"""Doze (Group.doze): sends wait for maintenance windows whose spacing grows."""
from __future__ import annotations

import numpy as np
from conftest import run, run_log, scenario
from test_engines import assert_same_results

from sim.engine.log import HEARTBEAT
from sim.population.schedule import doze_windows, dozed
from sim.scenario.schema import Doze

DOZE = Doze(enter_after_s=100.0, intervals_s=[100.0, 200.0], window_s=10.0)


def test_windows_follow_the_intervals_from_entering_and_the_last_repeats_by_hand() -> None:
    # enter at 100: windows at 200-210, 410-420 (200 after the first's end), 620-630, 830-840
    np.testing.assert_array_equal(doze_windows(DOZE, 900.0), [[200, 210], [410, 420], [620, 630], [830, 840]])
    assert doze_windows(Doze(), 3600.0).size == 0  # the default enters after an hour: no window in the first


def test_sends_in_doze_wait_for_the_next_window_by_hand() -> None:
    times = np.array([[50.0, 150.0, 205.0, 215.0, 870.0]])
    np.testing.assert_array_equal(dozed(times, DOZE, 900.0), [[50.0, 200.0, 205.0, 410.0, np.inf]])
    assert dozed(times, None, 900.0) is times


def test_a_dozing_heartbeat_goes_out_in_windows_only_and_promotes_far_less() -> None:
    # a 60 s heartbeat; Doze from 600 s, a 60 s window after each 600 s gap: the beats of a gap go out
    # together at the window's start (one promotion), so each 660 s costs about two promotions, not eleven
    doze = {"enter_after_s": 600.0, "intervals_s": [600.0], "window_s": 60.0}
    apps = [{"name": "im", "heartbeat": {"policy": "fixed", "interval_s": 60.0}}]
    plain = run(scenario(apps=apps, groups=[{"name": "g", "devices": 50, "apps": {"im": 1.0}}],
                         simulation={"duration_s": 3600.0})).summary
    rs = scenario(apps=apps, groups=[{"name": "g", "devices": 50, "apps": {"im": 1.0}, "doze": doze}],
                  simulation={"duration_s": 3600.0})
    dozing = run(rs).summary
    assert dozing["rrc"]["promotions_total"] < 0.4 * plain["rrc"]["promotions_total"]
    log = run_log(rs)
    t = log.x_t[(log.x_kind == HEARTBEAT) & (log.x_t >= 600.0)]
    windows = doze_windows(Doze(**doze), 3600.0)
    assert t.size and all(((windows[:, 0] <= x) & (x < windows[:, 1])).any() for x in t)


def test_doze_runs_the_same_on_both_engines_with_a_nat() -> None:
    doze = {"enter_after_s": 300.0, "intervals_s": [300.0, 600.0], "window_s": 60.0}
    apps = [{"name": "im", "heartbeat": {"policy": "fixed", "interval_s": 120.0}, "messages": {"per_hour": 6.0}},
            {"name": "mail", "connection": "push", "messages": {"per_hour": 6.0}}]
    assert_same_results(scenario(apps=apps, network={"nat_timeout_s": 400.0},
                                 groups=[{"name": "g", "devices": 40, "apps": {"im": 1.0, "mail": 0.5}, "doze": doze,
                                          "push_interval_s": 240.0}], simulation={"duration_s": 2400.0}))
