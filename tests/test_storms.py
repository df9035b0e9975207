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
    # An outage of another app on no device changes nothing for the others.
    apps = [{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 120.0}},
            {"name": "other", "heartbeat": {"policy": "fixed", "interval_s": 300.0}}]
    groups = [{"name": "p", "devices": 40, "apps": {"chat": 1.0, "other": 0.0}}]
    plain = run(scenario(apps=apps, groups=groups))
    event = {"kind": "server_outage", "app": "other", "start_s": 100.0, "end_s": 200.0}
    closed = run(scenario(apps=apps, groups=groups, events=[event]))
    summary = dict(closed.summary)
    summary.pop("controlplane")
    summary.pop("events")
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
