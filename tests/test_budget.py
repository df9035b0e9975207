"""The budget: estimates against hand counts and measured runs, refusals of inputs that cannot fit
or finish, and the documented minimums of the parameters that could make an engine's loop spin."""
from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import sim.cli
from sim.errors import ScenarioError
from sim.scenario import budget, load_scenario
from sim.scenario.budget import estimate

from conftest import run, scenario

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = str(ROOT / "scenarios" / "quickstart.toml")
STORM = str(ROOT / "scenarios" / "reconnect-storm.toml")
CHILD_ADDRESS_SPACE_BYTES = 4 * 2**30  # a refusal that failed cannot take the machine: it fails fast instead


def _transfers(summary: dict) -> int:
    """Transfers a run made: every app's heartbeats, messages, reconnects and unanswered transmissions (TCP's
    retransmissions), and the call attempts."""
    apps = summary["apps"].values()
    return sum(a["heartbeats"] + a["messages"] + a["reconnects"] + a["unanswered"] for a in apps) + \
        summary["calls"]["attempts"]


def test_fixed_heartbeats_are_counted_by_hand() -> None:
    rs = scenario(apps=[{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 270.0}}],
                  groups=[{"name": "phones", "devices": 10, "apps": {"chat": 1.0}}])
    assert estimate(rs).transfers == pytest.approx(10 * 3600 / 270)


def test_tcp_retransmissions_are_counted_by_hand() -> None:
    # a beat every 300 s, a NAT forgetting after 100 s: a drop each 100 s at worst, each the reconnect, the
    # unanswered send and its 5 retransmissions (0.2 to 6.2 s, within the app's 10 s timeout)
    apps = [{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 300.0}}]
    groups = [{"name": "phones", "devices": 10, "apps": {"chat": 1.0}}]
    rs = scenario(apps=apps, groups=groups, network={"radio": "lte", "nat_timeout_s": 100.0})
    assert estimate(rs).transfers == pytest.approx(10 * (12 + 36 * 7))
    off = scenario(apps=apps, groups=groups, network={"radio": "lte", "nat_timeout_s": 100.0,
                                                      "tcp": {"retransmit": False}})
    assert estimate(off).transfers == pytest.approx(10 * (12 + 36))
    # an outage of 600 s: an attempt each 10 s, its SYN retransmitted 3 times, and the noticing beat's 7
    storm = scenario(apps=apps, groups=groups, events=[{"kind": "server_outage", "app": "chat", "start_s": 1000.0,
                                                        "end_s": 1600.0, "retry": {"policy": "immediate"}}])
    assert estimate(storm).transfers == pytest.approx(10 * (12 + 4 * 610 / 10 + 7))


def test_every_kind_of_send_is_counted_by_hand() -> None:
    apps = [{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 300.0}, "messages": {"per_hour": 6.0}},
            {"name": "smart", "heartbeat": {"policy": "adaptive", "min_interval_s": 240.0}},
            {"name": "mail", "connection": "push", "messages": {"per_hour": 2.0}}]
    rs = scenario(apps=apps, calls={"per_hour": 0.9},
                  groups=[{"name": "phones", "devices": 10, "apps": {"chat": 1.0, "smart": 0.5, "mail": 0.5},
                           "push_interval_s": 1800.0}])
    hand = 10 * 12 + 10 * 6 + 5 * 15 + 5 * 2 + 5 * 2 + 10 * 0.9  # chat beats, messages; smart; push, mail; calls
    assert estimate(rs).transfers == pytest.approx(hand)


def test_call_types_are_counted_by_hand() -> None:
    # per call one attempt; a call-back also its request; a VoIP call a send a second, each way, for
    # its mean duration plus one (the first at the start)
    rs = scenario(apps=[], groups=[{"name": "phones", "devices": 10, "radio": "umts"}],
                  calls={"per_hour": 0.9, "per_hour_by_type": {"cs": 1.0, "voip": 2.0}, "mean_duration_s": 60.0})
    assert estimate(rs).transfers == pytest.approx(10 * 0.9 + 10 * 1.0 + 10 * 2.0 * (1 + 2 * 61))
    rs = scenario(apps=[], groups=[{"name": "phones", "devices": 10, "radio": "umts"}],
                  calls={"per_hour_by_type": {"callback": 3.0}})
    assert estimate(rs).transfers == pytest.approx(10 * 3.0 * 2)


def test_voip_calls_are_estimated_at_their_expected_sends() -> None:
    # an expectation, not a bound: the calls and their durations are random (a run's own count varies)
    rs = load_scenario(str(ROOT / "scenarios" / "dingtalk-2016.toml"),
                       ["groups[0].devices=1000", "calls.per_hour_by_type={voip=0.45}"])
    assert estimate(rs).transfers == pytest.approx(_transfers(run(rs).summary), rel=0.15)


@pytest.mark.parametrize("path,sets", [(QUICKSTART, ["groups[0].devices=200"]),
                                       (QUICKSTART, ["groups[0].devices=200", 'simulation.engine="des"']),
                                       (STORM, ["groups[0].devices=100"])])
def test_the_estimate_bounds_a_measured_run(path: str, sets: list[str]) -> None:
    rs = load_scenario(path, sets)
    actual, est = _transfers(run(rs).summary), estimate(rs).transfers
    assert actual <= est <= 2 * actual


def test_a_split_run_needs_more_memory_and_less_time() -> None:
    rs = load_scenario(QUICKSTART, ["groups[0].devices=1000000"])
    one, two = estimate(rs).fast, estimate(rs, workers=2).fast
    assert two.memory_bytes > one.memory_bytes
    assert two.seconds <= one.seconds


def test_memory_refusal_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "available_memory_bytes", lambda: 10**9)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(QUICKSTART, ["groups[0].devices=10000000"])
    [problem] = exc.value.problems
    assert problem.path == "groups[0].devices"
    assert "of memory on the fast engine; this machine has 1.1 GB to spare" in problem.message


def test_time_refusal_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "available_memory_bytes", lambda: 10**18)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(QUICKSTART, ["groups[0].devices=1000000000", 'simulation.engine="des"'])
    [problem] = exc.value.problems
    assert problem.path == "groups[0].devices"
    assert "days on the des engine" in problem.message and "the limit is 24 h" in problem.message


def test_a_long_run_has_a_summary_line() -> None:
    est = estimate(load_scenario(QUICKSTART, ["groups[0].devices=10000000"]))
    assert est.cost.seconds > budget.LONG_RUN_S
    assert est.summary_line().startswith("estimate: about ") and "min on the fast engine" in est.summary_line()


def test_run_prints_the_estimate_of_a_long_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "LONG_RUN_S", 0.0)  # every run counts as long
    result = CliRunner().invoke(sim.cli.cli, ["run", QUICKSTART, "--out", str(tmp_path / "out"), "-q", "--no-plots"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("estimate: about ") and "on the fast engine" in result.output


def _limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE_BYTES, CHILD_ADDRESS_SPACE_BYTES))


EXTREMES = [
    (QUICKSTART, ["groups[0].devices=1000000000000"], ["groups[0].devices"]),
    (QUICKSTART, ["groups[0].devices=1000000000"], ["groups[0].devices"]),
    (QUICKSTART, ["simulation.bin_s=1e-6"], ["simulation.bin_s"]),
    (QUICKSTART, ["simulation.bin_s=0.001"], ["simulation.bin_s"]),  # the minimum, but 3.6 x 10^6 bins
    (QUICKSTART, ["simulation.duration_s=1e15"], ["simulation.duration_s"]),
    (QUICKSTART, ["simulation.duration_s=1e15", "simulation.bin_s=1e12", "groups[0].devices=1"],
     ["simulation.duration_s"]),  # one device, but billions of beats in its chunk
    (QUICKSTART, ["apps[0].heartbeat.jitter=0.999999999"], ["apps[0].heartbeat.jitter"]),
    (QUICKSTART, ["apps[0].heartbeat.interval_s=1e-9"], ["apps[0].heartbeat.interval_s"]),
    (QUICKSTART, ["apps[0].heartbeat.interval_s=1e-9", 'simulation.engine="des"'], ["apps[0].heartbeat.interval_s"]),
    (QUICKSTART, ["apps[0].messages.per_hour=1e12"], ["apps[0].messages.per_hour"]),
    (QUICKSTART, ["calls.per_hour=1e12"], ["calls.per_hour"]),
    (QUICKSTART, ['apps[0].heartbeat.policy="adaptive"', "apps[0].heartbeat.min_interval_s=1e-9"],
     ["apps[0].heartbeat.min_interval_s"]),
    (QUICKSTART, ['apps[0].heartbeat.policy="adaptive"', "apps[0].heartbeat.min_interval_s=1e-9",
                  "apps[0].heartbeat.step_s=1e-9"], ["apps[0].heartbeat.min_interval_s", "apps[0].heartbeat.step_s"]),
    (STORM, ['events[0].retry.policy="fixed"', "events[0].retry.attempt_timeout_s=1e-9"],
     ["retry.attempt_timeout_s"]),
    (STORM, ['events[0].retry.policy="fixed"', "events[0].retry.interval_s=1e-9",
             "events[0].retry.attempt_timeout_s=1e-9"], ["retry.attempt_timeout_s", "retry.interval_s"]),
    # valid, but 1.8 x 10^4 failed attempts per device: a chunk's do not fit (with the outage of the file, 3 x 10^8
    # attempts in all, it fits the fast engine: about 10 GB and a minute)
    (STORM, ["groups[0].devices=100000", "events[0].start_s=0", "events[0].end_s=3600",
             "events[0].retry.attempt_timeout_s=0.2"], ["events[0].retry.attempt_timeout_s"]),
]


@pytest.mark.parametrize("path,sets,fields", EXTREMES, ids=[" ".join(e[1]) for e in EXTREMES])
def test_extreme_input_is_refused_at_once(tmp_path: Path, path: str, sets: list[str], fields: list[str]) -> None:
    out = tmp_path / "out"
    args = [a for s in sets for a in ("--set", s)]
    proc = subprocess.run([sys.executable, "-m", "sim", "run", path, *args, "--out", str(out), "--no-plots"],
                          capture_output=True, text=True, timeout=30, preexec_fn=_limit_child, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == len(fields), proc.stderr  # one line per field set out of bounds, no traceback
    for line, field in zip(lines, fields):
        assert line.startswith(f"error: {path}: ") and field in line.split(": ")[2], line
    assert not out.exists()


BELOW_MINIMUM = [
    ({"simulation": {"duration_s": 60.0, "bin_s": 0.0005}}, "simulation.bin_s"),
    ({"network": {"radio": "lte", "nat_timeout_s": 0.5}}, "network.nat_timeout_s"),
    ({"apps": [{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 0.05}}]}, "apps[0].heartbeat.interval_s"),
    ({"apps": [{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 60.0, "jitter": 0.6}}]},
     "apps[0].heartbeat.jitter"),
    ({"apps": [{"name": "chat", "heartbeat": {"policy": "adaptive", "min_interval_s": 0.05}}]},
     "apps[0].heartbeat.min_interval_s"),
    ({"apps": [{"name": "chat", "heartbeat": {"policy": "adaptive", "max_interval_s": 0.05}}]},
     "apps[0].heartbeat.max_interval_s"),
    ({"apps": [{"name": "chat", "heartbeat": {"policy": "adaptive", "step_s": 0.05}}]}, "apps[0].heartbeat.step_s"),
    ({"groups": [{"name": "phones", "devices": 1, "push_interval_s": 0.05}]}, "groups[0].push_interval_s"),
    ({"controlplane": {"nodes": {"MME": {"messages_per_s": 100.0, "guard_s": 0.05}}}},
     "controlplane.nodes.MME.guard_s"),
    ({"controlplane": {"reject_wait_s": 0.5}}, "controlplane.reject_wait_s"),
    ({"calls": {"setup_guard_s": 0.5}}, "calls.setup_guard_s"),
    *[({"events": [{"kind": "server_outage", "app": "chat", "start_s": 10.0, "end_s": 20.0, "retry": {key: 0.1}}]},
       f"events[0].retry.{key}") for key in ("attempt_timeout_s", "interval_s", "initial_s", "max_s")],
    ({"events": [{"kind": "heartbeat_change", "app": "chat", "at_s": 10.0, "interval_s": 0.05}]},
     "events[0].interval_s"),
    ({"events": [{"kind": "nat_change", "at_s": 10.0, "nat_timeout_s": 0.5}]}, "events[0].nat_timeout_s"),
    ({"events": [{"kind": "access_barring", "start_s": 10.0, "end_s": 20.0, "barred_share": 0.5,
                  "barring_time_s": 2.0}]}, "events[0].barring_time_s"),
    ({"events": [{"kind": "core_overload", "start_s": 10.0, "end_s": 20.0, "extended_wait_s": 0.5}]},
     "events[0].extended_wait_s"),
]


@pytest.mark.parametrize("tables,path", BELOW_MINIMUM, ids=[b[1] for b in BELOW_MINIMUM])
def test_a_value_below_its_minimum_is_rejected(tables: dict, path: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        scenario(**tables)
    assert [p.path for p in exc.value.problems] == [path]
    assert "greater than or equal to" in exc.value.problems[0].message or "less than or equal to 0.5" in \
        exc.value.problems[0].message


@pytest.mark.parametrize("sizes", [[1], [2048], [2049, 5], [100_000], [1, 3000, 20_000, 7, 9000], [8192] * 4])
def test_chunks_are_counted_as_the_fast_engine_makes_them(sizes: list[int]) -> None:
    from sim.engine.fast import chunks

    groups = [{"name": f"g{i}", "devices": n, "apps": {"chat": 1.0}} for i, n in enumerate(sizes)]
    rs = scenario(groups=groups)
    assert budget._chunk_count(rs.scenario) == len(list(chunks(rs)))


def test_many_apps_and_many_groups_are_estimated_as_measured() -> None:
    """The costs that grow with the number of apps (connections merged per device, tallies over transfer
    codes) and of groups (a chunk each): the estimate covers the measured time of such runs (figures
    measured in docs/performance.md, "Budget"), and is not refused."""
    apps = [{"name": f"a{i}", "heartbeat": {"policy": "fixed", "interval_s": 270.0}} for i in range(5000)]
    wide = scenario(apps=apps, groups=[{"name": "g", "devices": 100, "apps": {f"a{i}": 1.0 for i in range(5000)}}],
                    simulation__duration_s=600.0)
    assert estimate(wide).fast.seconds >= 6.5  # measured: 6.5 s in the merge alone
    many = scenario(groups=[{"name": f"g{i}", "devices": 1, "apps": {"chat": 1.0}} for i in range(20_000)],
                    simulation__duration_s=600.0)
    assert estimate(many).fast.seconds >= 15.0  # measured: 16.4 s for the whole command


def test_retries_of_rejected_attempts_are_counted_at_worst() -> None:
    """A node that can reject may turn every attempt away: each send then takes max_attempts attempts,
    at most one per reject_wait_s of the run (here 600 s / 2 s + 1 = 301 > 100)."""
    base = {"nodes": {"eNB": {"messages_per_s": 100.0, "queue_limit": 0}}, "reject_wait_s": 2.0}
    plain = estimate(scenario(simulation__duration_s=600.0)).transfers
    assert estimate(scenario(simulation__duration_s=600.0, controlplane=base | {"max_attempts": 100})).transfers \
        == pytest.approx(100 * plain)
    assert estimate(scenario(simulation__duration_s=600.0, controlplane=base | {"max_attempts": 10_000})).transfers \
        == pytest.approx(301 * plain)
    unlimited = {"nodes": {"eNB": {"messages_per_s": 100.0}}, "max_attempts": 100}  # a queue only delays
    assert estimate(scenario(simulation__duration_s=600.0, controlplane=unlimited)).transfers == pytest.approx(plain)
