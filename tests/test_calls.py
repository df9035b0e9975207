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

from conftest import run, scenario

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
