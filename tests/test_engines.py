"""The fast engine computes the SimPy engine's model: the same logs and results for the same inputs.

Both engines log every RRC record and every transfer; the logs are compared record by record
(each device's transitions in order, the transfers as a multiset), then the reduced results.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import run, scenario
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.api import simulate
from sim.cli import cli
from sim.engine import fast
from sim.engine.des import run_des
from sim.engine.fast import run_fast
from sim.errors import ScenarioError
from sim.radio.tables import build_tables
from sim.scenario import ResolvedScenario, load_scenario

SCENARIOS = sorted(Path(__file__).parent.parent.glob("scenarios/*.toml"))


def with_engine(rs: ResolvedScenario, engine: str) -> ResolvedScenario:
    scn = rs.scenario.model_copy(update={"simulation": rs.scenario.simulation.model_copy(update={"engine": engine})})
    return ResolvedScenario(scn, rs.profiles, rs.source)


def assert_same_logs(rs: ResolvedScenario) -> None:
    tables = build_tables(rs.profiles, rs.radios, rs.scenario.simulation.seed, len(rs.scenario.apps))
    des = run_des(rs, tables)
    parts = list(run_fast(rs, tables))
    cat = (lambda name: np.concatenate([getattr(p, name) for p in parts]))
    # transitions: each device's records in the same order with the same values
    order, mine = np.argsort(des.tr_device, kind="stable"), np.argsort(cat("tr_device"), kind="stable")
    for name in ("tr_device", "tr_t", "tr_proc", "tr_owner", "tr_state"):
        np.testing.assert_array_equal(cat(name)[mine], getattr(des, name)[order], err_msg=name)
    # ... and the fast engine's come device by device, as it tells the metrics (tr_grouped)
    assert all(p.tr_grouped for p in parts)
    assert (np.diff(cat("tr_device")) >= 0).all()
    # transfers: the same multiset (the engines log them in different orders)
    names = ("x_t", "x_generated_t", "x_device", "x_app", "x_kind", "x_up_bytes", "x_down_bytes", "x_packets")
    f = np.stack([cat(n) for n in names])
    d = np.stack([getattr(des, n) for n in names])
    np.testing.assert_array_equal(f[:, np.lexsort(f)], d[:, np.lexsort(d)])
    assert sum(p.held_messages for p in parts) == des.held_messages
    by_device = np.argsort(des.call_device, kind="stable")
    for name in ("call_t", "call_proc", "call_type"):  # the calls, their types and what they exchanged
        np.testing.assert_array_equal(cat(name), getattr(des, name)[by_device], err_msg=name)


def assert_same(a, b, path: str = "summary") -> None:
    """Equal, integers exactly and floats within rounding (sums taken in another order)."""
    assert type(a) is type(b), path
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-12), path
    else:
        assert a == b, path


def assert_same_results(rs: ResolvedScenario) -> None:
    a, b = run(with_engine(rs, "des")), run(with_engine(rs, "fast"))
    assert (a.summary["engine"], b.summary["engine"]) == ("des", "fast")
    assert_same(a.summary | {"engine": "fast"}, b.summary)
    for name in ("devices", "apps", "timeseries"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=False, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("path", [p for p in SCENARIOS if not load_scenario(p).scenario.closed_loop()],
                         ids=lambda p: p.stem)
def test_every_open_loop_scenario_gives_the_same_results_on_both_engines(path: Path) -> None:
    rs = load_scenario(path)
    devices = sum(g.devices for g in rs.scenario.groups)
    if devices > 1200:  # the full population on SimPy takes long; a block and a bit of every group
        rs = load_scenario(path, [f"groups[{i}].devices={min(g.devices, 1100)}"
                                  for i, g in enumerate(rs.scenario.groups)])
    assert_same_logs(rs)
    assert_same_results(rs)


@st.composite
def open_loop_scenarios(draw):
    apps = []
    for i in range(draw(st.integers(1, 3))):
        policy = draw(st.sampled_from(["fixed", "adaptive", "none"]))
        hb = {"policy": policy, "jitter": draw(st.sampled_from([0.0, 0.2]))}
        if policy == "fixed":
            hb["interval_s"] = draw(st.sampled_from([draw(st.floats(5.0, 900.0)), 300.0, 600.0]))
        if policy == "adaptive":
            hb |= {"min_interval_s": draw(st.floats(60.0, 300.0)), "step_s": draw(st.floats(10.0, 120.0))}
        apps.append({"name": f"a{i}", "connection": draw(st.sampled_from(["own", "own", "push"])), "heartbeat": hb,
                     "messages": {"per_hour": draw(st.floats(0.0, 80.0)), "up_bytes": draw(st.integers(0, 3000)),
                                  "down_bytes": draw(st.integers(0, 3000)),
                                  "incoming_share": draw(st.floats(0.0, 1.0))}})
    timer = st.sampled_from([float("inf"), 3240.0, draw(st.floats(20.0, 900.0))])  # short: the updates happen
    overrides = {
        "umts": {"t3312_s": draw(timer), "t305_s": draw(timer),
                 "pch_mobility_updates_per_h": draw(st.floats(0.0, 60.0)), "fast_dormancy": draw(st.sampled_from(["off", "legacy", "rel8"])), "pch_enabled": draw(st.booleans()),
                 "pch_release_s": draw(st.sampled_from([float("inf"), draw(st.floats(1.0, 200.0))])),
                 "fast_dormancy_s": draw(st.floats(0.5, 30.0)), "t1_s": draw(st.floats(0.5, 20.0))},
        "nr": {"inactive_enabled": draw(st.booleans()), "t3512_s": draw(timer), "t380_s": draw(timer),
               "inactive_release_s": draw(st.sampled_from([float("inf"), draw(st.floats(1.0, 600.0))]))},
        "lte": {"t3412_s": draw(timer), "tail_s": draw(st.floats(0.5, 30.0)),
                "promotion_delay_s": draw(st.floats(0.0, 3.0))},
    }
    nat = draw(st.one_of(st.none(), st.floats(20.0, 1800.0), st.sampled_from([300.0, 600.0])))
    # a send the NAT dropped goes unanswered: retransmissions, then the reconnect after the app's timeout
    # (windows longer than a heartbeat interval or the NAT timeout too: beats skipped, messages held)
    tcp = {"retransmit": draw(st.booleans()), "rto_s": draw(st.floats(0.2, 5.0)), "retries": draw(st.integers(0, 15)),
           "app_timeout_s": draw(st.sampled_from([10.0, draw(st.floats(0.2, 900.0))]))}
    network = {"radio": draw(st.sampled_from(["umts", "lte", "nr"])), "overrides": overrides, "tcp": tcp}
    groups = [{"name": f"g{k}", "devices": draw(st.integers(1, 25)), "radio": draw(st.sampled_from(["umts", "lte", "nr"])),
               "push_interval_s": draw(st.floats(30.0, 1800.0)),
               "apps": {a["name"]: draw(st.floats(0.0, 1.0)) for a in apps}} for k in range(draw(st.integers(1, 2)))]
    sim = {"duration_s": draw(st.floats(300.0, 3600.0)), "seed": draw(st.integers(0, 2**32)),
           "bin_s": draw(st.sampled_from([60.0, 300.0]))}
    return scenario(network=network | ({"nat_timeout_s": nat} if nat else {}), apps=apps, groups=groups,
                    simulation=sim, calls={"per_hour": draw(st.floats(0.0, 5.0)),  # voip: data on every radio
                                           "per_hour_by_type": {"voip": draw(st.sampled_from([0.0, 2.0]))},
                                           "mean_duration_s": draw(st.floats(1.0, 300.0))})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(open_loop_scenarios())
def test_random_open_loop_scenarios_give_the_same_logs_and_results(rs) -> None:
    assert_same_logs(rs)
    assert_same_results(rs)


@pytest.mark.parametrize("overrides", [[], ['events[0].retry.policy="fixed"'], ['events[0].retry.policy="exponential"'],
                                       ['events[0].retry.policy="exponential"', "events[0].retry.jitter=true",
                                        "network.tcp.retransmit=false"]], ids=["immediate", "fixed", "exp", "jitter"])
def test_reconnect_storm_gives_the_same_logs_and_results_on_both_engines(overrides) -> None:
    rs = load_scenario("scenarios/reconnect-storm.toml", ["groups[0].devices=300", *overrides])
    assert rs.engine == "fast"
    assert_same_logs(rs)
    assert_same_results(rs)


@st.composite
def per_device_event_scenarios(draw):
    """Server outages (every retry policy), app updates and NAT changes, with no limited node: every
    device's feedback is its own, and the fast engine walks it as the SimPy engine does."""
    apps, events = [], []
    duration_s = draw(st.floats(600.0, 3600.0))
    window = st.tuples(st.floats(0.0, duration_s), st.floats(10.0, 1200.0))
    for i in range(draw(st.integers(1, 3))):
        policy = draw(st.sampled_from(["fixed", "fixed", "none"]))
        own = draw(st.sampled_from(["own", "own", "push"]))
        hb = {"policy": policy, "jitter": draw(st.sampled_from([0.0, 0.2]))}
        if policy == "fixed":
            hb["interval_s"] = draw(st.sampled_from([draw(st.floats(5.0, 900.0)), 270.0]))
        apps.append({"name": f"a{i}", "connection": own, "heartbeat": hb,
                     "messages": {"per_hour": draw(st.floats(0.0, 60.0)), "up_bytes": draw(st.integers(0, 3000)),
                                  "down_bytes": draw(st.integers(0, 3000)),
                                  "incoming_share": draw(st.floats(0.0, 1.0))}})
        if own == "own" and draw(st.booleans()):
            start, length = draw(window)
            retry = {"policy": draw(st.sampled_from(["immediate", "fixed", "exponential"])),
                     "jitter": draw(st.booleans()), "attempt_timeout_s": draw(st.floats(0.2, 30.0)),
                     "interval_s": draw(st.floats(0.2, 30.0)), "initial_s": draw(st.floats(0.2, 30.0)),
                     "max_s": draw(st.floats(30.0, 300.0)), "syn_up_bytes": draw(st.integers(40, 2000))}
            events.append({"kind": "server_outage", "app": f"a{i}", "start_s": start, "end_s": start + length,
                           "retry": retry})
        if own == "own" and policy == "fixed" and draw(st.booleans()):
            events.append({"kind": "heartbeat_change", "app": f"a{i}", "at_s": draw(st.floats(0.0, duration_s)),
                           "interval_s": draw(st.floats(5.0, 900.0))})
    for _ in range(draw(st.integers(0 if events else 1, 2))):
        events.append({"kind": "nat_change", "at_s": draw(st.floats(0.0, duration_s))}
                      | ({"nat_timeout_s": draw(st.floats(20.0, 1800.0))} if draw(st.booleans()) else {}))
    nat = draw(st.one_of(st.none(), st.floats(20.0, 1800.0)))
    tcp = {"retransmit": draw(st.booleans()), "rto_s": draw(st.floats(0.2, 5.0)), "retries": draw(st.integers(0, 15)),
           "syn_rto_s": draw(st.floats(0.2, 5.0)), "syn_retries": draw(st.integers(0, 6)),
           "app_timeout_s": draw(st.sampled_from([10.0, draw(st.floats(0.2, 900.0))]))}
    lte = {"tail_s": draw(st.floats(0.5, 30.0)), "t3412_s": draw(st.sampled_from([float("inf"), 600.0]))}
    network = {"radio": draw(st.sampled_from(["umts", "lte", "nr"])), "tcp": tcp, "overrides": {"lte": lte}}
    groups = [{"name": f"g{k}", "devices": draw(st.integers(1, 25)), "radio": draw(st.sampled_from(["umts", "lte", "nr"])),
               "push_interval_s": draw(st.floats(30.0, 1800.0)),
               "apps": {a["name"]: draw(st.floats(0.0, 1.0)) for a in apps}} for k in range(draw(st.integers(1, 2)))]
    sim = {"duration_s": duration_s, "seed": draw(st.integers(0, 2**32)), "bin_s": draw(st.sampled_from([60.0, 300.0]))}
    try:
        return scenario(network=network | ({"nat_timeout_s": nat} if nat else {}), apps=apps, groups=groups,
                        events=events, simulation=sim, calls={"per_hour": draw(st.floats(0.0, 5.0))})
    except ScenarioError:  # overlapping outages of one app, or retries the budget refuses
        assume(False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(per_device_event_scenarios())
def test_random_per_device_event_scenarios_give_the_same_logs_and_results(rs) -> None:
    assert rs.engine == "fast"
    assert_same_logs(rs)
    assert_same_results(rs)


def test_chunks_and_blocks_do_not_change_anything(monkeypatch) -> None:
    """Several chunks per group (one draw block each) and two groups, across block boundaries."""
    monkeypatch.setattr(fast, "CHUNK_BLOCKS", 1)
    monkeypatch.setattr(fast, "FIRST_CHUNK_BLOCKS", 1)
    rs = scenario(apps=[{"name": "chat", "heartbeat": {"policy": "adaptive", "jitter": 0.1},
                         "messages": {"per_hour": 12.0, "incoming_share": 0.7}},
                        {"name": "mail", "connection": "push", "messages": {"per_hour": 3.0}}],
                  network={"radio": "lte", "nat_timeout_s": 400.0},
                  groups=[{"name": "a", "devices": 2100, "apps": {"chat": 0.9, "mail": 0.5}},
                          {"name": "b", "devices": 1030, "radio": "umts", "apps": {"chat": 0.5, "mail": 1.0}}],
                  simulation={"duration_s": 1800.0, "seed": 3, "bin_s": 60.0},
                  calls={"per_hour": 0.5, "per_hour_by_type": {"voip": 0.5}})  # partners within each block
    assert len(list(fast.chunks(rs))) == 5
    assert_same_logs(rs)


CLOSED = {"controlplane": {"nodes": {"eNB": {"messages_per_s": 100.0}}}}


def test_auto_picks_fast_unless_the_compiled_closed_loop_lacks_part_of_the_scenario() -> None:
    assert scenario().engine == "fast"
    assert scenario(**CLOSED).engine == "fast"  # the compiled closed loop (sim.engine.closed)
    nat = {"kind": "nat_change", "at_s": 10.0, "nat_timeout_s": 60.0}
    assert scenario(events=[nat]).engine == "fast"  # feedback per device only
    assert scenario(events=[nat], **CLOSED).engine == "fast"  # behind a limited node: compiled too
    barring = {"kind": "access_barring", "start_s": 10.0, "end_s": 20.0, "barred_share": 0.5}
    assert scenario(events=[barring]).engine == "fast"  # an overload control: the compiled closed loop
    ran = {"kind": "ran_outage", "node": "eNB", "start_s": 10.0, "end_s": 20.0}
    assert scenario(events=[ran]).engine == "fast"
    assert scenario(events=[ran, {**ran, "start_s": 30.0, "end_s": 40.0}]).engine == "fast"
    assert scenario(events=[{**ran, "start_s": 10.0 * k, "end_s": 10.0 * k + 5.0} for k in range(63)]
                    ).engine == "des"  # more than 62: SimPy's alone
    restart = {"kind": "core_restart", "node": "MME", "at_s": 10.0}
    assert scenario(events=[nat, restart], **CLOSED).engine == "fast"
    adaptive = [{"name": "chat", "heartbeat": {"policy": "adaptive"}}]
    assert scenario(events=[nat], apps=adaptive).engine == "des"
    assert scenario(apps=adaptive, **CLOSED).engine == "des"
    assert scenario(simulation__engine="des", **CLOSED).engine == "des"


def test_fast_engine_on_a_closed_loop_it_does_not_model_is_a_one_line_error(tmp_path) -> None:
    adaptive = [{"name": "chat", "heartbeat": {"policy": "adaptive"}}]
    with pytest.raises(ScenarioError, match=r"simulation.engine: the fast engine does not model adaptive heartbeats"):
        scenario(simulation__engine="fast", apps=adaptive, **CLOSED)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["run", "scenarios/core-restart.toml", "--engine", "fast", "--out", str(out),
                                   "--set", 'apps[0].heartbeat={policy="adaptive"}'])
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and "simulation.engine" in res.output and "adaptive" in res.output
    assert not out.exists()


def test_cli_says_which_engine_auto_picked(tmp_path) -> None:
    res = CliRunner().invoke(cli, ["run", "--set", "groups[0].devices=20", "--no-plots", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "engine: fast (auto: open loop)" in res.output


def test_worker_processes_give_bit_identical_results() -> None:
    rs = scenario(apps=[{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 270.0, "jitter": 0.1},
                         "messages": {"per_hour": 10.0, "incoming_share": 0.5}}],
                  network={"radio": "umts", "nat_timeout_s": 250.0},
                  groups=[{"name": "a", "devices": 9000, "apps": {"chat": 0.9}}],
                  simulation={"duration_s": 1200.0, "seed": 5, "bin_s": 60.0})
    one, two = simulate(rs), simulate(rs, workers=2)
    assert one.summary == two.summary
    for name in ("devices", "apps", "timeseries"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name), check_exact=True)


def test_cli_runs_the_engine_asked_for(tmp_path) -> None:
    res = CliRunner().invoke(cli, ["run", "--engine", "des", "--set", "groups[0].devices=5", "--no-plots",
                                   "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "engine: des (simulation.engine)" in res.output
    assert '"engine": "des"' in (tmp_path / "summary.json").read_text(encoding="utf-8")


MQTT = str(Path(__file__).parent / "data" / "mqtt-keepalive-20s.pcap")


@pytest.mark.parametrize("radio", ["lte", "umts", "nr"])
@pytest.mark.parametrize("nat_s", [None, 15.0, 300.0])
def test_replayed_captures_give_the_same_logs_and_results(tmp_path, radio, nat_s) -> None:
    """Apps replaying captures beside a modelled one: the MQTT keepalive, and a written capture whose bursts
    start with the server's packet (pages), hold large packets (FACH -> DCH) and last longer than the burst gap."""
    from tracefiles import frame, write_pcap

    packets = [(t, frame(up, size)) for t, up, size in ((0.0, False, 1400), (0.4, True, 60), (1.2, False, 1400),
                                                        (2.5, True, 60), (3.9, False, 900), (50.0, True, 700),
                                                        (50.1, False, 80), (130.0, False, 300))]
    packets.append((60.0, frame(True, 100, server="198.51.100.7", port=80, client_port=41000)))  # another flow
    push = write_pcap(tmp_path / "push.pcap", sorted(packets))
    apps = [{"name": "mqtt", "traffic": {"trace": MQTT, "flow": ":18830"}},
            {"name": "push", "traffic": {"trace": str(push), "flow": ":443"}},
            {"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 90.0}, "messages": {"per_hour": 6.0}}]
    rs = scenario(apps=apps, network={"radio": radio} | ({"nat_timeout_s": nat_s} if nat_s else {}),
                  groups=[{"name": "a", "devices": 300, "apps": {"mqtt": 0.7, "push": 0.6, "chat": 0.5}}],
                  simulation={"duration_s": 1800.0, "seed": 11, "bin_s": 60.0})
    assert_same_logs(rs)
    assert_same_results(rs)
