"""The closed loop: promotions queue at capacity-limited nodes, rejects make devices retry."""
from __future__ import annotations

from conftest import run, scenario

APPS = [{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 60.0, "jitter": 0.2},
         "messages": {"per_hour": 20.0, "up_bytes": 400, "down_bytes": 1500}}]
GROUPS = [{"name": "phones", "devices": 300, "apps": {"chat": 1.0}}]
SIM = {"duration_s": 1800.0, "seed": 3, "bin_s": 60.0, "engine": "des"}  # the open-loop runs compared on DES too


def _run(radio: str = "lte", nodes: dict | None = None, **controlplane):
    cp = {"nodes": nodes or {}} | controlplane
    return run(scenario(network={"radio": radio}, apps=APPS, groups=GROUPS, simulation=SIM, controlplane=cp))


def test_ample_capacity_gives_the_unlimited_results() -> None:
    free = _run()
    for radio, nodes in (("lte", {"eNB": {"messages_per_s": 1e9, "devices_per_node": 100},
                                  "MME": {"messages_per_s": 1e9}}),
                         ("umts", {"RNC": {"messages_per_s": 1e9, "queue_limit": 5}})):
        unlimited = free if radio == "lte" else _run(radio)
        limited = _run(radio, nodes)
        summary = dict(limited.summary)
        cp = summary.pop("controlplane")
        assert summary == unlimited.summary
        assert limited.devices.equals(unlimited.devices)
        assert cp["rrc_rejects"] == cp["failed_sends"] == 0
        for name in nodes:
            assert cp[name]["rejected_procedures"] == 0 and cp[name]["wait_p95_s"] == 0.0
    assert cp["RNC"]["instances"] == 1


def test_node_load_matches_the_logged_signalling_and_is_conserved() -> None:
    res = _run(nodes={"MME": {"messages_per_s": 300.0}})
    cp = res.summary["controlplane"]["MME"]
    # no queue limit and no guard: nothing is rejected, every procedure is carried or in the system
    assert cp["rejected_procedures"] == 0
    assert cp["offered_procedures"] >= cp["in_system_at_end"]
    assert cp["offered_messages"] == res.summary["signalling"]["by_node"]["MME"]
    # utilization = offered work / capacity over the run (Little's law for the servers)
    expected_util = cp["carried_messages"] / 300.0 / SIM["duration_s"]
    assert abs(cp["utilization"] - expected_util) < 0.01


def test_overload_rejects_delays_and_drops_sends() -> None:
    light = _run(nodes={"MME": {"messages_per_s": 1000.0, "queue_limit": 20, "guard_s": 1.0}})
    heavy = _run(nodes={"MME": {"messages_per_s": 60.0, "queue_limit": 20, "guard_s": 1.0}}, max_attempts=2)
    lc, hc = light.summary["controlplane"], heavy.summary["controlplane"]
    assert lc["MME"]["rejected_procedures"] == 0 and lc["failed_sends"] == 0
    assert hc["MME"]["utilization"] > 0.9
    assert hc["MME"]["rejected_procedures"] > 0 and hc["rrc_rejects"] > 0 and hc["failed_sends"] > 0
    assert hc["MME"]["wait_p95_s"] > lc["MME"]["wait_p95_s"]
    # a guard of 1 s: no carried procedure waited longer
    assert hc["MME"]["wait_p95_s"] <= 1.0
    # dropped sends never reach the radio: fewer promotions than offered by the same traffic
    assert heavy.summary["rrc"]["promotions_total"] < light.summary["rrc"]["promotions_total"]


def test_state_time_still_sums_to_the_duration_under_overload() -> None:
    for radio, node in (("lte", "MME"), ("umts", "RNC"), ("nr", "gNB")):
        res = _run(radio, nodes={node: {"messages_per_s": 80.0, "queue_limit": 10, "guard_s": 2.0}})
        cols = [c for c in res.devices.columns if c.startswith("time_s_")]
        assert (abs(res.devices[cols].sum(axis=1) - SIM["duration_s"]) < 1e-6).all(), radio
        assert (res.devices[cols] >= 0).all().all(), radio
        s = res.summary["signalling"]
        assert sum(s["by_node"].values()) == s["messages_total"] == sum(s["by_procedure"].values())


def test_per_bin_node_series_add_up_to_the_run_totals() -> None:
    res = _run(nodes={"MME": {"messages_per_s": 70.0, "queue_limit": 20, "guard_s": 1.0}})
    ts, cp = res.timeseries, res.summary["controlplane"]["MME"]
    weights = (ts.t_end_s - ts.t_start_s) / SIM["duration_s"]
    # services still running at the end are not in the per-bin series: at most one per processor
    assert abs((ts.utilization_MME * weights).sum() - cp["utilization"]) < 1.0 / SIM["duration_s"] * 10
    assert ts.offered_MME.sum() == cp["offered_messages"]
    assert ts.carried_MME.sum() == cp["carried_messages"]
    assert ts.rejected_MME.sum() == cp["rejected_procedures"]
    assert (ts.queue_MME >= 0).all() and (ts.utilization_MME <= 1.0 + 1e-9).all()


def test_a_loss_node_rejects_exactly_what_exceeds_its_processors_and_each_reject_costs_two_messages() -> None:
    # n devices re-attach at the same instant after a RAN outage; an eNB with k processors and no
    # waiting room carries k attaches and rejects the rest at once. Worked by hand:
    # attach eNB 16 / MME 18 / S-GW 6 / HSS 4 / P-GW 2, rrc_reject eNB 2 (TS 36.331 §5.3.3); one attempt each.
    n, k = 7, 3
    apps = [{"name": "chat", "heartbeat": {"policy": "none"}}]
    res = run(scenario(network={"radio": "lte"}, apps=apps,
                       events=[{"kind": "ran_outage", "node": "eNB", "start_s": 100.0, "end_s": 200.0}],
                       controlplane={"nodes": {"eNB": {"messages_per_s": 100.0, "servers": k, "queue_limit": 0}},
                                     "max_attempts": 1},
                       groups=[{"name": "p", "devices": n, "apps": {}}],
                       simulation={"duration_s": 600.0, "seed": 1, "bin_s": 60.0}))
    s, enb = res.summary, res.summary["controlplane"]["eNB"]
    assert (enb["offered_procedures"], enb["carried_procedures"], enb["rejected_procedures"]) == (n, k, n - k)
    assert (enb["offered_messages"], enb["carried_messages"], enb["rejected_messages"]) == (16 * n, 16 * k,
                                                                                           16 * (n - k))
    assert enb["reject_messages"] == 2 * (n - k) and enb["in_system_at_end"] == 0
    assert s["controlplane"]["failed_attaches"] == n - k
    by_proc = s["signalling"]["by_procedure"]
    assert by_proc["rrc_reject"] == s["signalling"]["reject_messages_total"] == 2 * (n - k)
    assert by_proc["attach"] == k * (16 + 18 + 6 + 4 + 2)
    assert s["signalling"]["by_node"] == {"eNB": 16 * k + 2 * (n - k), "MME": 18 * k, "S-GW": 6 * k, "HSS": 4 * k,
                                          "P-GW": 2 * k}
    assert s["apps"]["network"]["signalling_messages"] == s["signalling"]["messages_total"]
    assert res.timeseries["rejected_eNB"].sum() == n - k


def test_failed_calls_count_only_what_was_exchanged() -> None:
    # A loss RNC that voice calls overload: a rejected call exchanged the RRC request and reject
    # (2), not the 40 setup messages it never had processed. No periodic RAU: a node rejecting one
    # (timer-driven, nobody waits) would count as a rejected procedure that no call failed for.
    res = run(scenario(network={"radio": "umts", "overrides": {"umts": {"t3312_s": float("inf")}}}, apps=[{"name": "chat", "heartbeat": {"policy": "none"}}],
                       calls={"per_hour": 60.0},
                       controlplane={"nodes": {"RNC": {"messages_per_s": 20.0, "queue_limit": 0}}},
                       groups=[{"name": "p", "devices": 100, "apps": {}}],
                       simulation={"duration_s": 600.0, "seed": 3, "bin_s": 60.0}))
    rnc, calls = res.summary["controlplane"]["RNC"], res.summary["calls"]
    assert rnc["rejected_procedures"] > 0 and calls["failed"] >= rnc["rejected_procedures"]
    assert calls["messages_by_node"]["RNC"] == rnc["carried_messages"] + rnc["reject_messages"]
    assert rnc["reject_messages"] == 2 * rnc["rejected_procedures"]
