"""Heartbeat.restart_on_traffic: a fixed heartbeat whose timer restarts at the app's messages."""
from __future__ import annotations

import numpy as np
from conftest import run, scenario
from test_engines import assert_same_results

from sim.population.schedule import restarted_beats


def test_beats_restart_after_each_message_by_hand() -> None:
    # 100 s timer, first due at 50 s (phase 0.5); messages at 20 (before the first: it moves to 120), 130
    # (moves the next from 220 to 230) and 400, 410 (the beat due at 330 went; the next from 430 to 510)
    messages = np.array([[20.0, 130.0, 400.0, 410.0, np.inf]])
    beats = restarted_beats(100.0, 0.0, np.array([0.5]), np.zeros((1, 0)), messages, 700.0)
    finite = beats[np.isfinite(beats)]
    np.testing.assert_allclose(finite, [120.0, 230.0, 330.0, 510.0, 610.0])
    # without messages: the fixed schedule
    plain = restarted_beats(100.0, 0.0, np.array([0.5]), np.zeros((1, 0)), np.full((1, 1), np.inf), 700.0)
    np.testing.assert_allclose(plain[np.isfinite(plain)], [50.0, 150.0, 250.0, 350.0, 450.0, 550.0, 650.0])


def test_a_chatty_app_that_restarts_its_timer_beats_less_on_both_engines() -> None:
    app = {"name": "im", "heartbeat": {"policy": "fixed", "interval_s": 270.0, "jitter": 0.1},
           "messages": {"per_hour": 30.0}}
    groups = [{"name": "g", "devices": 60, "apps": {"im": 1.0}}]
    plain = run(scenario(apps=[app], groups=groups)).summary["apps"]["im"]
    restart = {**app, "heartbeat": {**app["heartbeat"], "restart_on_traffic": True}}
    rs = scenario(apps=[restart], groups=groups, network={"nat_timeout_s": 300.0})
    assert_same_results(rs)
    mine = run(scenario(apps=[restart], groups=groups)).summary["apps"]["im"]
    assert mine["messages"] == plain["messages"]  # the same messages
    # a message every 2 min on average: most 270 s timers are restarted before they fire
    assert mine["heartbeats"] < 0.5 * plain["heartbeats"]
