"""Signalling storms: a server outage and the reconnect flood, by retry policy."""
from __future__ import annotations

import sim
from conftest import run, scenario

POLICIES = {"immediate": [], "backoff+jitter": ['events[0].retry.policy="exponential"', "events[0].retry.jitter=true"]}


def _peak_after_recovery(overrides: list[str]) -> tuple[int, dict]:
    res = sim.run("scenarios/reconnect-storm.toml", overrides=["groups[0].devices=1500", *overrides])
    ts = res.timeseries
    return int(ts[ts.t_start_s >= 1800.0].messages_total.max()), res.summary


def test_backoff_with_jitter_lowers_the_recovery_peak() -> None:
    immediate, s_imm = _peak_after_recovery(POLICIES["immediate"])
    backoff, s_bo = _peak_after_recovery(POLICIES["backoff+jitter"])
    assert backoff < 0.5 * immediate
    # every client reconnects after the outage in both cases
    assert s_imm["apps"]["im"]["reconnects"] > 1500 and s_bo["apps"]["im"]["reconnects"] > 1500


def test_outage_free_scenario_is_unchanged_by_the_closed_loop() -> None:
    # An outage of another app on no device changes nothing for the others (SimPy's closed loop against its
    # open loop; the fast engine's equality to it is tests/test_engines.py's)
    apps = [{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 120.0}},
            {"name": "other", "heartbeat": {"policy": "fixed", "interval_s": 300.0}}]
    groups = [{"name": "p", "devices": 40, "apps": {"chat": 1.0, "other": 0.0}}]
    plain = run(scenario(apps=apps, groups=groups, simulation__engine="des"))
    event = {"kind": "server_outage", "app": "other", "start_s": 100.0, "end_s": 200.0}
    closed = run(scenario(apps=apps, groups=groups, events=[event], simulation__engine="des"))
    summary = dict(closed.summary)
    summary.pop("controlplane")
    summary.pop("events")
    summary["signalling"] = {k: v for k, v in summary["signalling"].items() if k != "storm"}  # the events' peak
    assert summary == plain.summary


def test_clients_hold_messages_and_resume_beating_after_recovery() -> None:
    apps = [{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 100.0},
             "messages": {"per_hour": 30.0, "up_bytes": 300, "down_bytes": 300}}]
    event = {"kind": "server_outage", "app": "chat", "start_s": 1000.0, "end_s": 1500.0,
             "retry": {"policy": "fixed"}}
    res = run(scenario(apps=apps, events=[event], groups=[{"name": "p", "devices": 20, "apps": {"chat": 1.0}}]))
    chat = res.summary["apps"]["chat"]
    assert res.summary["traffic"]["messages_held"] > 0
    # no heartbeats during the outage (attempts instead), then beats again: fewer than without it
    assert 20 * 25 < chat["heartbeats"] < 20 * 36
    assert chat["reconnects"] >= 20 * (500 // 12.5) * 0.8  # an attempt every 10 + 2.5 s per client


def test_app_update_changes_the_heartbeat_mid_run() -> None:
    apps = [{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 60.0}}]
    event = {"kind": "heartbeat_change", "app": "chat", "at_s": 1800.0, "interval_s": 600.0}
    res = run(scenario(apps=apps, events=[event], groups=[{"name": "p", "devices": 30, "apps": {"chat": 1.0}}]))
    per_device = res.summary["apps"]["chat"]["heartbeats"] / 30
    assert 30 + 2 <= per_device <= 30 + 4  # 30 beats at 60 s, then 3 at 600 s (phase kept)
    ts = res.timeseries
    before = ts[ts.t_end_s <= 1800].promotions.sum()
    after = ts[ts.t_start_s >= 1800].promotions.sum()
    assert after < before / 5


def test_nat_change_mid_run_forces_reconnects_from_then_on() -> None:
    apps = [{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 300.0}}]
    event = {"kind": "nat_change", "at_s": 1800.0, "nat_timeout_s": 100.0}
    groups = [{"name": "p", "devices": 30, "apps": {"chat": 1.0}}]
    # without TCP retransmissions each beat that finds its connection dropped reconnects at once
    res = run(scenario(apps=apps, events=[event], groups=groups, network__tcp__retransmit=False))
    chat = res.summary["apps"]["chat"]
    assert chat["heartbeats"] == 30 * 12
    assert chat["reconnects"] == 30 * 6  # every beat after the change finds its connection dropped
    # with them, each goes with the reconnect 10 s later (the app's timeout), if that is within the run
    chat = run(scenario(apps=apps, events=[event], groups=groups)).summary["apps"]["chat"]
    assert chat["reconnects"] == chat["heartbeats"] - 30 * 6 >= 30 * 6 - 1


def _overload_run(event: dict) -> tuple:
    apps = [{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 120.0, "jitter": 0.1}}]
    res = run(scenario(apps=apps, events=[event], groups=[{"name": "p", "devices": 60, "apps": {"chat": 1.0}}]))
    ts = res.timeseries
    inside = ts[(ts.t_start_s >= 1200) & (ts.t_end_s <= 1800)].promotions.sum()
    before = ts[ts.t_end_s <= 1200].promotions.sum() / 2  # 1200 s before against 600 s inside
    return res.summary, inside, before


def test_access_barring_holds_back_promotions_while_it_lasts() -> None:
    summary, inside, before = _overload_run({"kind": "access_barring", "start_s": 1200.0, "end_s": 1800.0,
                                             "barred_share": 0.9, "barring_time_s": 64.0})
    assert summary["controlplane"]["barred"] > 0
    assert inside < 0.5 * before
    free, inside_free, _ = _overload_run({"kind": "access_barring", "start_s": 1200.0, "end_s": 1800.0,
                                          "barred_share": 0.0})
    assert free["controlplane"]["barred"] == 0 and inside_free > 0.8 * before


def test_core_overload_refuses_service_requests_with_an_extended_wait() -> None:
    summary, inside, before = _overload_run({"kind": "core_overload", "start_s": 1200.0, "end_s": 1800.0,
                                             "extended_wait_s": 120.0})
    cp = summary["controlplane"]
    assert cp["core_rejects"] > 0 and cp["failed_sends"] > 0
    assert inside == 0  # every promotion from RRC_IDLE reaches the MME, which refuses it
    assert before > 0


def test_ran_outage_silences_its_devices_then_everyone_reattaches() -> None:
    apps = [{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 120.0, "jitter": 0.1},
             "messages": {"per_hour": 10.0, "up_bytes": 300, "down_bytes": 300}}]
    event = {"kind": "ran_outage", "node": "eNB", "start_s": 1200.0, "end_s": 1500.0}
    # one eNB of one cell pages: the background paging stays well below the re-attach burst
    one_cell = {"lte": {"paging_areas": {"paging": {"base_stations": 1, "cells_per_base_station": 1}}}}
    res = run(scenario(network={"radio": "lte", "nat_timeout_s": 1800.0, "overrides": one_cell}, apps=apps,
                       events=[event], groups=[{"name": "p", "devices": 100, "apps": {"chat": 1.0}}]))
    s, ts = res.summary, res.timeseries
    # every device, once: LTE attach eNB 16, MME 18, S-GW 6, HSS 4, P-GW 2 (TS 23.401 §5.3.2.1)
    assert s["signalling"]["by_procedure"]["attach"] == 100 * (16 + 18 + 6 + 4 + 2)
    assert s["apps"]["network"]["signalling_messages"] == 100 * (16 + 18 + 6 + 4 + 2)
    assert ts[(ts.t_start_s >= 1200) & (ts.t_end_s <= 1500)].promotions.sum() == 0
    burst = ts[ts.t_start_s == 1500].messages_total.iloc[0]
    assert burst > 2 * ts[ts.t_end_s <= 1200].messages_total.mean()  # 4,600 attach messages at once
    assert s["apps"]["chat"]["reconnects"] >= 100  # IP connections were lost
    assert s["traffic"]["messages_held"] > 0
    total = s["signalling"]["messages_total"]
    assert sum(a["signalling_messages"] for a in s["apps"].values()) == total


def test_each_client_reconnects_once_after_an_outage_and_logs_no_empty_transfer() -> None:
    # 5 clients, a 100 s outage: each completes one reconnect (the full TCP + TLS + login bytes) after it;
    # its failed attempts before are their SYNs only (a recovery once also logged an empty RECONNECT)
    from conftest import run_log
    from sim.engine.log import RECONNECT
    rs = scenario(apps=[{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 60.0}}],
                  groups=[{"name": "g", "devices": 5, "apps": {"chat": 1.0}}],
                  events=[{"kind": "server_outage", "app": "chat", "start_s": 100.0, "end_s": 200.0,
                           "retry": {"policy": "fixed", "interval_s": 30.0}}], simulation={"duration_s": 600.0})
    log = run_log(rs)
    kind, up, packets = log.x_kind, log.x_up_bytes, log.x_packets
    reconnect = kind == RECONNECT
    assert (packets[reconnect] > 0).all()
    full = rs.scenario.apps[0].reconnect.up_bytes
    completed = reconnect & (up >= full)
    assert sorted(log.x_device[completed].tolist()) == list(range(5))
    assert run(rs).summary["apps"]["chat"]["reconnects"] == int(reconnect.sum())
