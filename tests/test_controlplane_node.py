"""Control-plane node against queueing closed forms, hand-computed cases and a reference recursion."""
from __future__ import annotations

import heapq
import math

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.controlplane import Node, Outcome
from sim.controlplane.node import CAUSES
from sim.validation.cases import batch_mean_and_se, loss_run, md1_run
from sim.validation.theory import erlang_b, md1_mean_wait_s


@pytest.mark.parametrize("rho, arrivals", [(0.5, 50_000), (0.8, 150_000)])
def test_md1_mean_wait_matches_pollaczek_khinchine(rho: float, arrivals: int) -> None:
    # 2-message procedures at 0.25 s per message: D = 0.5 s, so a units slip (m vs m * s) shows.
    env, node, rate_per_s = md1_run(rho, arrivals)  # every arrival offered and served
    expected_wait_s = md1_mean_wait_s(rate_per_s, 0.5)  # Pollaczek–Khinchine
    assert node.carried == arrivals and node.rejected == 0 and node.in_system == 0

    # Drop the first 1 % (the empty start; the queue forgets it within a few hundred services at
    # rho = 0.8), then batch means: 20 batches of 2,475 (rho = 0.5) or 7,425 (rho = 0.8) waits,
    # far longer than the correlation time, so nearly independent; 4 standard errors of the grand
    # mean is a ~99.9 % band (Student t, 19 degrees of freedom: 3.88). Measured SE: 1.5-1.7 % of W.
    waits_s = np.asarray(node.wait_samples_s)[arrivals // 100:]
    mean_s, se_s = batch_mean_and_se(waits_s)
    assert se_s < 0.03 * expected_wait_s  # the band is narrow enough to mean something
    assert abs(mean_s - expected_wait_s) < 4 * se_s, (mean_s, expected_wait_s, se_s)

    # Utilization: all n services done in [0, T], so it is n D / T; T is a sum of n exponential
    # gaps (plus the last service), relative standard deviation 1/sqrt(n): 4 of those.
    end_s = env.now
    assert abs(node.utilization(end_s) - rho) < 4 * rho / math.sqrt(arrivals)
    # Little's law on the sample path: the queue-length integral is the sum of all waits.
    assert node.mean_queue_length(end_s) * end_s == pytest.approx(sum(node.wait_samples_s), rel=1e-9)


def test_loss_system_reject_ratio_matches_erlang_b() -> None:
    servers, load_erlang = 5, 4.0
    # 20 batches of 5,000 arrivals; a loss system forgets in a few services
    env, node, batch_ratios = loss_run(servers, load_erlang, service_s=0.5, per_batch=5_000)
    expected = erlang_b(servers, load_erlang)  # 0.1991; insensitive to the service distribution
    measured, se = batch_mean_and_se(batch_ratios)
    # 4 standard errors from the batch spread (about sqrt(B(1-B)/n) = 0.0013, so 4 SE is ~2.5 % of B).
    assert se < 0.05 * expected
    assert abs(measured - expected) < 4 * se, (measured, expected, se)
    assert node.rejected / node.offered == pytest.approx(measured, abs=1e-12)  # equal batches
    assert node.wait_samples_s and max(node.wait_samples_s) == 0.0  # nobody waits in a loss system
    # Carried traffic A(1 - B) erlang = mean busy servers. Its relative noise: the arrival count
    # over the run, 1/sqrt(n) = 0.32 %, and 1 - B, se/(1 - B) ~ 0.16 %; 2 % is above 4 of both.
    assert node.utilization(env.now) * servers == pytest.approx(load_erlang * (1 - expected), rel=0.02)


@st.composite
def small_runs(draw):
    """A few procedures on a 0.5 s grid (so arrivals, completions and guard times tie)."""
    guard = draw(st.one_of(st.none(), st.sampled_from([0.5, 1.0, 2.5])))
    node_args = {"servers": draw(st.integers(1, 3)),
                 "service_s_per_message": draw(st.sampled_from([0.25, 0.5, 1.0])),
                 "queue_limit": draw(st.one_of(st.none(), st.integers(0, 3))),
                 "guard_s": guard, "admission": draw(st.sampled_from(["fifo", "priority"]))}
    if node_args["admission"] == "priority" and node_args["queue_limit"] is not None:
        node_args["reserved_share"] = draw(st.sampled_from([0.0, 0.3, 0.6]))
    arrivals = draw(st.lists(st.tuples(st.integers(0, 40).map(lambda k: k / 2), st.integers(1, 4),
                                       st.sampled_from(CAUSES)), max_size=40))
    stops_s = sorted(draw(st.lists(st.floats(0.01, 30.0), min_size=1, max_size=6, unique=True)))
    return node_args, arrivals, stops_s


@settings(max_examples=100, deadline=None)
@given(small_runs())
def test_procedures_are_conserved_at_any_stop_time(run) -> None:
    node_args, arrivals, stops_s = run
    env = simpy.Environment()
    node = Node(env, "MME", **node_args)
    outcomes: list[Outcome] = []

    def device(at_s: float, messages: int, cause: str):
        yield env.timeout(at_s)
        outcomes.append((yield node.offer(messages, cause)))

    for at_s, messages, cause in arrivals:
        env.process(device(at_s, messages, cause))
    for stop_s in [*stops_s, None]:  # None: run to the end, everything settled
        env.run(until=stop_s)
        assert node.offered == node.carried + node.rejected + node.in_queue + node.in_service
        assert node.in_service <= node.servers
        assert node.queue_limit is None or node.in_queue <= node.queue_limit
        assert node.in_service == node.servers or node.in_queue == 0  # no idle server while anyone waits
        assert len(node.wait_samples_s) == node.carried
        # Callers have heard exactly what the counters say.
        assert sum(o.accepted for o in outcomes) == node.carried
        assert sum(not o.accepted for o in outcomes) == node.rejected
        assert node.messages_carried <= node.messages_offered
        if env.now > 0:
            stats = node.stats(env.now)
            assert stats["in_system_at_end"] == node.in_system
            assert 0.0 <= stats["utilization"] <= 1.0
    assert node.offered == len(arrivals) and node.in_system == 0
    if node.guard_s is not None:
        assert all(o.wait_s <= node.guard_s for o in outcomes)


def test_guard_rejects_by_hand() -> None:
    # One server, 1 s per procedure, guard 2.5 s, six procedures at t = 0: three start at 0, 1, 2;
    # the others would start at 3, 4, 5 (waits > 2.5 s) and are rejected at 2.5 s instead.
    env = simpy.Environment()
    node = Node(env, "RNC", service_s_per_message=1.0, guard_s=2.5)
    events = [node.offer(1) for _ in range(6)]
    env.run(until=2.6)
    assert node.rejected == 3 and node.in_queue == 0 and node.in_service == 1
    env.run()
    assert [e.value for e in events] == [Outcome(True, 0.0, 1.0), Outcome(True, 1.0, 2.0),
                                         Outcome(True, 2.0, 3.0)] + [Outcome(False, 2.5, 2.5)] * 3
    # Queue-length integral: 5 waiting on [0, 1), 4 on [1, 2), 3 on [2, 2.5), none after.
    assert node.mean_queue_length(3.0) == pytest.approx((5 + 4 + 1.5) / 3.0)
    assert node.utilization(3.0) == 1.0


def test_full_queue_rejects_at_once_by_hand() -> None:
    # One server, room for 2 waiting: of five procedures at t = 0, the 4th and 5th are turned away at 0.
    env = simpy.Environment()
    node = Node(env, "RNC", service_s_per_message=1.0, queue_limit=2)
    events = [node.offer(1) for _ in range(5)]
    assert [e.triggered for e in events] == [False, False, False, True, True]
    env.run()
    assert [e.value for e in events] == [Outcome(True, 0.0, 1.0), Outcome(True, 1.0, 2.0),
                                         Outcome(True, 2.0, 3.0)] + [Outcome(False, 0.0, 0.0)] * 2


def test_guard_matches_fifo_reference_under_overload() -> None:
    # Two servers offered 1.3 erlang each with a 3 s guard. Reference: the FIFO multi-server
    # recursion: each procedure would start at max(arrival, earliest server free); it is rejected
    # if that start is more than guard_s after its arrival, and then uses no server.
    servers, guard_s, per_message_s = 2, 3.0, 0.5
    rng = np.random.default_rng(11)
    messages = rng.integers(1, 4, 5_000)  # mean 2 messages: 1 s of service
    arrivals_s = np.cumsum(rng.exponential(1 / (1.3 * servers), messages.size))
    env = simpy.Environment()
    node = Node(env, "RNC", servers=servers, service_s_per_message=per_message_s, guard_s=guard_s)
    events: list[simpy.Event] = []

    def arrive():
        for at_s, m in zip(arrivals_s.tolist(), messages.tolist()):
            yield env.timeout(at_s - env.now)
            events.append(node.offer(m))

    env.process(arrive())
    env.run()

    free_s = [0.0] * servers
    for event, at_s, m in zip(events, arrivals_s.tolist(), messages.tolist()):
        start_s = max(at_s, free_s[0])
        outcome = event.value
        if start_s - at_s > guard_s:
            assert not outcome.accepted
            assert outcome.done_s == pytest.approx(at_s + guard_s) and outcome.wait_s == pytest.approx(guard_s)
        else:
            heapq.heapreplace(free_s, start_s + m * per_message_s)
            assert outcome.accepted
            assert outcome.wait_s == pytest.approx(start_s - at_s, abs=1e-9)
            assert outcome.done_s == pytest.approx(start_s + m * per_message_s, abs=1e-9)
    assert node.rejected > 500 and node.carried > 500  # the guard really bit, and service went on
    assert max(node.wait_samples_s) <= guard_s


def test_ample_capacity_accepts_everything_without_waiting() -> None:
    env = simpy.Environment()
    node = Node(env, "MME", service_s_per_message=1e-9)
    rng = np.random.default_rng(5)
    events: list[simpy.Event] = []

    def arrive():
        for gap_s, m in zip(rng.exponential(1.0, 10_000).tolist(), rng.integers(1, 51, 10_000).tolist()):
            yield env.timeout(gap_s)
            events.append(node.offer(m))

    env.process(arrive())
    env.run()
    assert node.carried == node.offered == 10_000 and node.rejected == 0
    assert node.messages_carried == node.messages_offered
    assert all(e.value.accepted and e.value.wait_s == 0.0 for e in events)
    stats = node.stats(env.now)
    assert stats["mean_wait_s"] == stats["wait_p95_s"] == stats["mean_queue_length"] == 0.0
    assert stats["utilization"] < 1e-6


@pytest.mark.parametrize("kwargs, match", [
    ({"servers": 0}, "servers"),
    ({"servers": -2}, "servers"),
    ({"servers": 1.5}, "servers"),
    ({"service_s_per_message": 0.0}, "service_s_per_message"),
    ({"service_s_per_message": -0.1}, "service_s_per_message"),
    ({"service_s_per_message": math.nan}, "service_s_per_message"),
    ({"service_s_per_message": math.inf}, "service_s_per_message"),
    ({"queue_limit": -1}, "queue_limit"),
    ({"queue_limit": 2.5}, "queue_limit"),
    ({"guard_s": 0.0}, "guard_s"),
    ({"guard_s": -1.0}, "guard_s"),
    ({"guard_s": math.nan}, "guard_s"),
])
def test_invalid_arguments_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Node(simpy.Environment(), "eNB", **({"service_s_per_message": 0.01} | kwargs))


def test_invalid_offer_and_window_raise() -> None:
    env = simpy.Environment()
    node = Node(env, "eNB", service_s_per_message=0.01)
    with pytest.raises(ValueError, match="at least 1 message"):
        node.offer(0)
    with pytest.raises(ValueError, match="until_s"):
        node.stats(0.0)  # an empty window
    env.run(until=5.0)
    with pytest.raises(ValueError, match="until_s"):
        node.utilization(6.0)  # the future is not known yet
    assert node.stats(5.0)["offered"] == 0 and math.isnan(node.stats(5.0)["mean_wait_s"])


def _served_order(admission: str, causes: list[str], **kwargs) -> list[float]:
    """Completion times of one-message procedures of ``causes`` all offered at t = 0 to one server, 1 s each."""
    env = simpy.Environment()
    node = Node(env, "RNC", service_s_per_message=1.0, admission=admission, **kwargs)
    events = [node.offer(1, c) for c in causes]
    env.run()
    return [e.value.done_s if e.value.accepted else -1.0 for e in events]


def test_priority_serves_by_cause_by_hand() -> None:
    causes = ["mo-Data", "mo-Data", "mo-VoiceCall", "mt-Access", "mo-Signalling", "mo-VoiceCall"]
    # the first takes the free server at once; then voice (in arrival order), mt-Access, signalling, data
    assert _served_order("priority", causes) == [1.0, 6.0, 2.0, 4.0, 5.0, 3.0]
    assert _served_order("fifo", causes) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


def test_reserved_share_keeps_room_for_voice_by_hand() -> None:
    # 1 server + 4 places = 5; reserved 0.4: from 3 in the node on, only voice and emergency get in
    causes = ["mo-Data"] * 4 + ["mo-VoiceCall"] * 3
    done = _served_order("priority", causes, queue_limit=4, reserved_share=0.4)
    assert done == [1.0, 4.0, 5.0, -1.0, 2.0, 3.0, -1.0]  # 4th data refused (3 in), 3rd call: room full
    with pytest.raises(ValueError, match="reserved_share"):
        Node(simpy.Environment(), "RNC", service_s_per_message=1.0, reserved_share=0.2, queue_limit=3)


def test_priority_guard_rejects_the_lower_class_left_waiting_by_hand() -> None:
    # 1 s each, guard 2.5 s: data at 0 is served; two data then a call at 0: the call goes next (1-2),
    # the first waiting data (2-3), the second is still waiting at 2.5 s and leaves
    done = _served_order("priority", ["mo-Data", "mo-Data", "mo-Data", "mo-VoiceCall"], guard_s=2.5)
    assert done == [1.0, 3.0, -1.0, 2.0]


def test_priority_mean_waits_match_cobham() -> None:
    # Two classes, Poisson, deterministic 0.5 s service, non-preemptive priority on one server: Cobham's
    # W_k = W0 / ((1 - s_{k-1})(1 - s_k)), W0 = sum lambda_i E[S^2] / 2 (Kleinrock vol. 2 §3.6), with
    # s_k the load of classes 1..k. Loads 0.3 (voice) + 0.5 (data): W0 = 0.8 x 0.5 / 2 = 0.2 s,
    # W_voice = 0.2 / 0.7 = 0.2857 s, W_data = 0.2 / (0.7 x 0.2) = 1.4286 s.
    rng = np.random.default_rng(11)
    env = simpy.Environment()
    node = Node(env, "RNC", service_s_per_message=0.5, admission="priority")
    n, rates = 120_000, {"mo-VoiceCall": 0.6, "mo-Data": 1.0}
    total = sum(rates.values())
    gaps = rng.exponential(1.0 / total, n)
    kinds = rng.random(n) < rates["mo-VoiceCall"] / total
    waits: dict[str, list[float]] = {"mo-VoiceCall": [], "mo-Data": []}

    def source():
        for gap, voice in zip(gaps, kinds):
            yield env.timeout(gap)
            cause = "mo-VoiceCall" if voice else "mo-Data"
            node.offer(1, cause).callbacks.append(lambda e, c=cause: waits[c].append(e.value.wait_s))

    env.process(source())
    env.run()
    w0 = 0.8 * 0.5 / 2
    for cause, expected in (("mo-VoiceCall", w0 / 0.7), ("mo-Data", w0 / (0.7 * 0.2))):
        # batch means over the whole run (1 % warm-up dropped); 4 standard errors (~99.9 %)
        mean_s, se_s = batch_mean_and_se(np.asarray(waits[cause])[len(waits[cause]) // 100:])
        assert abs(mean_s - expected) < 4 * se_s and se_s < 0.05 * expected, (cause, mean_s, expected, se_s)
