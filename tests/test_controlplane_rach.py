"""The closed loop's random access (sim.controlplane.rach): a cell against the batch model record by
record, and promotions that must win a random access first."""
from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

from sim.controlplane.rach import Cell
from sim.errors import ScenarioError
from sim.radio import rach
from sim.radio.profiles import LteProfile, builtin_profile_data
from sim.radio.tables import build_tables
from tests.conftest import run, run_log, scenario

LTE = LteProfile(**builtin_profile_data("lte")).rach


def test_a_cell_returns_the_batch_models_outcomes_device_by_device() -> None:
    tm = rach.timing(LTE)
    arrivals = rach.arrivals_ms(2, 8000, np.random.default_rng(4))  # overloaded at the peak: every path taken
    batch = rach.simulate(arrivals, tm, np.random.default_rng(5))
    env = simpy.Environment()
    cell, out = Cell(env, "eNB[0] cell 0", tm, np.random.default_rng(5)), {}

    def device(i: int):
        yield env.timeout(arrivals[i] / 1000.0)
        out[i] = yield cell.access(i)

    for i in range(arrivals.size):
        env.process(device(i))
    env.run()
    got = [out[i] for i in range(arrivals.size)]
    assert [a.ok for a in got] == batch.success.tolist()
    assert [a.transmissions for a in got] == batch.transmissions.tolist()
    assert np.allclose([a.done_s * 1000.0 for a in got], batch.end_ms, rtol=0, atol=1e-6)
    assert np.allclose([a.first_s * 1000.0 for a in got], batch.first_ms, rtol=0, atol=1e-6)
    assert cell.attempts == batch.attempts.sum() and cell.collided_preambles == batch.collided_preambles.sum()
    assert cell.successes == batch.success.sum() and cell.failures == (~batch.success).sum()


BEAT = {"apps": [{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 60.0}}]}


def rach_scenario(devices: int, rach_table: dict, **changes) -> object:
    lte = {"rach": {"enabled": True} | rach_table}
    return scenario(**BEAT, groups=[{"name": "phones", "devices": devices, "apps": {"chat": 1.0}}],
                    network={"radio": "lte", "overrides": {"lte": lte}}, **changes)


def test_an_uncontended_access_only_waits_for_its_opportunity() -> None:
    """One phone, every preamble heard, no HARQ repeat: each service request waits for the next RAO (the
    15 ms of an uncontended access are the profile's promotion delay's), so it moves to the 5 ms grid."""
    on = run(rach_scenario(1, {"detection": "ideal", "harq_retx_probability": 0.0}))
    off = run(scenario(**BEAT))
    assert on.summary["engine"] == "des"
    r = on.summary["rach"]
    assert r["cells"] == 1 and r["collided_preambles"] == 0 and r["failures"] == 0
    assert r["successes"] == r["attempts"] == on.summary["rrc"]["promotions_total"] == 60
    assert r["access_delay_mean_s"] == pytest.approx(0.015)
    for key in ("messages_total", "by_node", "by_procedure"):  # later, not more
        assert on.summary["signalling"][key] == off.summary["signalling"][key]
    assert on.timeseries["rach_attempts"].sum() == 60 and on.timeseries["rach_failures"].sum() == 0
    assert on.timeseries["rach_access_delay_mean_s"].max() == pytest.approx(0.015)


def test_promotions_wait_for_the_rao_at_or_after_them() -> None:
    rs = rach_scenario(1, {"detection": "ideal", "harq_retx_probability": 0.0})
    on, off = run_log(rs), run_log(scenario(**BEAT))
    service = build_tables(rs.profiles, rs.radios).procedures.index(("lte", "service_request"))
    t_on, t_off = on.tr_t[on.tr_proc >= 0], off.tr_t[off.tr_proc >= 0]
    is_service = off.tr_proc[off.tr_proc >= 0] == service
    assert t_on.size == t_off.size and is_service.sum() == 60
    # a service request at the RAO at or after its beat (RAOs every 5 ms from t = 0); the rest of its
    # cycle (the release) as much later
    assert np.allclose(t_on[is_service], np.ceil(t_off[is_service] * 200.0 - 1e-9) / 200.0, rtol=0, atol=1e-9)
    lag = t_on - t_off
    assert (lag >= -1e-12).all() and (lag < 0.005).all()


def test_a_failed_access_is_a_rejected_attempt_that_exchanges_nothing() -> None:
    # one transmission, heard with 1 - e^-1: an access fails with e^-1; three attempts per send
    res = run(rach_scenario(20, {"preamble_trans_max": 1}))
    cp, r = res.summary["controlplane"], res.summary["rach"]
    assert cp["rach_failures"] == r["failures"] > 0 and cp["rrc_rejects"] == 0
    decided = r["successes"] + r["failures"]  # binomial: 4 SE
    assert r["access_success_probability"] == pytest.approx(1 - math.exp(-1), abs=4 * math.sqrt(0.233 / decided))
    assert res.summary["signalling"]["by_procedure"]["rrc_reject"] == 0
    assert res.summary["rrc"]["promotions_total"] == r["successes"]
    # a send is dropped after max_attempts failed accesses
    assert cp["failed_sends"] > 0 and cp["failed_sends"] <= r["failures"] / 3
    assert res.timeseries["rach_failures"].sum() == r["failures"]


def test_devices_spread_over_their_base_stations_cells() -> None:
    nodes = {"eNB": {"messages_per_s": 1e6, "devices_per_node": 4}}
    res = run(rach_scenario(10, {}, controlplane={"nodes": nodes}))
    # base stations d // 4: 0, 1, 2; cells d mod 3 (three cells a base station, the paging area's)
    expected = {f"eNB[{d // 4}] cell {d % 3}" for d in range(10)}
    assert set(res.summary["rach"]["by_cell"]) == expected and res.summary["rach"]["cells"] == len(expected)


def test_random_access_needs_the_event_engine() -> None:
    rs = rach_scenario(1, {})
    assert rs.engine == "des" and "random access (lte)" in rs.scenario.closed_loop()
    with pytest.raises(ScenarioError, match="random access"):
        rach_scenario(1, {}, simulation={"duration_s": 60.0, "engine": "fast"})
    assert scenario(**BEAT).engine == "fast"  # off by default: the open loop as before
