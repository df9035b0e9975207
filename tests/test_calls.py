"""Voice calls: in the signalling totals, and per call type, counted by hand from the profiles."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.population.draws import block_draws, blocks

from conftest import run, run_log, scenario

UMTS_CALL_RNC = 40  # sim/profiles/umts.toml [messages.call_setup]
LTE_CALL = {"eNB": 14, "MME": 9, "S-GW": 6, "HSS": 0, "P-GW": 2}  # sim/profiles/lte.toml [messages.call_setup]


# the phones' own upkeep (periodic routing-area and cell updates) switched off: these counts are voice's alone
NO_UPKEEP = {"overrides": {"umts": {"t3312_s": math.inf, "t305_s": math.inf}}}


def _calls_per_device(rs) -> np.ndarray:
    """Each device's call attempts, from the draws (the engines' inputs)."""
    return np.concatenate([np.diff(block_draws(rs.scenario, *b).call_offsets) for b in blocks(rs.scenario)])


@pytest.mark.parametrize("engine", ["des", "fast"])
def test_voice_calls_are_signalling_of_the_voice_app(engine: str) -> None:
    rs = scenario(apps=[], groups=[{"name": "phones", "devices": 50, "radio": "umts"}], calls={"per_hour": 3.0},
                  simulation={"duration_s": 3600.0, "engine": engine}, network=NO_UPKEEP)
    calls = _calls_per_device(rs)
    res = run(rs)
    s, sig = res.summary, res.summary["signalling"]
    assert calls.sum() > 0
    assert sig["by_node"] == {"RNC": UMTS_CALL_RNC * calls.sum(), "SGSN": 0, "HLR": 0, "GGSN": 0}
    assert sig["by_procedure"]["call_setup"] == UMTS_CALL_RNC * calls.sum()
    assert sig["occurrences_by_procedure"]["call_setup"] == calls.sum()
    assert s["calls"]["messages_by_node"]["RNC"] == UMTS_CALL_RNC * calls.sum()  # kept as it was
    assert s["apps"]["voice"]["signalling_share"] == 1.0
    assert s["apps"]["voice"]["active_devices"] == int((calls > 0).sum())
    np.testing.assert_array_equal(res.devices["signalling_messages"], UMTS_CALL_RNC * calls)
    np.testing.assert_array_equal(res.devices["voice_signalling_messages"], UMTS_CALL_RNC * calls)
    assert res.timeseries["messages_RNC"].sum() == UMTS_CALL_RNC * calls.sum()
    assert s["concentration_apps"]["gini"] == 0.0  # no app signalling at all


def test_concentration_apps_leaves_voice_out() -> None:
    # calls have their own random stream: the same apps' draws with and without them
    lte = {"apps": [{"name": "chat", "messages": {"per_hour": 4.0}}],
           "groups": [{"name": "phones", "devices": 40, "apps": {"chat": 0.5}}]}
    with_calls = run(scenario(**lte, calls={"per_hour": 2.0})).summary
    without = run(scenario(**lte)).summary
    assert with_calls["concentration_apps"] == without["concentration"] == without["concentration_apps"]
    calls = with_calls["calls"]["attempts"]
    for node, per_call in LTE_CALL.items():
        assert with_calls["signalling"]["by_node"][node] == without["signalling"]["by_node"][node] + per_call * calls
    voice = with_calls["apps"]["voice"]["signalling_messages"]
    assert voice == sum(LTE_CALL.values()) * calls
    assert with_calls["apps"]["chat"]["signalling_messages"] == without["apps"]["chat"]["signalling_messages"]
    assert "voice" not in without["apps"]  # a pseudo-app shows only when it signalled


# UMTS by hand (sim/profiles/umts.toml): an isolated transfer from IDLE is rrc_setup (RNC 17, SGSN 5),
# 2 s of promotion, T1 = 5 s in CELL_DCH, dch_to_fach (RNC 4), T2 = 12 s in CELL_FACH, release (RNC 8,
# SGSN 3): RNC 29, SGSN 8, connected 2 + 5 + 12 = 19 s. A page: RNC 2 x (1 + 100 cells), SGSN 2.
ISOLATED = {"RNC": 29, "SGSN": 8}
PAGE = {"RNC": 202, "SGSN": 2}
TAIL_S = 5.0 + 12.0


def _isolated(rs, hold_s: np.ndarray) -> None:
    """The hand counts hold when no call overlaps another's radio period (an assumption on the draws, checked)."""
    d = block_draws(rs.scenario, *next(blocks(rs.scenario)))
    start, end = d.call_times_s, d.call_times_s + hold_s
    order = np.argsort(start)
    assert (start[order][1:] > end[order][:-1]).all() and (end < rs.scenario.simulation.duration_s).all()


def _two_phones(kind: str, seed: int):
    return scenario(apps=[], groups=[{"name": "pair", "devices": 2, "radio": "umts"}], network=NO_UPKEEP,
                    calls={"per_hour_by_type": {kind: 0.5}}, simulation={"duration_s": 36000.0, "seed": seed})


def test_a_call_back_costs_its_request_two_cs_legs_and_one_page() -> None:
    rs = _two_phones("callback", 3)
    _isolated(rs, np.full(1, 2.0 + TAIL_S))
    s = run(rs).summary
    t = s["calls"]["by_type"]["callback"]
    assert t["attempts"] > 2
    assert t["messages_per_call_by_node"] == {"RNC": 29 + 2 * UMTS_CALL_RNC + 202, "SGSN": 8 + 2, "HLR": 0.0,
                                              "GGSN": 0.0}
    assert t["connected_s_per_call"] == pytest.approx(2.0 + TAIL_S)
    # 7 s in CELL_DCH at 700 mW, 12 s in CELL_FACH at 350 mW, the promotion 2 s at 530 mW in place of DCH's 700
    assert t["radio_j_per_call"] == pytest.approx(7 * 0.7 + 12 * 0.35 + 2 * (0.53 - 0.7))
    assert s["signalling"]["by_node"]["RNC"] == t["messages_by_node"]["RNC"]  # nothing else signals


def test_a_voip_call_promotes_both_parties_and_holds_them_for_its_duration() -> None:
    rs = _two_phones("voip", 5)
    d = block_draws(rs.scenario, *next(blocks(rs.scenario)))
    frames = np.ceil(d.call_duration_s)  # one send a second, the first at the call's start
    assert (frames >= 3).all()  # the last send falls after the 2 s promotion
    _isolated(rs, frames - 1 + TAIL_S)
    s = run(rs).summary
    t = s["calls"]["by_type"]["voip"]
    calls = frames.size
    assert s["apps"]["voice"]["active_devices"] == 2  # the caller and its partner, each counted once
    assert t["attempts"] == calls > 2
    # each party: an isolated promotion and release; the partner is paged first
    assert t["messages_by_node"] == {"RNC": calls * (2 * 29 + 202), "SGSN": calls * (2 * 8 + 2), "HLR": 0, "GGSN": 0}
    # each party connected from the start to its last send, then T1 + T2
    assert t["connected_s_per_call"] == pytest.approx(2 * (frames - 1 + TAIL_S).mean())


@pytest.mark.parametrize("radio,kinds", [("umts", {"cs": 1.0, "voip": 0.5}), ("lte", {"csfb": 1.0, "volte": 1.0,
                                                                                       "callback": 0.5}),
                                         ("nr", {"volte": 1.0, "voip": 0.7})])
def test_every_call_type_gives_the_same_results_on_both_engines(radio: str, kinds: dict) -> None:
    base = dict(apps=[{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 300.0, "jitter": 0.1},
                       "messages": {"per_hour": 3.0}}],
                groups=[{"name": "g", "devices": 1500, "radio": radio, "apps": {"chat": 0.6}}],
                calls={"per_hour": 0.5, "per_hour_by_type": kinds}, network={"radio": radio, "nat_timeout_s": 600.0})
    des, fast = (run(scenario(**base, simulation={"duration_s": 1800.0, "engine": e})) for e in ("des", "fast"))
    for key in ("signalling", "apps", "calls", "concentration", "concentration_apps", "rrc", "traffic"):
        assert des.summary[key] == fast.summary[key], key
    assert des.summary["energy"] == pytest.approx(fast.summary["energy"])
    assert set(des.summary["calls"]["by_type"]) == set(kinds) | {"cs" if radio == "umts" else "volte"}
    np.testing.assert_array_equal(des.devices["signalling_messages"], fast.devices["signalling_messages"])


@pytest.mark.parametrize("changes,message", [
    ({"calls": {"per_hour_by_type": {"cs": 1.0}}}, "need umts"),
    ({"calls": {"per_hour_by_type": {"voip": 1.0, "callback": 1.0}}}, "not supported"),
    ({"calls": {"per_hour_by_type": {"voip": 1.0}}, "controlplane": {"nodes": {"eNB": {"servers": 1}}}}, "open loop"),
])
def test_call_types_are_refused_where_they_cannot_run(changes: dict, message: str) -> None:
    with pytest.raises(Exception, match=message):
        scenario(**changes)  # the base scenario is LTE


def test_dingtalk_2016_prints_both_call_types_per_call(tmp_path) -> None:
    path = str(Path(__file__).resolve().parent.parent / "scenarios" / "dingtalk-2016.toml")
    summaries = {}
    for kind in ("callback", "voip"):
        out = tmp_path / kind
        result = CliRunner().invoke(cli, ["run", path, "--out", str(out), "--set", "groups[0].devices=200",
                                          "--set", f"calls.per_hour_by_type={{{kind}=0.45}}"])
        assert result.exit_code == 0, result.output
        assert "per call type: per call" in result.output and kind in result.output
        assert "connected s" in result.output and "RNC" in result.output
        summaries[kind] = json.loads((out / "summary.json").read_text())["calls"]["by_type"][kind]
    # the same calls both ways (shared draws); a VoIP call holds both radios far longer than a call-back's request
    assert summaries["callback"]["attempts"] == summaries["voip"]["attempts"] > 0
    assert summaries["voip"]["connected_s_per_call"] > 5 * summaries["callback"]["connected_s_per_call"]


# short messages (sim/profiles/*.toml [messages.sms]); a received one pages the whole area first
SMS = {"umts": {"RNC": 30, "SGSN": 0, "HLR": 0, "GGSN": 0},
       "lte": {"eNB": 22, "MME": 19, "S-GW": 4, "HSS": 0, "P-GW": 0}}
SMS_PAGE = {"umts": {"RNC": 2 * (1 + 100), "SGSN": 2, "HLR": 0, "GGSN": 0},  # as PAGE; LTE: 50 eNBs x (1 + 3 cells),
            "lte": {"eNB": 200, "MME": 2 + 50, "S-GW": 2, "HSS": 0, "P-GW": 0}}  # MME S1 paging 50 + DDN 2


def _sms_by_direction(rs) -> tuple[np.ndarray, np.ndarray]:
    """Each device's sent and received short messages, from the draws (the engines' inputs)."""
    from sim.scenario.schema import SERVICE_TYPES
    sent, received = [], []
    for b in blocks(rs.scenario):
        d = block_draws(rs.scenario, *b)
        dev = np.repeat(np.arange(d.n), np.diff(d.call_offsets))
        sent.append(np.bincount(dev[d.call_type == SERVICE_TYPES.index("sms_mo")], minlength=d.n))
        received.append(np.bincount(dev[d.call_type == SERVICE_TYPES.index("sms_mt")], minlength=d.n))
    return np.concatenate(sent), np.concatenate(received)


@pytest.mark.parametrize("engine", ["des", "fast"])
@pytest.mark.parametrize("radio", ["umts", "lte"])
def test_short_messages_are_signalling_of_the_sms_app(engine: str, radio: str) -> None:
    rs = scenario(apps=[], groups=[{"name": "phones", "devices": 40, "radio": radio}], sms={"per_hour": 4.0},
                  simulation={"duration_s": 1800.0, "engine": engine},
                  network={"overrides": {"umts": {"t3312_s": math.inf, "t305_s": math.inf},
                                         "lte": {"t3412_s": math.inf}}})
    sent, received = _sms_by_direction(rs)
    assert sent.sum() > 0 and received.sum() > 0
    res = run(rs)
    s = res.summary
    per_device = {n: SMS[radio][n] * (sent + received) + SMS_PAGE[radio][n] * received for n in SMS[radio]}
    assert s["signalling"]["by_node"] == {n: int(v.sum()) for n, v in per_device.items()}
    assert s["sms"]["attempts"] == sent.sum() + received.sum() and s["sms"]["failed"] == 0
    assert s["sms"]["by_direction"]["sms_mo"]["messages_per_attempt_by_node"] == {n: float(v) for n, v in
                                                                                SMS[radio].items()}
    assert s["sms"]["by_direction"]["sms_mt"]["attempts"] == received.sum()
    assert s["calls"]["attempts"] == 0 and s["calls"]["messages_by_node"] == {n: 0 for n in SMS[radio]}
    assert s["apps"]["sms"]["signalling_share"] == 1.0 and "voice" not in s["apps"]
    total = sum(per_device.values())
    np.testing.assert_array_equal(res.devices["signalling_messages"], total)
    np.testing.assert_array_equal(res.devices["sms_signalling_messages"], total)
    assert res.timeseries["sms_attempts"].sum() == s["sms"]["attempts"]
    assert s["concentration_apps"]["gini"] == 0.0  # no app signalling at all
    assert s["rrc"]["promotions_total"] == 0  # the RRC state stays


def test_short_messages_leave_calls_and_apps_as_they_were() -> None:
    # short messages draw after the calls' types: the same calls with and without them
    lte = {"apps": [{"name": "chat", "messages": {"per_hour": 4.0}}],
           "groups": [{"name": "phones", "devices": 40, "apps": {"chat": 0.5}}], "calls": {"per_hour": 2.0}}
    with_sms = run(scenario(**lte, sms={"per_hour": 3.0, "mobile_terminated_share": 0.0})).summary
    without = run(scenario(**lte)).summary
    assert "sms" not in without and with_sms["calls"] == without["calls"]
    assert with_sms["concentration_apps"] == without["concentration_apps"]
    for app in ("chat", "voice"):  # all but the shares, whose denominator grew
        mine, before = with_sms["apps"][app], without["apps"][app]
        assert {k: v for k, v in mine.items() if k != "signalling_share"} == \
            {k: v for k, v in before.items() if k != "signalling_share"}
    sent = with_sms["sms"]["attempts"]
    assert with_sms["sms"]["by_direction"]["sms_mt"]["attempts"] == 0
    for node, per_sms in SMS["lte"].items():
        assert with_sms["signalling"]["by_node"][node] == without["signalling"]["by_node"][node] + per_sms * sent


def test_short_messages_fail_with_calls_when_the_node_is_full() -> None:
    # an RNC that carries 10 messages a second (3 s a short message, inside the 10 s guard), no queue
    rs = scenario(apps=[], groups=[{"name": "phones", "devices": 30, "radio": "umts"}],
                  sms={"per_hour": 200.0, "mobile_terminated_share": 0.0},
                  controlplane={"nodes": {"RNC": {"messages_per_s": 10.0, "queue_limit": 0}}},
                  simulation={"duration_s": 900.0}, network=NO_UPKEEP)
    s = run(rs).summary
    sms, rnc = s["sms"], s["controlplane"]["RNC"]
    assert 0 < sms["failed"] < sms["attempts"]
    # every decided one was offered to the RNC once; refused ones exchanged an RRC request and reject
    decided = sms["attempts"] - sms["pending_at_end"]
    assert rnc["offered_procedures"] == decided + sms["pending_at_end"]
    assert rnc["rejected_procedures"] == sms["failed"]
    assert sms["messages_by_node"]["RNC"] == 30 * (decided - sms["failed"]) + 2 * sms["failed"]


def test_a_received_short_message_whose_leg_is_refused_still_exchanged_its_page() -> None:
    # an eNB whose requests give up after 0.3 s in its queue: a page (its own eNB's share: 1 + 3 cells,
    # 0.1 s of service) that got through can leave the 22-message leg behind it waiting too long
    rs = scenario(apps=[], groups=[{"name": "phones", "devices": 30}], sms={"per_hour": 300.0,
                                                                            "mobile_terminated_share": 1.0},
                  controlplane={"nodes": {"eNB": {"messages_per_s": 40.0, "guard_s": 0.3}}},
                  simulation={"duration_s": 600.0}, network={"overrides": {"lte": {"t3412_s": math.inf}}})
    log = run_log(rs)
    page_only = log.call_carried > 0
    assert page_only.any() and (log.call_carried <= 1).all() and not log.call_ok[page_only].any()
    s = run(rs).summary
    enb, occ = s["controlplane"]["eNB"], s["signalling"]["occurrences_by_procedure"]
    assert occ["paging"] == page_only.sum() + log.call_ok.sum()
    # exchanged at the eNB: carried pages (own eNB 4; the 49 others' 4 each, not modelled) and legs
    # (22), and the requests and rejects (2) of the refused ones; those in the node at the end are not logged
    extra = s["signalling"]["by_node"]["eNB"] - enb["carried_messages"] - enb["reject_messages"] - 49 * 4 * occ["paging"]
    assert 0 <= extra <= enb["in_system_messages_at_end"]
