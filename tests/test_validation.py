"""The validation suite: every case passes at test sizes, and a broken model fails the case it touches."""
from __future__ import annotations

import math

import pytest

from sim.errors import ScenarioError
from sim.radio.profiles import builtin_profile_data
from sim.validation import CASES, Settings, run_validation, theory
from sim.validation.cases import lte_cycle, umts_cycle

QUICK = Settings(quick=True)


@pytest.mark.parametrize("case", list(CASES))
def test_case_passes_on_both_engines(case: str) -> None:
    validation = run_validation(QUICK, [case])
    # closed loops: des only; the node and a cell's random access on their own
    engines = {"queueing": {"node"}, "rejects": {"des"}, "rach-tr37868": {"rach"}}.get(case, {"fast", "des"})
    assert validation.rows and {r.engine for r in validation.rows} == engines
    failed = [(r.quantity, r.engine, r.expected, r.simulated, r.tolerance) for r in validation.rows if not r.passed]
    assert not failed


def failures(overrides: tuple[str, ...], cases: list[str]) -> set[tuple[str, str]]:
    validation = run_validation(Settings(("fast",), True, overrides), cases)
    return {(r.case, r.quantity) for r in validation.rows if not r.passed}


def test_longer_lte_tail_fails_the_renewal_cycle_and_keepalive_cases() -> None:
    failed = failures(("lte.tail_s=20.0",), ["renewal-fixed", "lte-cycle", "keepalive-bounds-tail", "queueing"])
    assert ("renewal-fixed", "promotions/h, H = 12 s") in failed  # now H < T: one promotion, not 300 an hour
    assert ("lte-cycle", "RRC_CONNECTED time per cycle (s)") in failed
    assert ("lte-cycle", "eNB messages per cycle") not in failed  # the counts did not change
    assert not any(case == "queueing" for case, _ in failed)
    # an altered parameter wins over the case's own settings: the sweep goes flat, no knee at 270 s
    assert ("keepalive-bounds-tail", "tail where signalling stops falling (s)") in failed


def test_changed_message_count_fails_only_the_message_rows() -> None:
    failed = failures(("umts.messages.rrc_setup.RNC=20",), ["umts-cycle"])
    assert failed == {("umts-cycle-fd-off", "RNC messages per cycle"), ("umts-cycle-fd-legacy", "RNC messages per cycle")}


def test_changed_umts_timer_fails_state_time_and_energy() -> None:
    failed = failures(("umts.t2_s=10.0",), ["umts-cycle", "g1-battery"])
    assert {("umts-cycle-fd-off", "CELL_FACH time per cycle (s)"),
            ("umts-cycle-fd-off", "energy per 600 s period (J)")} <= failed
    assert not any(case == "g1-battery" for case, _ in failed)  # the ordering survives a shorter T2


def test_bad_profile_override_is_reported_before_running() -> None:
    with pytest.raises(ScenarioError) as exc:
        run_validation(Settings(profile_overrides=("lte.tial_s=3", "wifi.x=1")))
    assert [str(p) for p in exc.value.problems] == [
        "--set: wifi.x: expected RADIO.KEY=VALUE, RADIO one of umts, lte, nr"]
    with pytest.raises(ScenarioError, match="tial_s: unknown key"):
        run_validation(Settings(profile_overrides=("lte.tial_s=3",)))
    with pytest.raises(KeyError, match="unknown case"):
        run_validation(QUICK, ["no-such-case"])


# --- the closed forms themselves -------------------------------------------------------------------

def test_fixed_heartbeat_regimes() -> None:
    assert theory.fixed_heartbeat_promotions_per_hour(60.0, 10.0, 0.5, 3600.0) == 60.0
    assert theory.fixed_heartbeat_promotions_per_hour(10.2, 10.0, 0.5, 3600.0) == pytest.approx(1800 / 10.2)
    assert theory.fixed_heartbeat_promotions_per_hour(9.0, 10.0, 0.5, 7200.0) == 0.5


def test_poisson_forms_agree_with_the_first_order_formula_and_limits() -> None:
    lam, tail_s, delay_s = 1 / 60, 10.12, 0.26
    exact = theory.poisson_promotion_rate(lam, tail_s, delay_s)
    assert exact == pytest.approx(lam * math.exp(-lam * (tail_s + delay_s)), rel=1e-3)
    assert theory.poisson_promotion_rate(lam, tail_s, 0.0) == pytest.approx(lam * math.exp(-lam * tail_s))
    # connected share x cycle = connected time per cycle; rare traffic: share -> lam (T + d)
    assert theory.poisson_connected_share(1e-6, tail_s, delay_s) == pytest.approx(1e-6 * (tail_s + delay_s), rel=1e-4)


def test_mixed_form_reduces_to_its_parts() -> None:
    tail_s = 10.0
    assert theory.mixed_promotions_per_hour(270.0, 0.0, tail_s) == pytest.approx(3600 / 270)  # heartbeat only
    lam = 1 / 120
    far = theory.mixed_promotions_per_hour(1e7, lam, tail_s)  # heartbeat negligible: Poisson, d = 0
    assert far == pytest.approx(3600 * lam * math.exp(-lam * tail_s), rel=1e-4)
    with pytest.raises(ValueError):
        theory.mixed_promotions_per_hour(5.0, lam, tail_s)


def test_queueing_forms_by_hand() -> None:
    assert theory.md1_mean_wait_s(1.6, 0.5) == pytest.approx(0.8 * 0.5 / (2 * 0.2))
    assert theory.erlang_b(1, 1.0) == 0.5  # A / (1 + A)
    assert theory.erlang_b(5, 4.0) == pytest.approx((4**5 / 120) / sum(4**k / math.factorial(k) for k in range(6)))


def test_cycles_by_hand_on_the_default_profiles() -> None:
    umts, lte = builtin_profile_data("umts"), builtin_profile_data("lte")
    # ARO 3G: 2 s at 0.53 W, T1 5 s at 0.7 W, T2 12 s at 0.35 W; idle draws nothing
    assert umts_cycle(umts, "off", 600.0).energy_j == pytest.approx(2 * 0.53 + 5 * 0.7 + 12 * 0.35)
    legacy = umts_cycle(umts, "legacy", 600.0)  # the UE's 5 s timer ties with T1: released from CELL_DCH
    assert legacy.procedures == ("rrc_setup", "fd_release") and legacy.energy_j == pytest.approx(2 * 0.53 + 5 * 0.7)
    assert umts_cycle(umts, "rel8", 600.0).energy_j == pytest.approx(1.0 * 0.35 + 5 * 0.35)
    assert umts_cycle(umts | {"fast_dormancy_s": 8.0}, "legacy", 600.0).state_s == {"CELL_DCH": 7.0, "CELL_FACH": 3.0}
    # ARO LTE: promotion 0.26 s at 1.21 W; continuous reception 0.1 s at 1.2 W; short DRX one 20 ms cycle and
    # long DRX 250 cycles of 40 ms, each 2 ms at 1.68 W and the rest at 1.06 W; idle 19.95 mW the rest
    busy_j = 0.26 * 1.21 + 0.1 * 1.2 + (0.002 * 1.68 + 0.018 * 1.06) + 250 * (0.002 * 1.68 + 0.038 * 1.06)
    assert busy_j == pytest.approx(11.367, abs=1e-3)  # ARO's accounting: about 11.4 J (reference §6)
    assert lte_cycle(lte, 600.0).energy_j == pytest.approx(busy_j + (600 - 10.38) * 0.01995)


def test_changed_drx_power_fails_the_lte_energy_rows_only() -> None:
    failed = failures(("lte.connected_power_mw=1000.0",), ["lte-cycle"])
    assert failed == {("lte-cycle", "energy per 600 s period (J)"), ("lte-cycle", "promotion + tail energy (J)")}


def test_changed_message_count_fails_the_ecn_hand_count() -> None:
    failed = failures(("lte.messages.s1_release.MME=6",), ["ecn-messages"])
    assert failed == {("ecn-messages", "LTE messages per cycle by hand")}  # 29 is still of ECN's order


def test_paging_to_one_cell_fails_the_paging_rows() -> None:
    """The model before paging areas (one eNB, one cell) must fail the closed form of the default area."""
    failed = failures(("lte.paging_areas.paging.base_stations=1",), ["paging-areas"])
    assert ("paging-areas", "lte paging: messages at eNB, p = 1") in failed
    assert not any("umts" in quantity or "nr" in quantity for _, quantity in failed)


def test_more_preambles_or_a_longer_backoff_fail_the_rach_rows_they_touch() -> None:
    failed = failures(("lte.rach.preambles=64",), ["rach-tr37868"])
    assert ("rach-tr37868", "collision_probability") in failed  # fewer collisions than the closed form of 54
    failed = failures(("lte.rach.backoff_ms=60.0",), ["rach-tr37868"])
    assert ("rach-tr37868", "access_delay_mean_s") in failed
    assert ("rach-tr37868", "collision_probability") not in failed  # retries later: the same contention


def test_rach_rows_name_their_model_and_devices() -> None:
    rows = run_validation(QUICK, ["rach-tr37868"]).rows
    where = {(dict(r.labels)["model"], dict(r.labels)["devices"], r.quantity) for r in rows}
    assert where == {(m, n, q) for m in (1, 2) for n in (5000, 10000, 30000)
                     for q in ("collision_probability", "access_success_probability", "preamble_transmissions_mean",
                               "access_delay_mean_s")}
