"""Voice calls in the signalling totals, counted by hand from the profiles' ``call_setup`` rows."""
from __future__ import annotations

import numpy as np
import pytest

from sim.population.draws import block_draws, blocks

from conftest import run, scenario

UMTS_CALL_RNC = 40  # sim/profiles/umts.toml [messages.call_setup]
LTE_CALL = {"eNB": 14, "MME": 9, "S-GW": 6, "HSS": 0, "P-GW": 2}  # sim/profiles/lte.toml [messages.call_setup]


def _calls_per_device(rs) -> np.ndarray:
    """Each device's call attempts, from the draws (the engines' inputs)."""
    return np.concatenate([np.diff(block_draws(rs.scenario, *b).call_offsets) for b in blocks(rs.scenario)])


@pytest.mark.parametrize("engine", ["des", "fast"])
def test_voice_calls_are_signalling_of_the_voice_app(engine: str) -> None:
    rs = scenario(apps=[], groups=[{"name": "phones", "devices": 50, "radio": "umts"}], calls={"per_hour": 3.0},
                  simulation={"duration_s": 3600.0, "engine": engine})
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
