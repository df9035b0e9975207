"""Delivery delay (docs/model.md §15): generated to delivered, against hand-computed cases and the sketch's bounds."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import run, run_log, scenario
from test_engines import assert_same_logs, assert_same_results

from sim.engine.log import HEARTBEAT, MESSAGE
from sim.metrics.delivery import GROWTH, RESOLUTION_S, figures, quanta, tally


def test_a_beat_that_finds_the_radio_idle_is_delivered_after_the_promotion_by_hand() -> None:
    # LTE, a 300 s beat and a 10.12 s tail: every beat promotes (0.26 s, ARO) and nothing else is sent
    rs = scenario(apps=[{"name": "im", "heartbeat": {"policy": "fixed", "interval_s": 300.0, "jitter": 0.0}}],
                  groups=[{"name": "g", "devices": 20, "apps": {"im": 1.0}}])
    d = run(rs).summary["delivery"]
    assert d["delivered"] == 20 * 12
    assert (d["mean_s"], d["p50_s"], d["p99_s"], d["share_delayed"]) == (pytest.approx(0.26, abs=1e-6), 0.26, 0.26,
                                                                         0.0)
    assert d["by_app"]["im"]["delivered"] == d["delivered"]


def _held_until_next_beat(gen: np.ndarray, beats: np.ndarray, nat_s: float) -> np.ndarray:
    """By hand: an incoming message more than ``nat_s`` after the connection's last packet (a beat, or a message
    delivered live) waits for the next beat, which reconnects and carries it (inf: none comes); else it arrives
    at once. ``beats`` start one interval before the first (the connection's steady state)."""
    delay, last = np.zeros(gen.size), -np.inf
    for i, g in enumerate(gen):
        last = max(last, beats[beats <= g].max())
        if g - last > nat_s:
            delay[i] = beats[beats > g].min(initial=np.inf) - g
        else:
            last = g
    return delay


@pytest.mark.parametrize("engine", ["des", "fast"])
def test_incoming_messages_on_a_connection_the_nat_dropped_wait_for_the_next_beat(engine) -> None:
    # a 270 s beat through a 180 s NAT, no promotion delay (the delay is the hold alone) and no TCP
    # retransmission (the beat reconnects at once): a message more than 180 s after the last packet waits
    rs = scenario(apps=[{"name": "im", "heartbeat": {"policy": "fixed", "interval_s": 270.0, "jitter": 0.0},
                         "messages": {"per_hour": 30.0, "incoming_share": 1.0}}],
                  network={"radio": "lte", "nat_timeout_s": 180.0, "tcp": {"retransmit": False},
                           "overrides": {"lte": {"promotion_delay_s": 0.0}}},
                  groups=[{"name": "g", "devices": 30, "apps": {"im": 1.0}}],
                  simulation={"duration_s": 3600.0, "seed": 3, "engine": engine})
    log = run_log(rs)
    expected = []
    for dev in range(30):
        beats = np.sort(log.x_t[(log.x_device == dev) & (log.x_kind == HEARTBEAT)])
        mine = (log.x_device == dev) & (log.x_kind == MESSAGE)
        delay = _held_until_next_beat(np.sort(log.x_generated_t[mine]), np.append(beats[0] - 270.0, beats), 180.0)
        expected.append(delay[np.isfinite(delay)])  # a message still held at the end is not delivered
    expected = np.concatenate(expected)
    d = run(rs).summary["delivery"]
    assert d["delivered"] == expected.size + (log.x_kind == HEARTBEAT).sum()  # the beats, delivered at once
    assert d["mean_s"] * d["delivered"] == pytest.approx(expected.sum(), abs=d["delivered"] * RESOLUTION_S)
    assert d["share_delayed"] * d["delivered"] == (expected > 10.0).sum()
    assert (expected > 10.0).mean() > 0.05  # not a vacuous check: many wait (a live message refreshes the NAT)


def test_the_threshold_is_the_scenario_s() -> None:
    apps = [{"name": "im", "heartbeat": {"policy": "fixed", "interval_s": 300.0, "jitter": 0.0}}]
    groups = [{"name": "g", "devices": 5, "apps": {"im": 1.0}}]
    assert run(scenario(apps=apps, groups=groups, outputs={"delivery_threshold_s": 0.1})).summary["delivery"][
        "share_delayed"] == 1.0  # every beat waits 0.26 s for its promotion


def test_engines_agree_on_delivery_under_alarm_batching_doze_and_a_dropping_nat() -> None:
    rs = scenario(apps=[{"name": "im", "heartbeat": {"policy": "fixed", "interval_s": 200.0, "jitter": 0.1},
                         "messages": {"per_hour": 20.0, "incoming_share": 0.5}},
                        {"name": "mail", "connection": "push", "heartbeat": {"policy": "none"},
                         "messages": {"per_hour": 5.0, "incoming_share": 0.5}}],
                  network={"radio": "umts", "nat_timeout_s": 300.0},
                  groups=[{"name": "g", "devices": 40, "apps": {"im": 0.9, "mail": 0.7}, "alarm_window_s": 120.0,
                           "doze": {"enter_after_s": 600.0, "intervals_s": [600.0, 900.0], "window_s": 60.0}}],
                  simulation={"duration_s": 5400.0, "seed": 11})
    assert_same_logs(rs)
    assert_same_results(rs)
    d = run(rs).summary["delivery"]
    assert d["p99_s"] > 300.0  # sends deferred for Doze's gaps


def _histogram(delay_s: np.ndarray) -> dict[str, float]:
    """``figures`` of delays given as transfers at ``delay_s`` generated at 0, with no promotion to wait for."""
    n, ints = delay_s.size, np.zeros(delay_s.size, dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)
    hist, low, high, total, *_ = tally(delay_s, np.zeros(n), ints, ints, np.zeros(1, dtype=np.int64), np.zeros(0),
                                       none, none, np.zeros(0), 10_000_000, 60.0, 1, 1, 1)
    return figures(hist[0], low[0], high[0], int(total[0]), 0)


def test_percentiles_are_within_half_a_percent_of_the_exact_nearest_rank() -> None:
    rng = np.random.default_rng(1)
    delay = np.concatenate([rng.lognormal(0.0, 2.0, 20_000), np.zeros(500), np.full(3000, 0.26)])
    out = _histogram(delay)
    assert out["mean_s"] == pytest.approx(delay.mean(), abs=RESOLUTION_S)
    for p in (50, 95, 99):
        exact = np.percentile(quanta(delay), p, method="inverted_cdf") * RESOLUTION_S
        assert out[f"p{p}_s"] == pytest.approx(exact, rel=(GROWTH - 1.0) / 2.0)
    assert _histogram(np.full(100, 0.26))["p95_s"] == 0.26  # a bucket holding one value gives it exactly


def test_a_send_the_network_rejects_is_delivered_a_reject_wait_later_each_time() -> None:
    # a loss eNB (one server, no queue, 5 s a promotion) offered 200 phones' 300 s beats: many are rejected and
    # retried 20 s later, up to 5 attempts; a beat rejected k times goes k x 20 s late, then promotes (0.26 s)
    wait_s, delay_s = 20.0, 0.26
    rs = scenario(apps=[{"name": "im", "heartbeat": {"policy": "fixed", "interval_s": 300.0, "jitter": 0.0}}],
                  network={"radio": "lte", "overrides": {"lte": {"t3412_s": float("inf"),
                                                                  "messages": {"s1_release": {"eNB": 0}}}}},
                  controlplane={"reject_wait_s": wait_s, "max_attempts": 5,
                                "nodes": {"eNB": {"messages_per_s": 2.0, "servers": 1, "queue_limit": 0}}},
                  groups=[{"name": "g", "devices": 200, "apps": {"im": 1.0}}], simulation={"duration_s": 3600.0})
    log = run_log(rs)
    beats = log.x_kind == HEARTBEAT
    late_s = log.x_t[beats] - log.x_generated_t[beats]
    retries = np.rint(late_s / wait_s)
    np.testing.assert_allclose(late_s, retries * wait_s, atol=1e-6)
    assert retries.max() >= 2 and (retries == 0).any()
    s = run(rs).summary
    assert s["controlplane"]["rrc_rejects"] >= retries.sum() > 0
    d = s["delivery"]
    assert d["delivered"] == beats.sum()
    assert d["mean_s"] * d["delivered"] == pytest.approx((late_s + delay_s).sum(), abs=d["delivered"] * RESOLUTION_S)
