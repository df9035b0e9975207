"""The discrete-event engine: every device as SimPy processes.

Each device has one chain of timeouts for its open-loop sends (fixed heartbeats, the push
channel's heartbeat, user messages: their times are known from the draws) and one SimPy
process per adaptive heartbeat (whose next beat depends on what the last one found). A send goes through the
connection's NAT check, then the device's RRC machine (which applies timer expiries lazily,
see ``sim.radio.base``), and is logged. All random inputs come pre-drawn from
``sim.population.draws``; the engine draws nothing.
"""
from __future__ import annotations

import gc
from collections.abc import Callable, Generator
from dataclasses import replace

import numpy as np
import simpy

from sim.controlplane.network import ControlNetwork
from sim.controlplane.rach import RandomAccessCells
from sim.engine.controlled import ControlledPhone, LostContext
from sim.engine.log import (HEARTBEAT, MESSAGE, NL_BUSY, NL_CARRIED, NL_OFFER, NL_QUEUED, NL_REJECT, NL_WAIT,
                            SEND_STATS, EventLog, LogArrays, RestartOutcome)
from sim.engine.phone import Connection, Phone
from sim.metrics.nodes import NodeLog
from sim.population.draws import BlockDraws, block_draws, blocks
from sim.population.heartbeat import MarsHeartbeat
from sim.population.schedule import open_loop_sends, push_users, trace_codes, voice_sends
from sim.population.tcp import tcp_timing
from sim.population.traffic import CALLBACK_REQUEST, VOIP_BATCH, AppTraffic, Payload, app_traffic, push_traffic
from sim.radio.base import Machine
from sim.radio.tables import ModelTables
from sim.scenario import ResolvedScenario
from sim.scenario.schema import PSEUDO_APPS, SERVICE_TYPES, SMS_TYPES, VOICE_APP, Heartbeat


class _Schedule:
    """A device's open-loop sends (fixed heartbeats and messages of all its apps), in time order.

    Driven by SimPy timeout callbacks rather than a generator process: the sends need no
    waiting on anything but time, and a callback saves SimPy's process-resume step per event.
    """

    __slots__ = ("env", "phone", "times", "actions", "incoming", "generated", "i", "fire_cb")

    def __init__(self, env: simpy.Environment, phone: Phone, times: list[float],
                 actions: list[tuple[Connection, int, int, Payload]], incoming: list[bool], generated: list[float]):
        self.env, self.phone, self.times, self.actions, self.incoming = env, phone, times, actions, incoming
        self.generated = generated
        self.i = 0
        self.fire_cb = self.fire
        env.timeout(times[0]).callbacks.append(self.fire_cb)

    def fire(self, _event: simpy.Event) -> None:
        i = self.i
        conn, app, kind, p = self.actions[i]
        self.phone.send(self.times[i], conn, app, kind, p, self.incoming[i], self.generated[i])
        i += 1
        if i < len(self.times):
            self.i = i
            # sends at one instant (alarms batched, Doze's window) can find the clock an ulp past them
            self.env.timeout(max(0.0, self.times[i] - self.env.now)).callbacks.append(self.fire_cb)
        else:
            self.fire_cb = None  # break the self-reference so the schedule is freed at once


def _controlled_schedule(env: simpy.Environment, phone: ControlledPhone, times: list[float],
                         actions: list[tuple[Connection, int, int, Payload]], incoming: list[bool],
                         generated: list[float]) -> Generator[simpy.Event, None, None]:
    """Closed loop: the same sends as :class:`_Schedule`, each waiting for the network if it must."""
    for t, (conn, app, kind, p), inc, gen_s in zip(times, actions, incoming, generated):
        if t > env.now:
            yield env.timeout(t - env.now)
        if kind == HEARTBEAT and (conn.retrying or not conn.scheduled):
            continue  # the app lost its server, or beats on its own schedule since it came back
        yield from phone.send_gen(conn, app, kind, p, inc, gen_s)


def _adaptive(env: simpy.Environment, phone: Phone, conn: Connection, hb: Heartbeat, first_s: float,
              jitter: list[float], p: Payload, end_s: float) -> Generator[simpy.Event, None, None]:
    """An adaptive heartbeat: its next interval depends on whether the last beat found the connection alive."""
    mars = MarsHeartbeat(hb)
    t, k = first_s, 0
    while t < end_s:
        if t > env.now:
            yield env.timeout(t - env.now)
        if isinstance(phone, ControlledPhone):
            ok = yield from phone.send_gen(conn, conn.app, HEARTBEAT, p, False, t)
        else:
            ok = phone.send(t, conn, conn.app, HEARTBEAT, p, False, t)
        if ok is not None:  # None: skipped while the app waits to reconnect; Mars learns nothing
            mars.result(ok)
        interval = mars.next_interval_s()
        if jitter:
            interval *= 1.0 + hb.jitter * jitter[k]
            k += 1
        # a beat that found the connection dropped: the next one an interval after its reconnect
        t = (t + phone.tcp.nat_wait_s if ok is False else t) + interval


# Admission class of each service (sim.controlplane.node.CAUSES): a call leg is voice, mobile-originated
# or -terminated alike (UMTS's originating/terminatingConversationalCall; LTE's mo-VoiceCall, its MT leg's
# mt-Access ranked next to it); a short message mo-Signalling (LTE; NR's mo-SMS, UMTS's low-priority
# signalling). docs/model.md §9.
SERVICE_CAUSE = {t: "mo-Signalling" if t in SMS_TYPES else "mo-VoiceCall" for t in SERVICE_TYPES}


def _calls(env: simpy.Environment, net: ControlNetwork | None, log: EventLog, device: int,
           legs: list[tuple[int, list[int], str]], rejects: tuple[int, int], times: list[float], types: list[int],
           guard_s: float, pending: dict[int, tuple]) -> Generator[simpy.Event, None, None]:
    """A device's voice call attempts and short messages: each offers its page and legs (``legs[type]``:
    the leg's procedure code, what a carried one logs, ``ModelTables.call_offers`` and the admission
    class: ``SERVICE_CAUSE``) to the limited
    nodes on their routes, one by one and node by node, and fails if one rejects it or setup takes
    longer than ``guard_s``. A rejected one exchanged the offers carried before and the reject
    (``rejects``: the radio's ``rrc_reject`` and ``service_reject``). ``pending[device]``: the record of
    the attempt being decided, logged as undecided if the run ends first (what the nodes carried of it
    already, a page before the leg, was exchanged)."""
    for t, kind in zip(times, types):
        if t > env.now:
            yield env.timeout(t - env.now)
        leg, offers, cause = legs[kind]
        exchanged, carried = leg, 0
        for proc in offers if net is not None else ():
            pending[device] = (t, device, False, -1.0, leg, kind, carried, True)
            for name, node, messages in net.route(device, proc):
                outcome = yield node.offer(messages, cause)
                if not outcome.accepted:
                    exchanged = net.reject_code(name, *rejects)
                    net.count_reject(device, exchanged)
                    break
            if exchanged != leg:
                break
            carried += 1
        pending.pop(device, None)
        setup_s = env.now - t
        log.call((t, device, exchanged == leg and setup_s <= guard_s, setup_s, exchanged, kind,
                  carried if exchanged != leg else 0, False))


def _app_update(env: simpy.Environment, phone: ControlledPhone, conn: Connection, event
                ) -> Generator[simpy.Event, None, None]:
    """At ``event.at_s`` the app beats at its new interval, keeping its phase: the next beat
    falls one new interval after the last one (or at once, if that is already past)."""
    yield env.timeout(event.at_s)
    _, jitter, p, draws = conn.beat
    conn.beat = (event.interval_s, jitter, p, draws)
    if not conn.retrying:  # otherwise the reconnect restarts it
        phone.restart_beats(conn, max(conn.last_beat_s, env.now - event.interval_s))


def _nat_change(env: simpy.Environment, phones: list[Phone], event) -> Generator[simpy.Event, None, None]:
    yield env.timeout(event.at_s)
    for phone in phones:
        phone.nat_s = event.nat_timeout_s


def served_by(scn, event, devices: np.ndarray) -> np.ndarray:
    """Whether each of ``devices`` is served by the node instance a ``ran_outage`` or ``core_restart`` takes down
    (its node's ``devices_per_node`` apart; every one if the event names no instance)."""
    cap = scn.controlplane.nodes.get(event.node)
    per = None if cap is None else cap.devices_per_node
    return event.instance is None or (devices // per if per else np.zeros_like(devices)) == event.instance


class _Builder:
    """Creates each device of a block: its RRC machine, connections and SimPy events.

    Each device's open-loop sends (``sim.population.schedule``) are served by one timeout chain.
    """

    def __init__(self, rs: ResolvedScenario, tables: ModelTables, env: simpy.Environment, log: EventLog):
        self.rs, self.tables, self.env, self.log = rs, tables, env, log
        scn = rs.scenario
        self.end_s = scn.simulation.duration_s
        self.tcp = tcp_timing(scn.network.tcp)
        self.traffic = [app_traffic(a) for a in scn.apps]
        self.push_app = len(scn.apps)
        self.machines: list[Machine] = []
        cp = scn.controlplane
        closed = scn.closed_loop()
        controls = [e for e in scn.events if e.kind in ("access_barring", "core_overload")]
        self.net = ControlNetwork(env, cp.nodes, tables.nodes, tables.routed, tables.is_promotion, controls,
                                  scn.simulation.seed) if closed else None
        self.cells = RandomAccessCells(env, rs.profiles, cp.nodes, tables.is_promotion, scn.simulation.seed)
        self.stats = dict.fromkeys(SEND_STATS, 0)
        if self.cells.timing:
            self.stats["rach_failures"] = 0
        # per core restart (its index in scn.events): what its devices did
        self.outcomes = {i: RestartOutcome() for i, e in enumerate(scn.events) if e.kind == "core_restart"}
        self.call_attempts = np.zeros(len(SERVICE_TYPES), dtype=np.int64)  # per service type
        self.calls_pending: dict[int, tuple] = {}  # device -> the record of the attempt being decided (_calls)
        self.phones: list[Phone] = []

    def block(self, d: BlockDraws) -> None:
        scn, env, log = self.rs.scenario, self.env, self.log
        group = scn.groups[d.group]
        make_machine = self.tables.machine
        radio = self.rs.group_radio(d.group)
        nat_s = scn.network.nat_timeout_s
        push, push_app, push_s = push_traffic(group), self.push_app, group.push_interval_s
        uses_push = push_users(scn, d)
        dev, times, streams, incoming, generated = open_loop_sends(scn, d, uses_push)
        # per app: (code, app, traffic, installed per device, heartbeat phase per device)
        apps = [(a, app, self.traffic[a], draws.installed.tolist(), draws.phase.tolist())
                for a, (app, draws) in enumerate(zip(scn.apps, d.apps))]
        uses_push_l, push_phase_l = uses_push.tolist(), d.push_phase.tolist()
        n_streams = 2 * len(scn.apps) + 1  # then a call-back's request and a second of VoIP frames
        # then the replayed transfers' codes (sim.population.schedule.trace_codes), after a gap to 3 x apps + 4
        replays = {a: [(first + k, Payload(*kind)) for k, kind in enumerate(pattern.kinds)]
                   for a, (first, pattern) in trace_codes(scn).items()}
        replayed = sum(len(r) for r in replays.values()) + len(scn.apps) + 1 if replays else 0
        call_bounds, call_times, call_types = d.call_offsets.tolist(), d.call_times_s.tolist(), d.call_type.tolist()
        self.call_attempts += np.bincount(d.call_type, minlength=len(SERVICE_TYPES))
        call_legs = [(self.tables.call_legs(radio, t)[0], self.tables.call_offers(radio, t), SERVICE_CAUSE[t])
                     for t in SERVICE_TYPES]
        # the calls' data sends (call-back requests, VoIP frames) join the schedule after its streams
        v_dev, v_t, v_in, v_which = voice_sends(scn, d)
        if v_dev.size:
            joined = ((dev, v_dev), (times, v_t), (streams, n_streams + v_which), (incoming, v_in), (generated, v_t))
            dev, times, streams, incoming, generated = (np.concatenate(p) for p in joined)
            order = np.lexsort((streams, times, dev))  # stable: the voice sends' own order among equals
            dev, times, streams, incoming, generated = (c[order] for c in (dev, times, streams, incoming, generated))
        guard_s = scn.calls.setup_guard_s
        nodes_here = type(self.rs.profiles[radio]).NODES
        ran_outages = [e for e in scn.events if e.kind == "ran_outage" and e.node in nodes_here]
        restarts = [(i, e) for i, e in enumerate(scn.events) if e.kind == "core_restart" and e.node in nodes_here]
        retry = self.rs.profiles[radio].attach_retry()
        network_app = self.push_app + 1
        bounds = np.searchsorted(dev, np.arange(d.n + 1)).tolist()
        times_l, streams_l, incoming_l, generated_l = times.tolist(), streams.tolist(), incoming.tolist(), \
            generated.tolist()
        # no connection (the call's own flow), the voice pseudo-app
        voice = (None, len(scn.apps) + PSEUDO_APPS.index(VOICE_APP), MESSAGE)
        voice_actions = [(*voice, CALLBACK_REQUEST), (*voice, VOIP_BATCH)]
        attach_proc = self.tables.procedures.index((radio, "attach"))
        rejects = (self.tables.procedures.index((radio, "rrc_reject")),
                   self.tables.procedures.index((radio, "service_reject")))
        for i in range(d.n):
            device = d.first_device + i
            if self.net is None:
                machine = make_machine(radio, device, log)
                phone = Phone(device, machine, log, nat_s, env, self.tcp, self.end_s)
            else:
                phone = ControlledPhone(device, log, nat_s, env, self.tcp, self.end_s, self.net,
                                        scn.controlplane.reject_wait_s, scn.controlplane.max_attempts, self.stats,
                                        rejects)
                machine = make_machine(radio, device, phone)
                phone.attach(machine)
                phone.cell, phone.needs_access = self.cells.cell(radio, device), self.cells.promotion
            self.machines.append(machine)
            self.phones.append(phone)
            table: list = [None] * n_streams + voice_actions + [None] * replayed
            push_conn = None
            if uses_push_l[i]:
                push_conn = Connection(push_app, (push_phase_l[i] - 1.0) * push_s, push.reconnect)
                table[n_streams - 1] = (push_conn, push_app, HEARTBEAT, push.heartbeat)
            for a, app, traffic, installed, phase in apps:
                if installed[i]:
                    conn = push_conn if app.connection == "push" else \
                        self._connection(phone, a, app.heartbeat, traffic, phase[i], d.apps[a].jitter[i])
                    if self.net is not None and app.connection == "own":
                        self._events(phone, conn, d, a, i, traffic)
                    table[2 * a] = (conn, a, HEARTBEAT, traffic.heartbeat)
                    table[2 * a + 1] = (conn, a, MESSAGE, traffic.message)
                    for k, payload in replays.get(a, ()):  # a capture's transfers, by kind
                        table[k] = (conn, a, MESSAGE, payload)
            if ran_outages or restarts:
                conns = list({id(c[0]): c[0] for c in table if c is not None and c[0] is not None}.values())
                for event in ran_outages:
                    if self._served_by(event, device):
                        env.process(phone.ran_outage(event, attach_proc, network_app, conns))
                for k, event in restarts:
                    if self._served_by(event, device):
                        lost = LostContext(event, self.outcomes[k], attach_proc, network_app, retry,
                                           (scn.simulation.seed, k, device))
                        env.process(phone.core_restart(lost, conns))
            c_lo, c_hi = call_bounds[i], call_bounds[i + 1]
            if c_hi > c_lo:
                env.process(_calls(env, self.net, log, device, call_legs, rejects, call_times[c_lo:c_hi],
                                   call_types[c_lo:c_hi], guard_s, self.calls_pending))
            lo, hi = bounds[i], bounds[i + 1]
            if hi > lo:
                actions = [table[k] for k in streams_l[lo:hi]]
                if self.net is None:
                    _Schedule(env, phone, times_l[lo:hi], actions, incoming_l[lo:hi], generated_l[lo:hi])
                else:
                    env.process(_controlled_schedule(env, phone, times_l[lo:hi], actions, incoming_l[lo:hi],
                                                     generated_l[lo:hi]))

    def _served_by(self, event, device: int) -> bool:
        return bool(np.all(served_by(self.rs.scenario, event, np.array([device]))))

    def _events(self, phone: ControlledPhone, conn: Connection, d: BlockDraws, a: int, i: int,
                traffic: AppTraffic) -> None:
        """Closed loop: give an app's connection its server outages, its heartbeat (to restart it
        after a reconnect) and its app updates."""
        scn = self.rs.scenario
        name, hb = scn.apps[a].name, scn.apps[a].heartbeat
        conn.outages = [(e, d.retry_jitter[k][i]) for k, e in enumerate(scn.events)
                        if e.kind == "server_outage" and e.app == name]
        if hb.policy == "fixed":
            conn.beat = (hb.interval_s, hb.jitter, traffic.heartbeat, d.apps[a].jitter[i].tolist())
            for e in scn.events:
                if e.kind == "heartbeat_change" and e.app == name:
                    self.env.process(_app_update(self.env, phone, conn, e))

    def _connection(self, phone: Phone, app: int, hb: Heartbeat, traffic: AppTraffic, phase: float,
                    jitter: np.ndarray) -> Connection:
        """An app's own connection, in steady state: its last packet a heartbeat interval before the first beat."""
        if hb.policy == "none":
            return Connection(app, 0.0, traffic.reconnect)  # assumption: connected at t = 0
        interval = hb.interval_s if hb.policy == "fixed" else hb.min_interval_s
        first = phase * interval
        conn = Connection(app, first - interval, traffic.reconnect)
        if hb.policy == "adaptive":
            self.env.process(_adaptive(self.env, phone, conn, hb, first, jitter.tolist(), traffic.heartbeat,
                                       self.end_s))
        return conn


def _node_log(net: ControlNetwork, end_s: float, bin_s: float) -> NodeLog:
    """The nodes' figures over time from every instance's log, as rows ``(kind, instance, a, b)`` (``NL_*``),
    the instances numbered node by node in creation order."""
    rows, node_of = [np.zeros((0, 4))], []
    for typ, instances in enumerate(net.instances.values()):
        for node in instances.values():
            rejects = np.column_stack([node.reject_times_s, np.zeros(len(node.reject_times_s))])
            for kind, pairs in ((NL_OFFER, node.offer_log), (NL_REJECT, rejects), (NL_BUSY, node.busy_log),
                                (NL_QUEUED, node.queue_log), (NL_WAIT, node.wait_log), (NL_CARRIED, node.carried_log)):
                pairs = np.reshape(pairs, (-1, 2))
                rows.append(np.column_stack([np.full(len(pairs), kind), np.full(len(pairs), len(node_of)), pairs]))
            node_of.append(typ)
    out = NodeLog(list(net.capacity), end_s, bin_s)
    out.add(np.concatenate(rows), np.array(node_of, dtype=np.int64))
    return out


def run_des(rs: ResolvedScenario, tables: ModelTables,
            progress: Callable[[float], None] | None = None, steps: int = 100) -> LogArrays:
    """Simulate ``rs`` event by event; ``progress`` is called with the simulated fraction done."""
    env = simpy.Environment()
    log = EventLog()
    builder = _Builder(rs, tables, env, log)
    end_s = builder.end_s
    for event in rs.scenario.events:
        if event.kind == "nat_change":
            env.process(_nat_change(env, builder.phones, event))
    # Building and running make millions of objects but no cyclic garbage worth collecting; the
    # cyclic collector would only rescan the long-lived model again and again. Off until done.
    enabled = gc.isenabled()
    gc.disable()
    try:
        for g, b, first, n in blocks(rs.scenario):
            builder.block(block_draws(rs.scenario, g, b, first, n))
        gc.freeze()
        for k in range(1, steps + 1) if progress is not None else [steps]:
            env.run(until=end_s if k == steps else end_s * k / steps)
            if progress is not None:
                progress(k / steps)
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()
    controlplane, node_log, rach, rach_log = {}, None, {}, {}
    if builder.net is not None:
        controlplane = builder.net.stats(end_s) | builder.stats
        node_log = _node_log(builder.net, end_s, rs.scenario.simulation.bin_s)
    if builder.cells.timing:
        rach, rach_log = builder.cells.stats(), builder.cells.log()
    for phone in builder.phones:
        if isinstance(phone, ControlledPhone):
            phone.abandon()
    for record in builder.calls_pending.values():
        log.call(record)
    for machine in builder.machines:
        machine.finish(end_s)
    return replace(log.arrays(), controlplane=controlplane, node_log=node_log, call_attempts=builder.call_attempts,
                   rach=rach, rach_log=rach_log, restart_outcomes=builder.outcomes)
