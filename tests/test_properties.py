"""Invariants on random small scenarios (hypothesis): conservation, state time, determinism."""
from __future__ import annotations

import math

import numpy as np
from conftest import run, scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.population.draws import _by_device_then_time
from sim.radio.tables import build_tables

policies = st.sampled_from(["fixed", "adaptive", "none"])


@st.composite
def scenarios(draw):
    radio = draw(st.sampled_from(["umts", "lte", "nr"]))
    overrides = {}
    if radio == "umts":
        overrides = {"umts": {"fast_dormancy": draw(st.sampled_from(["off", "legacy", "rel8"])),
                              "pch_enabled": draw(st.booleans())}}
    if radio == "nr":
        overrides = {"nr": {"inactive_enabled": draw(st.booleans())}}
    apps = []
    for i in range(draw(st.integers(1, 3))):
        policy = draw(policies)
        hb = {"policy": policy}
        if policy == "fixed":
            hb |= {"interval_s": draw(st.floats(5.0, 900.0)), "jitter": draw(st.sampled_from([0.0, 0.2]))}
        apps.append({"name": f"a{i}", "connection": draw(st.sampled_from(["own", "push"])), "heartbeat": hb,
                     "messages": {"per_hour": draw(st.floats(0.0, 60.0)), "up_bytes": draw(st.integers(0, 3000)),
                                  "down_bytes": draw(st.integers(0, 3000))}})
    nat = draw(st.one_of(st.none(), st.floats(60.0, 1800.0)))
    network = {"radio": radio, "overrides": overrides} | ({"nat_timeout_s": nat} if nat else {})
    groups = [{"name": "g", "devices": draw(st.integers(1, 12)),
               "apps": {a["name"]: draw(st.floats(0.0, 1.0)) for a in apps}}]
    sim = {"duration_s": draw(st.floats(300.0, 3600.0)), "seed": draw(st.integers(0, 2**32)), "bin_s": 60.0}
    return scenario(network=network, apps=apps, groups=groups, simulation=sim)


def assert_conserved(res, rs) -> None:
    """Signalling totals agree by node, procedure, app, device and bin; every device's state
    time sums to the run's duration and none is negative."""
    s = res.summary
    total = s["signalling"]["messages_total"]
    assert sum(s["signalling"]["by_node"].values()) == total
    assert sum(s["signalling"]["by_procedure"].values()) == total
    assert sum(a["signalling_messages"] for a in s["apps"].values()) == total
    assert res.devices["signalling_messages"].sum() == total
    assert res.timeseries["messages_total"].sum() == total
    cols = [c for c in res.devices.columns if c.startswith("time_s_")]
    assert (abs(res.devices[cols].sum(axis=1) - rs.scenario.simulation.duration_s) < 1e-6).all()
    assert (res.devices[cols] >= -1e-9).all().all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_messages_are_conserved_and_state_time_sums_to_duration(rs) -> None:
    res = run(rs)
    s = res.summary
    assert_conserved(res, rs)
    assert res.timeseries["promotions"].sum() == s["rrc"]["promotions_total"] == res.devices["promotions"].sum()
    assert math.isclose(sum(s["rrc"]["time_share_by_state"].values()), 1.0, rel_tol=1e-9)
    # time-averaged occupancy: every bin holds every device exactly once
    dev_cols = [c for c in res.timeseries.columns if c.startswith("devices_")]
    assert (abs(res.timeseries[dev_cols].sum(axis=1) - s["devices"]) < 1e-6).all()
    assert sum(a["bytes"] for a in s["apps"].values()) == s["traffic"]["bytes_total"]
    assert 0.0 <= s["concentration"]["gini"] <= 1.0


def test_same_seed_gives_identical_results_and_another_seed_does_not() -> None:
    kw = dict(groups=[{"name": "phones", "devices": 50, "apps": {"chat": 0.8}}],
              apps=[{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 270.0, "jitter": 0.1},
                     "messages": {"per_hour": 6.0, "up_bytes": 400, "down_bytes": 1500}}])
    a, b = run(scenario(**kw)), run(scenario(**kw))
    assert a.summary == b.summary
    assert a.devices.equals(b.devices) and a.timeseries.equals(b.timeseries)
    c = run(scenario(simulation={"duration_s": 3600.0, "seed": 8, "bin_s": 60.0}, **kw))
    assert c.summary["signalling"] != a.summary["signalling"]


def test_a_device_results_do_not_depend_on_the_population_after_it() -> None:
    # Random inputs are tied to fixed device blocks: adding devices must not change earlier ones.
    kw = dict(apps=[{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 270.0, "jitter": 0.1},
                     "messages": {"per_hour": 6.0, "up_bytes": 400, "down_bytes": 1500}}])
    small = run(scenario(groups=[{"name": "phones", "devices": 30, "apps": {"chat": 0.8}}], **kw))
    large = run(scenario(groups=[{"name": "phones", "devices": 1500, "apps": {"chat": 0.8}}], **kw))
    assert small.devices.equals(large.devices.iloc[:30])


@st.composite
def closed_loop_scenarios(draw, outages: bool = False):
    """Small closed loops: limited nodes (some, or with ``outages`` at least one) and storm events (with
    ``outages``: a server outage of a drawn retry policy, window, TCP and NAT timeout, and no other event)."""
    radio = draw(st.sampled_from(["umts", "lte", "nr"]))
    ran, core = {"umts": ("RNC", "SGSN"), "lte": ("eNB", "MME"), "nr": ("gNB", "AMF")}[radio]
    nodes = {}
    limited = draw(st.sampled_from([(ran,), (core,), (ran, core)])) if outages else ()
    for node in (ran, core):
        if node in limited or (not outages and draw(st.booleans())):
            nodes[node] = {"messages_per_s": draw(st.floats(5.0, 500.0)), "devices_per_node": draw(st.integers(1, 10)),
                           "queue_limit": draw(st.one_of(st.none(), st.integers(0, 5))),
                           "guard_s": draw(st.one_of(st.none(), st.floats(0.5, 5.0)))}
    duration = 1200.0
    network = {"radio": radio, "nat_timeout_s": 600.0}
    if outages:
        start = draw(st.floats(50.0, 780.0))
        events = [{"kind": "server_outage", "app": "a0", "start_s": start, "end_s": start + draw(st.floats(20.0, 400.0)),
                   "retry": {"policy": draw(st.sampled_from(["immediate", "fixed", "exponential"])),
                             "jitter": draw(st.booleans()), "attempt_timeout_s": draw(st.floats(2.0, 20.0)),
                             "interval_s": draw(st.floats(0.5, 30.0)), "initial_s": draw(st.floats(0.5, 10.0))}}]
        network |= {"nat_timeout_s": draw(st.sampled_from([60.0, 250.0, 600.0])),
                    "tcp": {"retransmit": draw(st.booleans())}}
    else:
        events = draw(st.lists(st.sampled_from([
            {"kind": "server_outage", "app": "a0", "start_s": 200.0, "end_s": 500.0,
             "retry": {"policy": "exponential", "jitter": True}},
            {"kind": "access_barring", "start_s": 100.0, "end_s": 400.0, "barred_share": 0.5},
            {"kind": "core_overload", "start_s": 600.0, "end_s": 700.0, "extended_wait_s": 20.0},
            {"kind": "ran_outage", "node": ran, "start_s": 800.0, "end_s": 900.0},
            {"kind": "heartbeat_change", "app": "a0", "at_s": 300.0, "interval_s": 45.0},
            {"kind": "nat_change", "at_s": 650.0, "nat_timeout_s": 60.0},
            {"kind": "core_restart", "node": core, "at_s": 450.0, "backoff": True, "t3346_min_s": 30.0,
             "t3346_max_s": 90.0},
            {"kind": "core_restart", "node": core, "at_s": 750.0, "reattach": "immediate", "spread_s": 20.0},
        ]), max_size=3, unique_by=lambda e: e["kind"]))
    apps = [{"name": "a0", "heartbeat": {"policy": "fixed", "interval_s": draw(st.floats(20.0, 300.0)), "jitter": 0.1},
             "messages": {"per_hour": draw(st.floats(0.0, 60.0)), "up_bytes": 300, "down_bytes": 900}},
            {"name": "a1", "connection": "push", "messages": {"per_hour": 10.0, "up_bytes": 100, "down_bytes": 100}}]
    return scenario(network=network, apps=apps, events=events,
                    controlplane={"nodes": nodes, "max_attempts": draw(st.integers(1, 3))},
                    calls={"per_hour": draw(st.floats(0.0, 20.0))}, sms={"per_hour": draw(st.floats(0.0, 20.0))},
                    groups=[{"name": "g", "devices": draw(st.integers(1, 15)), "apps": {"a0": 1.0, "a1": 0.5}}],
                    simulation={"duration_s": duration, "seed": draw(st.integers(0, 2**32)), "bin_s": 60.0})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(closed_loop_scenarios())
def test_closed_loop_invariants(rs) -> None:
    res = run(rs)
    s = res.summary
    assert_conserved(res, rs)
    sig, limited = s["signalling"], rs.scenario.controlplane.nodes
    assert sig["counts"] == "exchanged"
    assert sig["reject_messages_total"] == sig["by_procedure"]["rrc_reject"] + sig["by_procedure"]["service_reject"]
    for name in limited:
        node = s["controlplane"][name]
        # offered = carried + rejected + still in the node at the end, procedures and messages
        assert node["offered_procedures"] == (node["carried_procedures"] + node["rejected_procedures"]
                                              + node["in_system_at_end"])
        assert node["offered_messages"] == (node["carried_messages"] + node["rejected_messages"]
                                            + node["in_system_messages_at_end"])
        assert 0.0 <= node["utilization"] <= 1.0 + 1e-9
        if len(limited) == 1:
            # exchanged at the node = carried + reject messages, plus the pages' share at the other
            # base stations of the paging area (other instances, not modelled), plus demotions logged
            # when they fell due and still waiting at the end (docs/model.md §3, §9)
            tables = build_tables(rs.profiles, rs.radios, rs.scenario.simulation.seed, len(rs.scenario.apps))
            j = tables.nodes.index(name)
            occurrences = sig["occurrences_by_procedure"]
            elsewhere = sum(occurrences[p] * int(tables.messages[c, j] - tables.routed[c, j])
                            for c, (_, p) in enumerate(tables.procedures) if p in occurrences)
            # (voice calls' messages are a part of the signalling totals, docs/model.md §10)
            extra = sig["by_node"][name] - node["carried_messages"] \
                - node["reject_messages"] - elsewhere
            assert 0 <= extra <= node["in_system_messages_at_end"], (name, extra)
    calls = s["calls"]
    assert calls["attempts"] == calls["pending_at_end"] + res.timeseries["call_attempts"].sum()
    if "sms" in s:
        assert s["sms"]["attempts"] == s["sms"]["pending_at_end"] + res.timeseries["sms_attempts"].sum()
        assert s["apps"].get("sms", {}).get("signalling_messages", 0) == sum(s["sms"]["messages_by_node"].values())
    for event in s.get("events", []):
        if event["kind"] == "core_restart":  # every attempt is carried or rejected, or still under way at the end
            out = event["outcome"]
            assert out["reattached"] + out["rejected_attempts"] <= out["attach_attempts"]
            assert out["attach_attempts"] - out["reattached"] - out["rejected_attempts"] <= out["devices"]
            assert out["reattached"] <= out["devices"] <= rs.scenario.groups[0].devices
            assert out["backoff_waits"] <= out["rejected_attempts"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from([0.0, 1.5, 1.5 + 2**-40, 299.999, 300.0 - 2**-44])
                          | st.floats(0.0, 300.0, exclude_max=True)), max_size=60),
       st.sampled_from([300.0, 256.0, 0.75]))
def test_fast_device_time_order_is_exactly_lexsort(pairs, duration_s) -> None:
    # the one-key sort of message times must agree with lexsort, ties and near-ties included
    device = np.array([d for d, _ in pairs], dtype=np.int64)
    times = np.array([min(t, duration_s * 0.999) for _, t in pairs])
    np.testing.assert_array_equal(_by_device_then_time(device, times, duration_s), np.lexsort((times, device)))
