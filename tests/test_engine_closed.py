"""The compiled closed loop (``sim.engine.closed``) against the SimPy engine: identical results."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.api import run
from sim.engine import closed
from sim.engine.closed import run_closed
from sim.engine.des import run_des
from sim.engine.log import HEARTBEAT, RECONNECT, UNANSWERED
from sim.metrics.nodes import NodeLog
from sim.metrics.reduce import Reducer
from sim.metrics.transfers import distinct_rows
from sim.population import draws
from sim.radio.tables import build_tables
from sim.scenario import load_scenario, schema
from tests.test_engines import assert_same_results, with_engine
from tests.test_properties import closed_loop_scenarios

LONDON = ["groups[0].devices=1800", "groups[1].devices=200", "controlplane.nodes.RNC.messages_per_s=39.31",
          "controlplane.nodes.RNC.devices_per_node=2000"]  # the RNC as saturated as at full size
# the reconnect storm behind an MME that queues and rejects its clients' SYNs and reconnects
STORM = ["groups[0].devices=400", "controlplane.nodes.MME={messages_per_s=150.0, queue_limit=3, guard_s=1.0}",
         "controlplane.max_attempts=2"]
LTE = ["events=[]", "groups[0].devices=1500", "calls.per_hour=2.0",
       "controlplane.nodes.MME={messages_per_s=300.0, queue_limit=5, guard_s=1.0}",
       "controlplane.nodes.eNB={messages_per_s=80.0, devices_per_node=500, queue_limit=3, admission=\"priority\"}"]


def _records(log) -> tuple[np.ndarray, np.ndarray]:
    o = np.lexsort((log.tr_state, log.tr_owner, log.tr_proc, log.tr_t, log.tr_device))
    return np.stack([log.tr_device[o], log.tr_proc[o], log.tr_owner[o], log.tr_state[o]]), log.tr_t[o]


def assert_same(rs) -> None:
    """Both engines' logs: every transition (times included), transfer, call record, node counter and node
    figure over time."""
    tables = build_tables(rs.profiles, rs.radios, rs.scenario.simulation.seed, len(rs.scenario.apps))
    a, b = run_des(rs, tables), run_closed(rs, tables)
    (ka, ta), (kb, tb) = _records(a), _records(b)
    np.testing.assert_array_equal(ka, kb)
    np.testing.assert_array_equal(ta, tb)
    xa = np.lexsort((a.x_code, a.x_t, a.x_device))
    xb = np.lexsort((b.x_code, b.x_t, b.x_device))
    np.testing.assert_array_equal(a.x_table[a.x_code[xa]], b.x_table[b.x_code[xb]])
    np.testing.assert_array_equal(a.x_t[xa], b.x_t[xb])
    np.testing.assert_array_equal(a.x_generated_t[xa], b.x_generated_t[xb])
    ca, cb = (np.lexsort((l.call_t, l.call_device)) for l in (a, b))
    for field in ("call_t", "call_device", "call_ok", "call_setup_s", "call_proc", "call_type", "call_carried",
                  "call_undecided"):
        np.testing.assert_array_equal(getattr(a, field)[ca], getattr(b, field)[cb], field)
    assert a.held_messages == b.held_messages
    assert a.restart_outcomes.keys() == b.restart_outcomes.keys()
    for k, oa in a.restart_outcomes.items():  # what each core restart's devices did, each re-attach's delay
        ob = b.restart_outcomes[k]
        assert replace(oa, reattach_s=sorted(oa.reattach_s)) == replace(ob, reattach_s=sorted(ob.reattach_s)), k
    assert a.node_log.names == b.node_log.names
    for field in (*NodeLog.SUMS, "low", "high"):  # the nodes' figures over time: offers, rejects, waits, ...
        np.testing.assert_array_equal(getattr(a.node_log, field), getattr(b.node_log, field), field)
    for field in ("count", "total"):  # ... busy processors' and queue stays' intervals, to 2^-32 s
        np.testing.assert_array_equal(getattr(a.node_log.occupancy, field), getattr(b.node_log.occupancy, field))
    for name, stats in a.controlplane.items():
        if isinstance(stats, dict):
            for k, v in stats.items():
                assert b.controlplane[name][k] == pytest.approx(v, rel=1e-12), (name, k)
        else:
            assert b.controlplane[name] == stats, name


@pytest.mark.parametrize("path, overrides", [("scenarios/london-2009.toml", LONDON),
                                             ("scenarios/reconnect-storm.toml", LTE)], ids=["london", "lte-mme-enb"])
def test_compiled_closed_loop_equals_simpy(path, overrides) -> None:
    assert_same(load_scenario(path, overrides))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(closed_loop_scenarios())
def test_random_closed_loops_are_identical_on_both_engines(rs) -> None:
    assume(rs.scenario.controlplane.nodes and rs.scenario.uncompiled() is None)
    assert_same(rs)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(closed_loop_scenarios(outages=True))
def test_random_closed_loops_with_server_outages_are_identical(rs) -> None:
    """Every retry policy, with and without jitter and TCP's retransmissions, short NAT timeouts (sends that find
    their connection dropped during or around the outage), limited RAN and core nodes."""
    assert rs.scenario.uncompiled() is None
    assert_same(rs)


@pytest.mark.parametrize("retransmit", [True, False], ids=["retransmit", "one-syn"])
@pytest.mark.parametrize("policy", ["immediate", "fixed", "exponential", "exponential+jitter"])
def test_reconnect_storms_behind_a_finite_mme_are_identical(policy, retransmit) -> None:
    """The clients notice the outage at their next send, TCP retransmits it, they retry by their policy (each SYN
    and retransmission a radio job through the device's lock and the MME, which queues and rejects them), and at
    recovery reconnect with what they held and beat in step from the reconnect on: as SimPy's processes, to the
    last record (their times tie at the MME's completions, so the order of simultaneous events is tested too)."""
    name, _, jitter = policy.partition("+")
    rs = load_scenario("scenarios/reconnect-storm.toml", [*STORM, f"network.tcp.retransmit={str(retransmit).lower()}",
                                                          f'events[0].retry.policy="{name}"',
                                                          f"events[0].retry.jitter={str(bool(jitter)).lower()}"])
    tables = build_tables(rs.profiles, rs.radios, rs.scenario.simulation.seed, len(rs.scenario.apps))
    log = run_closed(rs, tables)
    kinds = log.x_table[log.x_code, 1]
    # the case is met: SYNs and reconnects by the thousand, the MME rejecting some
    assert (kinds == RECONNECT).sum() > 3000 and log.controlplane["rrc_rejects"] > 5
    assert ((kinds == UNANSWERED).sum() > 3000) == retransmit
    assert_same(rs)


def test_a_reconnect_storm_behind_the_default_mme_is_identical() -> None:
    """2,000 phones, immediate retries, the MME at its default capacity (the benchmark's storm-mme)."""
    assert_same(load_scenario("scenarios/reconnect-storm.toml", ["groups[0].devices=2000",
                                                                 "controlplane.nodes.MME={}"]))


def test_a_storms_transfers_counted_on_the_way_give_simpys_results(monkeypatch) -> None:
    """With buffers of 2,048 rows the SYNs and reconnects go into their counts as the loop runs (the node log into
    its figures), the delivered messages stay: the results are SimPy's, every figure and frame."""
    monkeypatch.setattr(closed, "CHUNK_ROWS", 2048)
    rs = load_scenario("scenarios/reconnect-storm.toml", ["groups[0].devices=800", "controlplane.nodes.MME={}"])
    log = run_closed(rs, build_tables(rs.profiles, rs.radios, rs.scenario.simulation.seed, len(rs.scenario.apps)))
    assert log.x_counts is not None and log.x_counts[0].sum() > 10 * log.x_t.size  # the case is met
    assert_same_results(rs)


@pytest.mark.parametrize("path, overrides, waiting", [
    ("scenarios/london-2009.toml", [*LONDON[:2], "controlplane.nodes.RNC={messages_per_s=20.0, devices_per_node=2000, "
                                    "queue_limit=500, guard_s=60.0}"], True),  # demotions wait a minute
    ("scenarios/reconnect-storm.toml", STORM, False)], ids=["london-slow-rnc", "storm"])
def test_transitions_streamed_into_the_metrics_give_simpys_results(path, overrides, waiting, monkeypatch) -> None:
    """With the transition buffer streamed whenever it is full (each device's last record held back, and one a
    load waiting at a node may yet have rejected with the device's later ones), many times a run, the results are
    SimPy's."""
    monkeypatch.setattr(closed, "TR_CHUNK_ROWS", 0)
    monkeypatch.setattr(closed, "TR_ROWS_PER_DEVICE", 1)
    parts = []
    stream = Reducer.stream_transitions

    def spy(self, t, *rest):
        parts.append((t.size, int(rest[-1].sum())))
        stream(self, t, *rest)
    monkeypatch.setattr(Reducer, "stream_transitions", spy)
    rs = load_scenario(path, overrides)
    assert_same_results(rs)
    devices = sum(g.devices for g in rs.scenario.groups)
    assert len(parts) >= 3 and all(0 < held < size for size, held in parts)  # the case is met
    assert (max(held for _, held in parts) > devices) == waiting  # some held back for a waiting load


def test_a_server_outage_behind_a_saturated_rnc_is_identical() -> None:
    """london-2009 (UMTS, the RNC saturated by calls) with its IM server down for 5 minutes, exponential jittered
    retries: the smartphones' SYNs and reconnects compete with the calls at the RNC."""
    rs = load_scenario("scenarios/london-2009.toml", [*LONDON, 'events=[{kind="server_outage", app="im", '
                                                       'start_s=1200.0, end_s=1500.0, retry={policy="exponential", '
                                                       'jitter=true}}]'])
    tables = build_tables(rs.profiles, rs.radios, rs.scenario.simulation.seed, len(rs.scenario.apps))
    log = run_closed(rs, tables)
    assert (log.x_table[log.x_code, 1] == RECONNECT).sum() > 200 and log.controlplane["rrc_rejects"] > 100
    assert_same(rs)


def test_tcp_retransmissions_on_connections_the_nat_dropped_are_identical() -> None:
    """Priority admission with a reserved share starves data until connections outlive the NAT: sends find them
    dropped, TCP sends unanswered, retransmits and the app reconnects, each a radio job queued for the
    device's lock behind its other sends, as SimPy's lock queues them."""
    rs = load_scenario("scenarios/london-2009.toml", [*LONDON, 'controlplane.nodes.RNC.admission="priority"',
                                                       "controlplane.nodes.RNC.reserved_share=0.2"])
    tables = build_tables(rs.profiles, rs.radios, rs.scenario.simulation.seed, len(rs.scenario.apps))
    log = run_closed(rs, tables)
    assert (log.x_kind == UNANSWERED).sum() > 100 and (log.x_kind == RECONNECT).sum() > 10  # the case is met
    assert_same(rs)


# the storm's 300 phones behind the queueing MME, a 20 % heartbeat jitter (draws used again once a shorter
# interval outruns them), the outage from 20 to 25 (or 30) minutes
UPDATED = ["groups[0].devices=300", "controlplane.nodes.MME={messages_per_s=150.0, queue_limit=3, guard_s=1.0}",
           "controlplane.max_attempts=2", "apps[0].heartbeat.jitter=0.2"]


@pytest.mark.parametrize("events, after_s", [
    # an app update during the outage: the clients beat at the new interval from their reconnect
    ('{kind="server_outage", app="im", start_s=1200.0, end_s=1800.0}, '
     '{kind="heartbeat_change", app="im", at_s=1500.0, interval_s=60.0}', 1800.0),
    # the NAT's timeout cut under the heartbeat, then updates: 150 s beats outlive it (TCP's unanswered sends,
    # retransmissions, reconnects), 20 s ones more often than the jitter draws cover
    ('{kind="server_outage", app="im", start_s=1200.0, end_s=1500.0}, '
     '{kind="nat_change", at_s=2000.0, nat_timeout_s=100.0}, '
     '{kind="heartbeat_change", app="im", at_s=2400.0, interval_s=150.0}, '
     '{kind="heartbeat_change", app="im", at_s=3000.0, interval_s=20.0}', 2400.0)], ids=["update-in-outage", "nat-cut"])
def test_app_updates_and_nat_changes_behind_a_finite_mme_are_identical(events, after_s) -> None:
    """A ``heartbeat_change`` restarts each connection's heartbeat from its last beat (or, retrying, from its
    reconnect), a ``nat_change`` holds from its time on, through the MME's queue and rejects: SimPy's records."""
    rs = load_scenario("scenarios/reconnect-storm.toml", [*UPDATED, f"events=[{events}]"])
    assert rs.engine == "fast"
    tables = build_tables(rs.profiles, rs.radios, rs.scenario.simulation.seed, len(rs.scenario.apps))
    outage_only = load_scenario("scenarios/reconnect-storm.toml", [*UPDATED, f"events=[{events.split('}, ')[0]}}}]"])
    beats = [((log.x_kind == HEARTBEAT) & (log.x_t > after_s)).sum() for log in
             (run_closed(rs, tables), run_closed(outage_only, tables))]
    assert beats[0] > 2 * beats[1]  # the case is met: the updates took (more beats after them than without)
    assert_same(rs)

@pytest.mark.parametrize("controls, counters", [
    ('{kind="core_overload", start_s=1450.0, end_s=1700.0, extended_wait_s=20.0}', ("core_rejects",)),
    ('{kind="access_barring", start_s=1450.0, end_s=1700.0, barred_share=0.6, barring_time_s=8.0}, '
     '{kind="core_overload", start_s=1600.0, end_s=1800.0, extended_wait_s=20.0}', ("barred", "core_rejects"))],
    ids=["overload", "barring-then-overload"])
def test_overload_controls_behind_a_finite_mme_are_identical(controls, counters) -> None:
    """Under a ``core_overload`` the core refuses each service request (no node asked) with its extended wait;
    under ``access_barring`` a promotion is barred by the device's own draw and tried again after its barring
    time (not an attempt): the storm's reconnects meet them, are held back, rejected, retried and dropped after
    the most attempts, as SimPy's."""
    rs = load_scenario("scenarios/reconnect-storm.toml", [*STORM, 'events=[{kind="server_outage", app="im", '
                                                          f'start_s=1200.0, end_s=1500.0}}, {controls}]'])
    assert rs.engine == "fast"
    log = run_closed(rs, build_tables(rs.profiles, rs.radios, rs.scenario.simulation.seed, len(rs.scenario.apps)))
    assert all(log.controlplane[c] > 500 for c in counters) and log.controlplane["failed_sends"] > 300  # the case
    assert_same(rs)


@pytest.mark.parametrize("path, overrides, served", [
    ("scenarios/reconnect-storm.toml", [*STORM, 'events=[{kind="ran_outage", node="eNB", start_s=1200.0, end_s=1500.0}]'],
     400),
    # one eNB of four down, the IM server down around it: held sends, TCP's waits and the clients' retries meet
    # the re-attaches at the eNB's and the MME's queues
    ("scenarios/reconnect-storm.toml", [*STORM, "controlplane.nodes.eNB={messages_per_s=80.0, devices_per_node=100, "
                                                "queue_limit=3}",
                                        'events=[{kind="ran_outage", node="eNB", instance=1, start_s=1200.0, '
                                        'end_s=1500.0}, {kind="server_outage", app="im", start_s=1100.0, end_s=1400.0}]'],
     100),
    ("scenarios/london-2009.toml", [*LONDON, 'events=[{kind="ran_outage", node="RNC", start_s=1200.0, end_s=1300.0}]'],
     2000),
    # two eNBs of four down at overlapping times, one of them again later
    ("scenarios/reconnect-storm.toml", [*STORM, "controlplane.nodes.eNB={messages_per_s=80.0, devices_per_node=100}",
                                        'events=[{kind="ran_outage", node="eNB", instance=1, start_s=1200.0, '
                                        'end_s=1500.0}, {kind="ran_outage", node="eNB", instance=2, start_s=1300.0, '
                                        'end_s=1400.0}, {kind="ran_outage", node="eNB", instance=1, start_s=2000.0, '
                                        'end_s=2100.0}]'], 300)], ids=["storm-mme", "one-enb-and-the-server",
                                                                     "london-rnc", "three"])
def test_a_ran_outage_behind_limited_nodes_is_identical(path, overrides, served) -> None:
    """A RAN outage takes its devices' radio and IP connections; their sends wait for its end, then every one of them
    attaches again at once through the limited nodes (rejected, retried after the reject wait holding its lock, given
    up after the most attempts), and each connection reconnects at its next send: SimPy's records."""
    rs = load_scenario(path, overrides)
    assert rs.engine == "fast"
    tables = build_tables(rs.profiles, rs.radios, rs.scenario.simulation.seed, len(rs.scenario.apps))
    log = run_closed(rs, tables)
    attached = (log.tr_proc == tables.procedures.index((rs.group_radio(0), "attach"))).sum()
    lost = ((log.tr_proc == -1) & (log.tr_t > 0.0)).sum()  # the connections lost (and demotions a node rejected)
    # the case is met: every device it took down lost its connection, then attached or gave up after rejects
    assert lost >= served == attached + log.controlplane["failed_attaches"] and log.controlplane["rrc_rejects"] > 0
    assert_same(rs)


# core-restart.toml at a tenth of its phones, its MME and HSS a tenth as large: the attaches rejected as often
RESTART = ["groups[0].devices=1000", "controlplane.nodes.MME.messages_per_s=150.0",
           "controlplane.nodes.HSS.messages_per_s=10.0"]


@pytest.mark.parametrize("overrides, counters", [
    ([], ("implicit_detach_rejects", "rejected_attempts")),
    (["events[0].backoff=true", "events[0].t3346_min_s=60.0", "events[0].t3346_max_s=120.0"],
     ("implicit_detach_rejects", "backoff_waits")),
    (['events[0].reattach="immediate"', "events[0].spread_s=30.0"], ("rejected_attempts",)),
    (['events[0].reattach="immediate"', "events[0].backoff=true"], ("backoff_waits",)),
    # the eNB down across the restart: the lost contexts' attaches wait for its return, whose re-attach restores them
    (['events=[{kind="core_restart", node="MME", at_s=1200.0}, '
      '{kind="ran_outage", node="eNB", start_s=1150.0, end_s=1300.0}]'], ("implicit_detach_rejects",))],
    ids=["on-demand", "on-demand-backoff", "immediate-spread", "immediate-backoff", "with-a-ran-outage"])
def test_core_restarts_are_identical(overrides, counters) -> None:
    """A core restart loses its devices' contexts: each finds out at its next request or periodic update (the core's
    "implicitly detached" reject), or attaches at once, through the MME and HSS, retried on T3411 / T3402 or after
    a drawn T3346: every record, counter and re-attach delay as SimPy's."""
    rs = load_scenario("scenarios/core-restart.toml", [*RESTART, *overrides])
    assert rs.engine == "fast"
    outcome = run_closed(rs, build_tables(rs.profiles, rs.radios, rs.scenario.simulation.seed,
                                          len(rs.scenario.apps))).restart_outcomes[0]
    assert outcome.devices == 1000 and all(getattr(outcome, c) > 50 for c in counters)  # the case is met
    assert_same(rs)


def test_keyed_draws_are_splitmix64_and_uniform() -> None:
    """The access barring draws: SplitMix64's first output for seed 0 (Vigna's splitmix64.c: 0xe220a8397b1dcdaf)
    is the mix of one key 0; across devices and draws they are uniform (a chi-square test of 20 bins, 10^4 draws,
    against the 0.1 % point of 19 degrees of freedom, 43.8) and differ by stream."""
    assert draws._mix(draws._GOLDEN) == 0xE220A8397B1DCDAF
    u = np.array([draws.keyed_uniform(11, draws.BARRING_STREAM, d, k) for d in range(500) for k in range(20)])
    observed = np.bincount((u * 20).astype(int), minlength=20)
    assert ((observed - 500) ** 2 / 500).sum() < 43.8 and 0.0 <= u.min() and u.max() < 1.0
    assert draws.keyed_uniform(11, draws.BARRING_STREAM, 3, 0) != draws.keyed_uniform(11, 0x3346, 3, 0)


def test_fast_runs_london_compiled() -> None:
    from sim import run
    assert run(load_scenario("scenarios/london-2009.toml", LONDON)).summary["engine"] == "fast"


def test_partitions_end_where_no_node_instance_is_shared() -> None:
    """Device ranges at the multiples of every limited node's devices_per_node, at least PART_DEVICES long."""
    london = ["groups[0].devices=90000", "groups[1].devices=10000"]
    scn = load_scenario("scenarios/london-2009.toml", london).scenario
    assert scn.partitions() == [(lo, lo + 20000) for lo in range(0, 100000, 20000)]
    scn = load_scenario("scenarios/london-2009.toml", [*london, "controlplane.nodes.SGSN={devices_per_node=30000}"]).scenario
    assert scn.partitions() == [(0, 60000), (60000, 100000)]
    scn = load_scenario("scenarios/london-2009.toml", [*london, "controlplane.nodes.RNC.devices_per_node=1000"]).scenario
    assert scn.partitions() == [(0, 17000), *((lo, lo + 17000) for lo in range(17000, 85000, 17000)), (85000, 100000)]
    scn = load_scenario("scenarios/london-2009.toml", [*london, "controlplane.nodes.SGSN={}"]).scenario  # one SGSN for all
    assert scn.partitions() == [(0, 100000)]


def test_a_closed_loop_split_at_its_node_instances_gives_the_results_of_one(monkeypatch) -> None:
    """Three RNCs' devices, each a partition of its own, give SimPy's results for the whole population, the same
    bit for bit on two worker processes."""
    monkeypatch.setattr(schema, "PART_DEVICES", 1)
    rs = load_scenario("scenarios/london-2009.toml", ["groups[0].devices=1890", "groups[1].devices=210",
                                                       "controlplane.nodes.RNC.devices_per_node=700",
                                                       "controlplane.nodes.RNC.messages_per_s=13.76"])
    assert rs.scenario.partitions() == [(0, 700), (700, 1400), (1400, 2100)]
    assert_same_results(rs)
    one, two = run(with_engine(rs, "fast")), run(with_engine(rs, "fast"), workers=2)
    assert one.summary["controlplane"]["RNC"]["rejected_procedures"] > 100  # the case is met
    assert one.summary == two.summary
    for name in ("devices", "apps", "timeseries"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name), check_exact=True)


@given(st.lists(st.tuples(*[st.integers(-3, 3)] * 3, st.integers(0, 10**6)), max_size=60))
def test_distinct_rows_are_numpys_row_wise_unique(rows) -> None:
    a = np.array(rows, dtype=np.int64).reshape(-1, 4)
    table, code = distinct_rows(a)
    want_table, want_code = np.unique(a, axis=0, return_inverse=True)
    np.testing.assert_array_equal(table, want_table.reshape(-1, 4))
    np.testing.assert_array_equal(code, want_code.reshape(-1))
