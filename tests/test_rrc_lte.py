"""LTE RRC machine against renewal theory and hand-computed cycles."""
from __future__ import annotations

import math

import pytest

from conftest import run, run_log, scenario
from sim.engine.log import HEARTBEAT

TAIL_S, DELAY_S = 10.12, 0.26  # sim/profiles/lte.toml (ARO lte.conf)


def test_heartbeat_longer_than_tail_promotes_once_per_beat() -> None:
    res = run(scenario(apps=[{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 60.0}}]))
    beats = res.summary["apps"]["chat"]["heartbeats"]
    assert beats in (59, 60, 61)  # 3600 s / 60 s, wherever the first beat falls
    assert res.summary["rrc"]["promotions_total"] == beats
    # each beat is one service request (eNB 10, MME 5, S-GW 2); each release 4/5/2, except a
    # last release that may fall after the end of the run
    by_node = res.summary["signalling"]["by_node"]
    assert by_node["MME"] in (10 * beats, 10 * beats - 5)


def test_heartbeat_shorter_than_tail_promotes_once() -> None:
    res = run(scenario(apps=[{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 5.0}}]))
    assert res.summary["apps"]["chat"]["heartbeats"] >= 719
    assert res.summary["rrc"]["promotions_total"] == 1
    assert res.summary["rrc"]["time_share_by_state"]["RRC_CONNECTED"] > 0.99


def test_poisson_promotion_rate_matches_renewal_theory() -> None:
    # Poisson arrivals at rate lam, tail T, promotion delay d. A promotion at t0 completes at
    # t0 + d (arrivals meanwhile ride along); the device then idles after the first gap of T
    # between arrivals, E = (e^{lam T} - 1)/lam later, and promotes at the next arrival, 1/lam
    # after that. Renewal cycle mu = d + e^{lam T}/lam, rate 1/mu = lam / (lam d + e^{lam T}).
    # The issue's lam e^{-lam (T + d)} is the same to first order in lam d (0.07 % apart here).
    lam = 1.0 / 60.0
    devices, hours = 400, 4.0
    rs = scenario(simulation={"duration_s": hours * 3600, "seed": 3, "bin_s": 600.0},
                  apps=[{"name": "chat", "messages": {"per_hour": lam * 3600, "up_bytes": 100, "down_bytes": 100}}],
                  groups=[{"name": "phones", "devices": devices, "apps": {"chat": 1.0}}])
    res = run(rs)
    per_device = res.devices["promotions"].to_numpy() / (hours * 3600)
    exact = lam / (lam * DELAY_S + math.exp(lam * TAIL_S))
    issue_formula = lam * math.exp(-lam * (TAIL_S + DELAY_S))
    assert abs(exact - issue_formula) / exact < 0.001
    # Tolerance: 4 standard errors of the mean over independent devices, plus one promotion
    # per device for the start-up edge (every device starts idle, so its first arrival promotes).
    se = per_device.std(ddof=1) / math.sqrt(devices)
    tolerance = 4 * se + 1.0 / (hours * 3600)
    assert abs(per_device.mean() - exact) < tolerance
    assert abs(per_device.mean() - issue_formula) < tolerance


def test_energy_of_isolated_heartbeat_matches_aro_profile() -> None:
    # Each isolated beat: promotion d at 1210 mW, then the tail T as ARO charges it (lte.conf): continuous
    # reception 0.1 s at 1200 mW, short DRX 0.02 s (one 20 ms cycle), long DRX 10 s (250 cycles of 40 ms), each
    # cycle 2 ms on at 1680 mW and the rest at 1060 mW; idle 19.95 mW otherwise.
    tail_j = 0.1 * 1.2 + (0.002 * 1.68 + 0.018 * 1.06) + 250 * (0.002 * 1.68 + 0.038 * 1.06)
    rs = scenario(simulation={"duration_s": 3600.0, "seed": 11, "bin_s": 60.0},
                  apps=[{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 600.0}}])
    log = run_log(rs)
    beats = log.x_t[log.x_kind == HEARTBEAT]
    assert beats.max() + DELAY_S + TAIL_S < 3600.0  # every cycle completes inside the run
    res = run(rs)
    n = beats.size
    connected_s = n * (DELAY_S + TAIL_S)
    expected_j = n * (DELAY_S * 1.210 + tail_j) + (3600.0 - connected_s) * 0.01995
    assert res.devices["radio_energy_j"].iloc[0] == pytest.approx(expected_j, abs=1e-9)
    assert res.devices["time_s_RRC_CONNECTED"].iloc[0] == pytest.approx(connected_s, abs=1e-9)


def test_tail_power_is_the_aro_phases_mean_and_a_short_tail_cuts_them() -> None:
    from pydantic import ValidationError

    from sim.radio.lte import tail_power_mw
    from sim.radio.profiles import LteProfile, builtin_profile_data, merge

    def profile(**change: float) -> LteProfile:
        return LteProfile(**merge(builtin_profile_data("lte"), change))

    # (0.1 s x 1200 + 0.02 s x 1122 + 10 s x 1091) mW / 10.12 s; DRX cycles (2 ms at 1680, the rest at 1060)
    assert tail_power_mw(profile()) == pytest.approx((120.0 + 22.44 + 10910.0) / 10.12)
    assert tail_power_mw(profile(tail_s=0.05)) == pytest.approx(1200.0)  # continuous reception only
    assert tail_power_mw(profile(tail_s=0.11)) == pytest.approx((120.0 + 0.01 * 1122.0) / 0.11)
    with pytest.raises(ValidationError, match="drx_on_s"):
        profile(drx_on_s=0.03)
