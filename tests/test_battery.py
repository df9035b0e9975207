"""Per-app radio energy and the battery-life estimate, against hand computations from the profiles."""
from __future__ import annotations

import math

import pytest
from conftest import run, scenario

# LTE by hand (sim/profiles/lte.toml, docs/model.md §8): an isolated heartbeat is a 0.26 s promotion
# at 1,210 mW, then a 10.12 s tail at 1,092.1 mW (ARO's accounting): 11.367 J; idle draws 19.95 mW
CYCLE_J = 0.26 * 1.210 + 10.12 * 1.0921
IDLE_W = 0.01995


@pytest.mark.parametrize("engine", ["des", "fast"])
def test_an_isolated_heartbeat_app_owns_its_cycles_and_the_battery_follows(engine: str) -> None:
    # one phone, a 600 s heartbeat (its phase is drawn, so count the beats), no periodic TAU inside
    # the hour: every promotion and tail is chat's, the rest is idle
    rs = scenario(apps=[{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 600.0}}],
                  groups=[{"name": "g", "devices": 1, "apps": {"chat": 1.0}}],
                  network={"overrides": {"lte": {"t3412_s": math.inf}}},
                  simulation={"duration_s": 3600.0, "engine": engine},
                  battery={"capacity_mah": 2000.0, "voltage_v": 3.8, "other_power_mw": 50.0})
    s = run(rs).summary
    beats = s["apps"]["chat"]["heartbeats"]
    assert beats == s["rrc"]["promotions_total"] > 0  # each beat found the radio idle
    chat = s["apps"]["chat"]
    # the connected state from the promotion's start at the tail's power, plus the promotion's extra
    assert chat["radio_j"] == pytest.approx(beats * CYCLE_J, rel=1e-4)
    radio_j = s["energy"]["radio_j_per_device_hour"]
    assert chat["radio_j"] + s["energy"]["idle_radio_j"] == pytest.approx(radio_j, rel=1e-12)
    idle_s = 3600.0 - beats * (0.26 + 10.12)
    assert s["energy"]["idle_radio_j"] == pytest.approx(idle_s * IDLE_W, rel=1e-4)
    b = s["battery"]
    radio_mw = 1000.0 * radio_j / 3600.0
    assert b["radio_power_mw"] == pytest.approx(radio_mw, rel=1e-12)
    assert b["life_h"] == pytest.approx(2000.0 * 3.8 / (50.0 + radio_mw), rel=1e-12)
    assert b["by_group"]["g"] == {k: b[k] for k in ("radio_power_mw", "life_h", "radio_drain_share")}
    assert chat["battery_share"] == pytest.approx(chat["radio_j"] / (radio_j + 0.05 * 3600.0), rel=1e-12)
    assert s["energy"]["radio_j_per_device_day"] == pytest.approx(24 * radio_j, rel=1e-12)


def test_a_chattier_group_drains_its_batteries_sooner() -> None:
    rs = scenario(apps=[{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 60.0}}],
                  groups=[{"name": "quiet", "devices": 5, "apps": {}},
                          {"name": "chatty", "devices": 5, "apps": {"chat": 1.0}}])
    by_group = run(rs).summary["battery"]["by_group"]
    assert by_group["chatty"]["life_h"] < by_group["quiet"]["life_h"]
    assert by_group["quiet"]["radio_drain_share"] < by_group["chatty"]["radio_drain_share"]
