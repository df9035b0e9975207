"""Traffic model: the shared push channel, the NAT and the adaptive (Mars) heartbeat."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import run, run_log, scenario
from sim.engine.log import HEARTBEAT, RECONNECT
from sim.population.heartbeat import MarsHeartbeat
from sim.scenario.schema import Heartbeat

APPS = [{"name": n, "heartbeat": {"policy": "fixed", "interval_s": 1680.0}} for n in ("mail", "store", "news")]


def test_push_channel_makes_one_heartbeat_stream_for_all_its_apps() -> None:
    hours = 6
    push = run(scenario(simulation={"duration_s": hours * 3600.0, "seed": 1, "bin_s": 600.0},
                        apps=[a | {"connection": "push"} for a in APPS],
                        groups=[{"name": "p", "devices": 1, "apps": {"mail": 1.0, "store": 1.0, "news": 1.0}}]))
    own = run(scenario(simulation={"duration_s": hours * 3600.0, "seed": 1, "bin_s": 600.0}, apps=APPS,
                       groups=[{"name": "p", "devices": 1, "apps": {"mail": 1.0, "store": 1.0, "news": 1.0}}]))
    apps = push.summary["apps"]
    per_stream = {int(hours * 3600 / 1680), int(hours * 3600 / 1680) + 1}
    assert apps["os-push"]["heartbeats"] in per_stream
    assert all(apps[a["name"]]["heartbeats"] == 0 for a in APPS)
    assert push.summary["rrc"]["promotions_total"] == apps["os-push"]["heartbeats"]
    assert all(own.summary["apps"][a["name"]]["heartbeats"] in per_stream for a in APPS)
    assert own.summary["rrc"]["promotions_total"] > 2.5 * push.summary["rrc"]["promotions_total"]


def test_nat_timeout_shorter_than_heartbeat_forces_a_reconnect_on_every_beat() -> None:
    rs = scenario(network={"radio": "lte", "nat_timeout_s": 300.0},
                  apps=[{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 600.0}}])
    apps = run(rs).summary["apps"]["chat"]
    assert apps["reconnects"] == apps["heartbeats"] > 0
    alive = run(scenario(network={"radio": "lte", "nat_timeout_s": 900.0},
                         apps=[{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 600.0}}]))
    assert alive.summary["apps"]["chat"]["reconnects"] == 0


def test_mars_algorithm_settles_margin_below_largest_surviving_interval() -> None:
    # Driven directly against a 300 s NAT: probes 210 -> 270 -> 330 (dies twice) -> 250.
    mars, used = MarsHeartbeat(Heartbeat(policy="adaptive")), []
    for _ in range(60):
        interval = mars.next_interval_s()
        used.append(interval)
        mars.result(interval <= 300.0)
    assert used[-5:] == [250.0] * 5
    assert mars.stable
    assert max(used) == 330.0


def test_adaptive_heartbeat_settles_just_under_the_nat_timeout() -> None:
    nat_s = 300.0
    rs = scenario(network={"radio": "lte", "nat_timeout_s": nat_s},
                  simulation={"duration_s": 6 * 3600.0, "seed": 4, "bin_s": 600.0},
                  apps=[{"name": "chat", "heartbeat": {"policy": "adaptive"}}])
    log = run_log(rs)
    beats = np.sort(log.x_t[(log.x_kind == HEARTBEAT) & (log.x_app == 0)])
    gaps = np.diff(beats)
    settled = gaps[-20:]
    # Mars steps are 60 s with a 20 s margin: it settles within (NAT - 80 s, NAT - 20 s].
    assert np.allclose(settled, settled[0], rtol=0, atol=1e-9)
    assert nat_s - 60.0 - 20.0 < settled[0] <= nat_s - 20.0
    last_reconnect = log.x_t[log.x_kind == RECONNECT].max()
    assert last_reconnect < beats[-20]  # no more reconnects once settled
    # Without a NAT it probes up to the maximum and settles a margin below it.
    free = run_log(scenario(simulation={"duration_s": 12 * 3600.0, "seed": 4, "bin_s": 600.0},
                            apps=[{"name": "chat", "heartbeat": {"policy": "adaptive"}}]))
    free_beats = np.sort(free.x_t[free.x_kind == HEARTBEAT])
    assert np.diff(free_beats)[-1] == pytest.approx(600.0 - 20.0)
