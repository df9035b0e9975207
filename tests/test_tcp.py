"""TCP as clients behave (``network.tcp``): SYN and data retransmissions, the app's timeout, by hand."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import run_log, scenario
from test_engines import assert_same_logs, assert_same_results

from sim.api import simulate
from sim.scenario import resolve
from sim.engine.log import HEARTBEAT, RECONNECT, UNANSWERED
from sim.population.tcp import backoff, tcp_timing
from sim.scenario.schema import Tcp


def test_linux_defaults_give_the_documented_schedules() -> None:
    syn = backoff(1.0, 6, 120.0)  # ip-sysctl tcp_syn_retries: 1, 3, 7, 15, 31, 63 s, gives up at 127 s
    assert syn.at_s == (1.0, 3.0, 7.0, 15.0, 31.0, 63.0) and syn.give_up_s == 127.0
    data = backoff(0.2, 15, 120.0)  # ip-sysctl tcp_retries2: 15 from TCP_RTO_MIN give up after 924.6 s
    assert data.give_up_s == pytest.approx(924.6)
    assert data.at_s[:10] == pytest.approx([0.2 * (2 ** k - 1) for k in range(1, 11)])
    assert np.diff(data.at_s)[-5:] == pytest.approx([120.0] * 5)  # the RTO capped at TCP_RTO_MAX
    tcp = tcp_timing(Tcp())
    # within the app's 10 s timeout (Mars' noop): 5 retransmissions, then it reconnects
    assert tcp.unanswered_s == pytest.approx((0.2, 0.6, 1.4, 3.0, 6.2)) and tcp.wait_s == 10.0
    assert tcp.connect(10.0) == ((0.0, 1.0, 3.0, 7.0), 10.0)  # the attempt's SYNs, then it has failed
    assert tcp.connect(300.0) == ((0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 63.0), 127.0)  # TCP gives up first
    assert tcp_timing(Tcp(app_timeout_s=2000.0)).wait_s == pytest.approx(924.6)
    off = tcp_timing(Tcp(retransmit=False))
    assert off.connect(10.0) == ((0.0,), 10.0) and off.unanswered_s == () and off.nat_wait_s == 0.0


def _transfers(log, kind: int) -> np.ndarray:
    return np.sort(log.x_t[log.x_kind == kind])


# one LTE phone, a beat every 300 s; the NAT forgets a connection idle for 100 s: every beat finds it dropped
NAT_DROPS = {"apps": [{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 300.0}}],
             "network": {"radio": "lte", "nat_timeout_s": 100.0}, "simulation": {"duration_s": 1800.0, "seed": 4}}


def test_a_beat_after_the_nat_timeout_is_sent_retransmitted_then_reconnected_after_the_app_timeout() -> None:
    rs = scenario(**NAT_DROPS)
    log = run_log(rs)
    beats = _transfers(log, HEARTBEAT)
    reconnects = _transfers(log, RECONNECT)
    unanswered = _transfers(log, UNANSWERED)
    first = unanswered[::6]  # each beat's own (failed) transmission, then 5 retransmissions
    assert unanswered.size == 6 * first.size and first.size in (5, 6)
    expected = (first[:, None] + np.array([0.0, 0.2, 0.6, 1.4, 3.0, 6.2])).ravel()
    np.testing.assert_array_equal(unanswered, expected)
    np.testing.assert_allclose(np.diff(first), 300.0)
    # the beat goes with the reconnect the app makes 10 s later, when it gives up waiting
    np.testing.assert_array_equal(reconnects, first + 10.0)
    np.testing.assert_array_equal(beats, reconnects)
    sizes = log.x_table[log.x_code[log.x_kind == UNANSWERED]]
    assert (sizes[:, 2:] == [70, 0, 1]).all()  # a 70 B segment each time, nothing back
    # the radio stays connected from the failed send to the reconnect's tail: one promotion per beat
    assert (log.tr_proc >= 0).sum() == 2 * first.size  # a service request and an S1 release each
    assert_same_logs(rs)


def test_without_retransmission_the_beat_reconnects_at_once() -> None:
    rs = scenario(**NAT_DROPS, network__tcp__retransmit=False)
    log = run_log(rs)
    assert (log.x_kind == UNANSWERED).sum() == 0
    np.testing.assert_array_equal(_transfers(log, RECONNECT), _transfers(log, HEARTBEAT))
    assert _transfers(log, HEARTBEAT).size == 6


def test_a_long_app_timeout_skips_beats_and_holds_messages_until_the_reconnect() -> None:
    rs = scenario(apps=[{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 30.0},
                         "messages": {"per_hour": 60.0, "up_bytes": 500, "down_bytes": 500}}],
                  network={"radio": "umts", "nat_timeout_s": 25.0, "tcp": {"app_timeout_s": 100.0}},
                  groups=[{"name": "p", "devices": 30, "apps": {"chat": 1.0}}],
                  simulation={"duration_s": 1800.0, "seed": 2})
    log = run_log(rs)
    reconnects = _transfers(log, RECONNECT)
    # a wait lasts 100 s (beats skipped meanwhile); after its reconnect, at most two beats (30 s apart, each
    # gap above 25 s unless a message came between) until one finds the connection dropped again
    per_device = reconnects.size / 30
    assert 1800 / (100 + 2 * 30) - 1 <= per_device <= 1800 / 100
    assert log.held_messages > 0
    assert_same_logs(rs)
    assert_same_results(rs)


# one phone whose server is down from 500 s to 700 s; it beats every 100 s, retries at once
OUTAGE = {"apps": [{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 100.0}}],
          "events": [{"kind": "server_outage", "app": "chat", "start_s": 500.0, "end_s": 700.0,
                      "retry": {"policy": "immediate"}}],
          "simulation": {"duration_s": 1200.0, "seed": 4}}


def test_a_connect_attempt_during_an_outage_retransmits_its_syn_at_1_3_7_s() -> None:
    log = run_log(scenario(**OUTAGE))
    beats = _transfers(log, HEARTBEAT)
    noticed = beats[(beats >= 500.0)][0]  # the first beat of the outage goes unanswered
    attempts = np.unique(_transfers(log, RECONNECT))  # (the reconnect logs two records: its own, and no send)
    unanswered = _transfers(log, UNANSWERED)
    # its 5 retransmissions, then at its 10 s timeout the first attempt, each a SYN retransmitted after
    # 1, 3 and 7 s until the attempt's own 10 s timeout, the next attempt at once (immediate)
    data = noticed + np.array([0.2, 0.6, 1.4, 3.0, 6.2])
    first = noticed + 10.0 + 10.0 * np.arange(attempts.size - 1)
    assert attempts[:-1] == pytest.approx(first, abs=1e-9)
    syns = first[:, None] + np.array([1.0, 3.0, 7.0])
    # the first SYN at or after the server's return is answered: the reconnect, then beats from it
    back = attempts[-1]
    assert 700.0 <= back < 700.0 + 4.0 + 1e-9
    assert back == pytest.approx(syns[-1][syns[-1] >= 700.0][0]) and first[-1] < 700.0
    retransmitted = np.concatenate([data, syns[:-1].ravel(), syns[-1][syns[-1] < 700.0]])
    assert unanswered == pytest.approx(np.sort(retransmitted), abs=1e-9)
    assert beats[beats > noticed][0] == pytest.approx(back + 100.0)


def test_without_syn_retransmission_each_attempt_is_one_syn() -> None:
    log = run_log(scenario(**OUTAGE, network__tcp__retransmit=False))
    beats = _transfers(log, HEARTBEAT)
    noticed = beats[(beats >= 500.0)][0]
    attempts = np.unique(_transfers(log, RECONNECT))
    assert (log.x_kind == UNANSWERED).sum() == 0
    # the model before network.tcp: an attempt every 10 s, the first at or after the end answered
    assert attempts == pytest.approx(noticed + 10.0 * np.arange(1, attempts.size + 1), abs=1e-9)
    assert 700.0 <= attempts[-1] < 710.0


def test_thousands_of_apps_behind_a_nat_keep_their_own_codes_on_both_engines() -> None:
    # 6,000 apps with a NAT make 18,004 send codes, keys (code x 2 + 1) beyond 16 bits (they once wrapped)
    apps = [{"name": f"a{i}", "heartbeat": {"policy": "fixed", "interval_s": 300.0}} for i in range(6000)]
    data = {"name": "many", "simulation": {"duration_s": 600.0}, "network": {"nat_timeout_s": 200.0}, "apps": apps,
            "groups": [{"name": "g", "devices": 10, "apps": {f"a{i}": 0.01 for i in range(6000)}}]}
    summaries = []
    for engine in ("fast", "des"):
        data["simulation"]["engine"] = engine
        summaries.append(simulate(resolve(data, "many.toml", [])).summary)
    fast, des = summaries
    assert fast["apps"] == des["apps"] and fast["signalling"] == des["signalling"]
    assert sum(a["reconnects"] for a in fast["apps"].values()) > 0  # the NAT dropped connections
