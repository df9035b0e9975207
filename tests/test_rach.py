"""Random access in one cell (sim.radio.rach): hand-computed cases, determinism and the birthday
closed form for one opportunity."""
from __future__ import annotations

import math

import numpy as np
import pytest

from sim.errors import ScenarioError
from sim.radio import rach
from sim.radio.profiles import LteProfile, builtin_profile_data
from sim.scenario import resolve
from sim.validation.theory import beta_cdf, rach_light_load

LTE = LteProfile(**builtin_profile_data("lte")).rach
TR = rach.timing(LTE)


def timing(**changes) -> rach.Timing:
    return rach.timing(LTE.model_copy(update=changes))


# every attempt heard and no HARQ repeat: only collisions and grants can fail an attempt
SURE = {"detection": "ideal", "harq_retx_probability": 0.0}


def rng(seed: int = 1) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed))


def test_one_device_no_collision_takes_the_fixed_delays() -> None:
    tm = timing(**SURE)
    run = rach.simulate(np.array([3.0]), tm, rng())
    # first RAO at or after 3 ms: 5 ms; then preamble 1 + processing 2 + first response subframe 1 +
    # Msg3 delay 5 and transmission 1 + Msg4 delay 4 and transmission 1 = 15 ms
    assert rach.uncontended_ms(tm) == 15
    assert run.success.tolist() == [True] and run.transmissions.tolist() == [1]
    assert run.first_ms.tolist() == [5] and run.end_ms.tolist() == [20.0]
    assert run.collided_preambles.sum() == 0 and run.attempts.sum() == 1


def test_two_devices_one_preamble_always_collide() -> None:
    tm = timing(preambles=1, preamble_trans_max=1, **SURE)
    for seed in range(20):
        run = rach.simulate(np.array([1.0, 2.0]), tm, rng(seed))  # both at the RAO at 5 ms
        assert run.success.tolist() == [False, False] and run.transmissions.tolist() == [1, 1]
        assert run.collided_preambles[1] == 1 and run.collided_attempts[1] == 2
        # each learns it failed when the response window closes: 5 + 1 + 2 + 5 ms
        assert run.end_ms.tolist() == [13.0, 13.0]


def test_a_collision_retries_after_the_window_and_the_backoff() -> None:
    tm = timing(preambles=1, preamble_trans_max=2, backoff_ms=0.0, **SURE)
    run = rach.simulate(np.array([0.0, 0.0]), tm, rng())
    # both fail at 0 + 8 ms, retry at the next RAO (10 ms) and collide again: the last attempt, so both fail
    assert run.attempts[0] == 2 and run.attempts[2] == 2 and run.collided_preambles.sum() == 2
    assert not run.success.any() and run.end_ms.tolist() == [18.0, 18.0]


def test_grants_run_out_and_fill_the_response_window_three_a_subframe() -> None:
    tm = timing(preambles=64, ul_grants_per_rao=4, rar_window_ms=2, **SURE)
    end_ms, retry_ms, outcome = np.empty(6), np.empty(6), np.empty(6, dtype=np.int64)
    chosen = []
    for seed in range(200):
        collided = rach.opportunity(rng(seed), 0, np.ones(6, dtype=np.int64), tm, end_ms, retry_ms, outcome)
        won = outcome == rach.SUCCESS
        singles = 6 - (outcome == rach.COLLIDED).sum()
        assert won.sum() == min(singles, 4)  # 4 grants
        assert (outcome == rach.NO_GRANT).sum() == max(singles - 4, 0)
        # 4 grants over a 2-subframe window: 2 a subframe, the first two done at 15 ms, the next at 16 ms
        assert sorted(end_ms[won].tolist()) == [15.0, 15.0, 16.0, 16.0][:won.sum()]
        assert (end_ms[~won] == 1 + 2 + 2).all()  # the window closes at 5 ms
        assert (retry_ms >= end_ms).all() and (retry_ms <= end_ms + tm.backoff_ms).all()
        chosen.append(collided)
    assert max(chosen) >= 1  # some runs did collide: the grant rows were not all collision-free


@pytest.mark.parametrize("k", [1, 2, 3])
def test_a_lone_preamble_is_heard_with_one_minus_e_to_minus_k(k: int) -> None:
    tm = timing(harq_retx_probability=0.0)
    end_ms, retry_ms, outcome = np.empty(1), np.empty(1), np.empty(1, dtype=np.int64)
    g, trials = rng(k), 20_000
    heard = 0
    for _ in range(trials):
        rach.opportunity(g, 0, np.array([k]), tm, end_ms, retry_ms, outcome)
        heard += outcome[0] == rach.SUCCESS
    p = 1.0 - math.exp(-k)
    assert abs(heard / trials - p) < 4 * math.sqrt(p * (1 - p) / trials)  # binomial, 4 SE


@pytest.mark.parametrize("n, m", [(2, 1), (10, 54), (54, 54), (120, 54)])
def test_one_opportunity_matches_the_birthday_closed_form(n: int, m: int) -> None:
    """n contenders, m preambles, every lone preamble heard: a preamble is chosen by none with
    (1 - 1/m)^n and by one with n/m (1 - 1/m)^(n-1), so E[collided preambles] = m (1 - both); a
    contender's attempt collides when one of the n - 1 others chose its preamble: 1 - (1 - 1/m)^(n-1)."""
    tm = timing(preambles=m, ul_grants_per_rao=1000, **SURE)
    q = 1.0 - 1.0 / m
    expected_preambles = m * (1.0 - q**n - n / m * q ** (n - 1))
    expected_share = 1.0 - q ** (n - 1)
    end_ms, retry_ms, outcome = np.empty(n), np.empty(n), np.empty(n, dtype=np.int64)
    g, trials = rng(n), 4000
    preambles, shares = np.empty(trials), np.empty(trials)
    for i in range(trials):
        preambles[i] = rach.opportunity(g, 0, np.ones(n, dtype=np.int64), tm, end_ms, retry_ms, outcome)
        shares[i] = (outcome == rach.COLLIDED).mean()
        assert ((outcome == rach.SUCCESS) | (outcome == rach.COLLIDED)).all()  # nothing else can fail
    for values, expected in ((preambles, expected_preambles), (shares, expected_share)):
        se = values.std(ddof=1) / math.sqrt(trials)
        assert abs(values.mean() - expected) <= 4 * se + 1e-12, (values.mean(), expected, se)


def test_same_seed_same_run_other_seed_other_run() -> None:
    arrivals = rach.arrivals_ms(2, 3000, rng(5))
    a, b, c = (rach.simulate(arrivals, TR, rng(s)) for s in (9, 9, 10))
    for field in ("success", "transmissions", "first_ms", "end_ms", "attempts", "collided_preambles"):
        assert np.array_equal(getattr(a, field), getattr(b, field), equal_nan=True), field
    assert not np.array_equal(a.end_ms, c.end_ms, equal_nan=True)


def test_kpis_of_a_hand_made_run() -> None:
    run = rach.CellRun(success=np.array([True, True, False]), transmissions=np.array([1, 3, 10]),
                       first_ms=np.array([0, 5, 5]), end_ms=np.array([15.0, 65.0, 300.0]),
                       attempts=np.array([1, 2, 0, 0]), collided_preambles=np.array([0, 1, 0, 5]),
                       collided_attempts=np.array([0, 2, 0, 0]))
    k = rach.kpis(run, TR, 0.011)  # the period holds the RAOs at 0, 5 and 10 ms: 1 collided of 3 x 54
    assert k["collision_probability"] == pytest.approx(1 / (3 * 54))
    assert k["attempt_collision_probability"] == pytest.approx(2 / 3)
    assert k["access_success_probability"] == pytest.approx(2 / 3)
    assert k["preamble_transmissions_mean"] == 2.0 and k["access_delay_mean_s"] == pytest.approx(0.0375)


def test_traffic_models() -> None:
    uniform, burst = rach.arrivals_ms(1, 20_000, rng(1)), rach.arrivals_ms(2, 20_000, rng(2))
    assert 0.0 <= uniform.min() and uniform.max() < 60_000.0 and 0.0 <= burst.min() and burst.max() < 10_000.0
    # Beta(3, 4): mean 3/7 of the 10 s; distribution function 20u^3 - 45u^4 + 36u^5 - 10u^6, 0.65625 at 0.5
    assert abs(burst.mean() / 10_000.0 - 3 / 7) < 4 * math.sqrt(3 * 4 / (7**2 * 8)) / math.sqrt(20_000)
    assert beta_cdf(np.array(0.5), 3, 4) == pytest.approx(20 / 8 - 45 / 16 + 36 / 32 - 10 / 64)


def test_light_load_closed_form_by_hand_for_one_device() -> None:
    # one device alone: no collision; heard at transmission k with 1 - e^-k, so E[K] = 1 + e^-1 + e^-3 + ...
    # (HARQ exhaustion: 1e-5 per try, left out of the hand sum); each failed try waits past the 8 ms window
    # and a U(0, 20) ms back-off to the next RAO: E[ceil((8 + b) / 5)] x 5 = 4.1 x 5 = 20.5 ms
    k = rach_light_load(builtin_profile_data("lte")["rach"], 1, 60.0, None)
    reach = [math.exp(-sum(range(1, j + 1))) for j in range(10)]
    assert k["preamble_transmissions_mean"] == pytest.approx(sum(reach), rel=1e-4)
    harq_ms = 13 * (0.1 * 0.9 + 2 * 0.01 * 0.9 + 3 * 0.001 * 0.9 + 4 * 0.0001 * 0.9) / (1 - 0.1**5)
    expected_ms = 15 + harq_ms + (sum(reach) - 1) * 20.5
    assert k["access_delay_mean_s"] * 1000 == pytest.approx(expected_ms, rel=1e-4)
    assert k["collision_probability"] < 1e-7 and k["access_success_probability"] == pytest.approx(1.0)


def test_profile_overrides_and_bad_values() -> None:
    data = {"name": "t", "network": {"radio": "lte"}, "groups": [{"name": "g", "devices": 1}]}
    rs = resolve(data, "t.toml", ["network.overrides.lte.rach.preambles=64", "network.overrides.nr.rach.enabled=true"])
    assert rs.profiles["lte"].rach.preambles == 64 and not rs.profiles["lte"].rach.enabled
    with pytest.raises(ScenarioError) as exc:
        resolve(data, "t.toml", ["network.overrides.lte.rach.preambles=0", "network.overrides.lte.rach.detection=x"])
    messages = [str(p) for p in exc.value.problems]
    assert any(m.startswith("t.toml: network.overrides.lte.rach.preambles: ") for m in messages), messages
    assert any(m.startswith("t.toml: network.overrides.lte.rach.detection: ") for m in messages), messages
    with pytest.raises(ValueError, match="finite and >= 0"):
        rach.simulate(np.array([-1.0]), TR, rng())
