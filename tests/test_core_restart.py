"""Core restart: a core node loses its contexts and every device it served attaches again, on demand or at
once, through the MME and the HSS, its rejected attempts retried on T3411 / T3402 or after a T3346 back-off.

Hand-worked cases use the LTE profile's counts: attach eNB 16, MME 18, S-GW 6, HSS 4, P-GW 2 (46); a service
reject eNB 7, MME 2 (TS 24.301 §5.6.1.5); T3411 10 s, T3402 720 s after 5 attempts (TS 24.301 §5.5.1.2.6).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import run, run_log, scenario

import sim
from sim.cli import cli
from sim.engine.log import HEARTBEAT, RECONNECT
from sim.errors import ScenarioError
from sim.radio.tables import build_tables

ROOT = Path(__file__).resolve().parents[1]
ATTACH = {"eNB": 16, "MME": 18, "S-GW": 6, "HSS": 4, "P-GW": 2}
AT_S = 250.0
SIM = {"duration_s": 600.0, "seed": 5, "bin_s": 10.0}
BEATING = [{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 100.0}}]
SILENT = [{"name": "chat", "heartbeat": {"policy": "none"}}]
NO_TAU = {"lte": {"t3412_s": float("inf")}}  # no periodic updates: only the attaches reach the nodes


def restart(**fields) -> dict:
    return {"kind": "core_restart", "node": "MME", "at_s": AT_S, **fields}


def _rs(event: dict, apps: list = BEATING, devices: int = 3, nodes: dict | None = None, overrides: dict | None = None):
    return scenario(network={"radio": "lte", "overrides": overrides or {}}, apps=apps, events=[event],
                    controlplane={"nodes": nodes or {}}, simulation=SIM,
                    groups=[{"name": "p", "devices": devices, "apps": {"chat": 1.0}}])


def _records(rs, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time, device, owner) of every record of procedure ``name``, in time order."""
    log = run_log(rs)
    tables = build_tables(rs.profiles, rs.radios, rs.scenario.simulation.seed, len(rs.scenario.apps))
    mine = log.tr_proc == tables.procedures.index(("lte", name))
    order = np.argsort(log.tr_t[mine], kind="stable")
    return log.tr_t[mine][order], log.tr_device[mine][order], log.tr_owner[mine][order]


def test_on_demand_each_device_attaches_at_its_next_heartbeat() -> None:
    rs = _rs(restart())
    log = run_log(rs)
    tables = build_tables(rs.profiles, rs.radios, rs.scenario.simulation.seed, len(rs.scenario.apps))
    attach = log.tr_proc == tables.procedures.index(("lte", "attach"))
    reject = log.tr_proc == tables.procedures.index(("lte", "service_reject"))
    beats = log.x_kind == HEARTBEAT
    for device in range(3):
        # its first heartbeat after the restart: rejected as implicitly detached, then the attach, then the beat
        # itself, carrying the reconnect (the restart took the IP address with it)
        after = np.sort(log.x_t[beats & (log.x_device == device) & (log.x_t > AT_S)])[0]
        assert log.tr_t[attach & (log.tr_device == device)].tolist() == [after]
        assert log.tr_t[reject & (log.tr_device == device)].tolist() == [after]
        assert log.x_t[(log.x_kind == RECONNECT) & (log.x_device == device)].tolist() == [after]
    res = run(rs)
    s, out = res.summary, res.summary["events"][0]["outcome"]
    assert s["signalling"]["occurrences_by_procedure"]["attach"] == 3
    assert s["signalling"]["by_procedure"]["attach"] == 3 * sum(ATTACH.values())
    assert s["signalling"]["by_procedure"]["service_reject"] == 3 * (7 + 2)
    assert s["signalling"]["by_node"]["HSS"] == 3 * ATTACH["HSS"] and s["signalling"]["by_node"]["P-GW"] == 3 * 2
    assert s["apps"]["network"]["signalling_messages"] == 3 * sum(ATTACH.values())
    assert (out["devices"], out["implicit_detach_rejects"], out["attach_attempts"], out["rejected_attempts"],
            out["backoff_waits"], out["reattached"], out["not_reattached_at_end"]) == (3, 3, 3, 0, 0, 3, 0)
    assert 0.0 < out["reattach_max_s"] <= 100.0  # within one heartbeat interval
    assert out["peak_per_s"]["HSS"] == ATTACH["HSS"] / SIM["bin_s"] and out["baseline_per_s"]["HSS"] == 0.0


def test_immediate_reattach_with_unlimited_capacity_falls_within_the_spread() -> None:
    t, device, _ = _records(_rs(restart(reattach="immediate", spread_s=5.0)), "attach")
    assert sorted(device.tolist()) == [0, 1, 2]
    assert ((t >= AT_S) & (t <= AT_S + 5.0)).all() and len(set(t.tolist())) == 3  # drawn per device
    t0, _, _ = _records(_rs(restart(reattach="immediate")), "attach")
    assert t0.tolist() == [AT_S] * 3  # no spread: all at the restart
    res = run(_rs(restart(reattach="immediate", spread_s=5.0)))
    assert res.summary["signalling"]["occurrences_by_procedure"]["service_reject"] == 0  # nobody had to find out


# a loss MME (no waiting room) that carries one attach at a time (18 messages at 18 messages/s: 1 s each);
# three silent devices told at once (immediate, no spread) all ask at t = 250
ONE_AT_A_TIME = {"MME": {"messages_per_s": 18.0, "queue_limit": 0}}


def test_t3346_back_off_retries_the_rejected_attempts_after_the_back_off() -> None:
    # 250: device 0 carried, 1 and 2 rejected with T3346 = 100 s; 350: 1 carried, 2 rejected; 450: 2 carried
    rs = _rs(restart(reattach="immediate", backoff=True, t3346_min_s=100.0, t3346_max_s=100.0), apps=SILENT,
             nodes=ONE_AT_A_TIME, overrides=NO_TAU)
    t, device, _ = _records(rs, "attach")
    assert t.tolist() == [AT_S, AT_S + 100.0, AT_S + 200.0] and device.tolist() == [0, 1, 2]
    res = run(rs)
    out, mme = res.summary["events"][0]["outcome"], res.summary["controlplane"]["MME"]
    assert (out["attach_attempts"], out["rejected_attempts"], out["backoff_waits"], out["reattached"]) == (6, 3, 3, 3)
    assert (mme["offered_procedures"], mme["carried_procedures"], mme["rejected_procedures"]) == (6, 3, 3)
    assert mme["reject_messages"] == 3 * 2  # each reject: the request and the Attach Reject at the MME
    assert out["reattach_max_s"] == pytest.approx(200.0 + 1.0)  # the last attach, 1 s of MME work


def test_without_back_off_rejected_attempts_retry_on_t3411_then_t3402() -> None:
    # T3411 10 s with 2 attempts before T3402 (100 s here): 250: 0 carried; 260: 1 carried, 2 rejected again
    # (its second failure: T3402); 360: 2 carried
    overrides = {"lte": {"t3412_s": float("inf"), "attach_attempts": 2, "t3402_s": 100.0}}
    rs = _rs(restart(reattach="immediate"), apps=SILENT, nodes=ONE_AT_A_TIME, overrides=overrides)
    t, device, _ = _records(rs, "attach")
    assert t.tolist() == [AT_S, AT_S + 10.0, AT_S + 10.0 + 100.0] and device.tolist() == [0, 1, 2]
    out = run(rs).summary["events"][0]["outcome"]
    assert (out["attach_attempts"], out["rejected_attempts"], out["backoff_waits"]) == (6, 3, 0)
    # the default 5 attempts: 250, 260, 270, each one attach later
    t, _, _ = _records(_rs(restart(reattach="immediate"), apps=SILENT, nodes=ONE_AT_A_TIME, overrides=NO_TAU),
                       "attach")
    assert t.tolist() == [AT_S, AT_S + 10.0, AT_S + 20.0]


def test_a_silent_device_finds_out_at_its_periodic_update() -> None:
    # No traffic: the periodic TAU (T3412 = 100 s here) after the restart is rejected as implicitly detached
    # (a service reject's messages, owned by the mobility pseudo-app) and the device attaches then; its
    # periodic updates start again from the attach.
    rs = _rs(restart(), apps=SILENT, devices=1, overrides={"lte": {"t3412_s": 100.0}})
    tau, _, _ = _records(rs, "periodic_tau")
    attach, _, attach_owner = _records(rs, "attach")
    reject, _, reject_owner = _records(rs, "service_reject")
    assert len(attach) == 1 and reject.tolist() == attach.tolist() and AT_S < attach[0] <= AT_S + 100.0
    before = tau[tau < AT_S]
    assert attach[0] == pytest.approx(before[-1] + 100.0)  # the update that fell due found the context gone
    assert tau[tau > AT_S].tolist() == pytest.approx([attach[0] + 100.0 * k for k in (1, 2, 3)
                                                      if attach[0] + 100.0 * k < SIM["duration_s"]])
    apps = [a.name for a in rs.scenario.apps] + ["os-push", "network", "mobility", "voice"]
    assert apps[int(reject_owner[0])] == "mobility" and apps[int(attach_owner[0])] == "network"


def test_mobile_terminated_messages_wait_for_the_reattach() -> None:
    # A device whose only traffic is incoming: the MME cannot page it, so its messages wait (held) for its own
    # next contact, here its periodic update, and go with the reconnect after the attach.
    apps = [{"name": "chat", "heartbeat": {"policy": "none"},
             "messages": {"per_hour": 60.0, "up_bytes": 100, "down_bytes": 100, "incoming_share": 1.0}}]
    rs = _rs(restart(), apps=apps, devices=1, overrides={"lte": {"t3412_s": 300.0}})
    log = run_log(rs)
    attach, _, _ = _records(rs, "attach")
    waiting = (log.x_t > AT_S) & (log.x_t < attach[0])
    assert attach.size == 1 and not waiting.any()  # nothing reached it between the restart and its attach
    assert run(rs).summary["traffic"]["messages_held"] > 0


def test_only_the_restarted_instance_loses_its_devices() -> None:
    nodes = {"MME": {"messages_per_s": 1000.0, "devices_per_node": 2}}  # devices 0-1: MME[0], 2-3: MME[1]
    rs = _rs(restart(instance=1), devices=4, nodes=nodes)
    _, device, _ = _records(rs, "attach")
    assert sorted(device.tolist()) == [2, 3]
    assert run(rs).summary["events"][0]["outcome"]["devices"] == 2


def test_same_seed_same_storm_and_another_seed_another() -> None:
    event = restart(reattach="immediate", spread_s=5.0, backoff=True, t3346_min_s=20.0, t3346_max_s=60.0)
    nodes = {"MME": {"messages_per_s": 40.0, "queue_limit": 0}}
    a, b = run(_rs(event, devices=12, nodes=nodes)), run(_rs(event, devices=12, nodes=nodes))
    assert a.summary == b.summary and a.timeseries.equals(b.timeseries)
    assert a.summary["events"][0]["outcome"]["backoff_waits"] > 0
    c = run(scenario(network={"radio": "lte"}, apps=BEATING, events=[event], controlplane={"nodes": nodes},
                     simulation=SIM | {"seed": 6}, groups=[{"name": "p", "devices": 12, "apps": {"chat": 1.0}}]))
    assert c.summary["events"][0]["outcome"] != a.summary["events"][0]["outcome"]


def test_the_restart_of_an_sgsn_or_amf_reattaches_through_the_hlr_or_ausf_and_udm() -> None:
    for radio, node, db in (("umts", "SGSN", {"HLR": 6}), ("nr", "AMF", {"AUSF": 4, "UDM": 4})):
        res = run(scenario(network={"radio": radio}, apps=BEATING, simulation=SIM,
                           events=[{"kind": "core_restart", "node": node, "at_s": AT_S}],
                           groups=[{"name": "p", "devices": 3, "apps": {"chat": 1.0}}]))
        by_node = res.summary["signalling"]["by_node"]
        assert {n: by_node[n] for n in db} == {n: 3 * m for n, m in db.items()}, radio
        assert res.summary["events"][0]["outcome"]["reattached"] == 3


def test_a_restart_of_another_radio_s_core_is_refused() -> None:
    with pytest.raises(ScenarioError, match=r"events\[0\]\.node: no group uses a radio with node 'SGSN'"):
        _rs(restart(node="SGSN"))


BAD = [  # (the event's fields, the error's path and message)
    ({"node": "eNB"}, "events[0].node: unknown core node 'eNB' (SGSN, MME or AMF)"),
    ({"reattach": "later"}, "events[0].reattach: Input should be 'on_demand' or 'immediate'"),
    ({"spread_s": -1.0}, "events[0].spread_s: Input should be greater than or equal to 0"),
    ({"t3346_min_s": 0.5}, "events[0].t3346_min_s: Input should be greater than or equal to 1"),
    ({"t3346_min_s": 600.0, "t3346_max_s": 60.0}, "events[0].t3346_min_s: must not exceed t3346_max_s"),
    ({"at_s": 600.0}, "events[0].at_s: event falls after the run (simulation.duration_s)"),
    ({"instance": 4}, "events[0].instance: MME has no instance 4 serving devices"),
    ({"backof": True}, "events[0].backof: unknown key (misspelled?)"),
]


@pytest.mark.parametrize("fields,message", BAD, ids=[m.split(":")[0] + "-" + str(i) for i, (_, m) in enumerate(BAD)])
def test_a_bad_event_field_is_one_error_line_with_its_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           fields: dict, message: str) -> None:
    text = ('name = "bad"\n[simulation]\nduration_s = 600.0\n[[apps]]\nname = "chat"\n'
            '[[groups]]\nname = "p"\ndevices = 3\napps = { chat = 1.0 }\n[[events]]\nkind = "core_restart"\n')
    event = {"node": "MME", "at_s": AT_S} | fields
    text += "".join(f"{k} = {v!r}\n".replace("'", '"').replace("True", "true") for k, v in event.items())
    (tmp_path / "s.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run", "s.toml", "--out", "out"])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: s.toml: {message}") and result.output.count("\n") == 1, result.output
    assert not (tmp_path / "out").exists()


def test_the_budget_counts_every_rejected_reattach() -> None:
    # a loss MME that may reject every attempt: retried every second (T3346 at its 1 s floor) by 10^5 devices
    # for an hour is 3.6e8 attempts: refused before anything runs, naming the field
    groups = [{"name": "p", "devices": 100_000, "apps": {}}]
    nodes = {"MME": {"messages_per_s": 10.0, "queue_limit": 0}}
    with pytest.raises(ScenarioError, match=r"events\[0\]\.t3346_min_s: .*(memory|would take)"):
        scenario(apps=SILENT, groups=groups, controlplane={"nodes": nodes}, simulation={"duration_s": 3600.0},
                 events=[restart(backoff=True, t3346_min_s=1.0, t3346_max_s=1.0)])
    with pytest.raises(ScenarioError, match=r"network\.overrides\.lte\.t3411_s: .*(memory|would take)"):
        scenario(apps=SILENT, groups=groups, controlplane={"nodes": nodes}, simulation={"duration_s": 3600.0},
                 network={"radio": "lte", "overrides": {"lte": {"t3411_s": 1.0, "t3402_s": 1.0}}}, events=[restart()])
    scenario(apps=SILENT, groups=groups, controlplane={"nodes": nodes}, simulation={"duration_s": 3600.0},
             events=[restart()])  # T3411 / T3402 as the profile has them: about 30 attempts a device, accepted
    scenario(apps=SILENT, groups=[{**groups[0], "devices": 10_000}], controlplane={"nodes": nodes},
             simulation={"duration_s": 3600.0}, events=[restart(backoff=True, t3346_min_s=1.0, t3346_max_s=1.0)])
    # (3.6e7 attempts of 10^4 devices: the compiled closed loop's minutes and GB, accepted)


def test_the_shipped_storm_peaks_at_the_mme_and_the_hss_and_back_off_lowers_it() -> None:
    # scenarios/core-restart.toml at a fifth of its size, its node capacities scaled with it
    small = ["groups[0].devices=2000", "controlplane.nodes.MME.messages_per_s=300.0",
             "controlplane.nodes.HSS.messages_per_s=20.0"]
    runs = {b: sim.run(ROOT / "scenarios" / "core-restart.toml", overrides=[*small, f"events[0].backoff={b}"])
            for b in ("false", "true")}
    plain, backoff = (runs[b].summary["events"][0]["outcome"] for b in ("false", "true"))
    for out in (plain, backoff):
        assert out["devices"] == out["reattached"] == 2000
        assert out["baseline_per_s"]["HSS"] == 0.0 and out["carried_peak_per_s"]["HSS"] == pytest.approx(20.0)
        assert out["peak_per_s"]["MME"] > 1.2 * out["baseline_per_s"]["MME"]
    assert plain["offered_peak_per_s"]["MME"] > 300.0 > backoff["offered_peak_per_s"]["MME"]
    assert backoff["attach_attempts"] < 0.7 * plain["attach_attempts"] and backoff["backoff_waits"] > 0
    assert backoff["reattach_p95_s"] > plain["reattach_p95_s"]  # the price: a rejected phone waits 15-30 min
    ts = runs["false"].timeseries
    after = ts[ts.t_start_s >= 1200.0]
    assert after.messages_HSS.max() > 0 and ts[ts.t_end_s <= 1200.0].messages_HSS.sum() == 0
    assert (after.offered_MME / 30.0).max() == pytest.approx(plain["offered_peak_per_s"]["MME"])


def test_the_terminal_report_tells_the_restart(tmp_path: Path) -> None:
    """``run`` without --quiet prints each restart's line (it failed on names the report no longer had)."""
    result = CliRunner().invoke(cli, ["run", str(ROOT / "scenarios" / "core-restart.toml"), "--set",
                                      "groups[0].devices=300", "--no-plots", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "MME restart at 20.0 min (on-demand, no back-off): 300 of 300 devices attached" in result.output
