"""The discrete-event engine: every device's apps as SimPy processes.

Each app's heartbeat and each app's message stream is a SimPy process that sleeps until its
next send; a send goes through the connection's NAT check, then the device's RRC machine
(which applies timer expiries lazily, see ``sim.radio.base``), and is logged. All random
inputs come pre-drawn from ``sim.population.draws``.
"""
from __future__ import annotations

from collections.abc import Callable, Generator

import numpy as np
import simpy

from sim.engine.log import HEARTBEAT, MESSAGE, RECONNECT, EventLog, LogArrays
from sim.population.draws import BlockDraws, block_draws, blocks, fixed_schedule
from sim.population.heartbeat import MarsHeartbeat
from sim.population.traffic import AppTraffic, Payload, app_traffic, push_traffic
from sim.radio.base import Machine
from sim.radio.tables import ModelTables
from sim.scenario import ResolvedScenario
from sim.scenario.schema import Heartbeat


_NO_JITTER = np.zeros(0)


class Connection:
    """One TCP connection through the carrier NAT: an app's own, or the OS push channel."""

    __slots__ = ("app", "last_s", "held", "reconnect")

    def __init__(self, app: int, last_s: float, reconnect: Payload):
        self.app = app  # app code owning the connection (its heartbeat and reconnects)
        self.last_s = last_s  # last packet through the NAT
        self.held: list[tuple[int, Payload]] = []  # MT messages waiting for a reconnect
        self.reconnect = reconnect


class Phone:
    """One device: its RRC machine, its NAT timeout and where it logs."""

    __slots__ = ("device", "radio", "log", "nat_s")

    def __init__(self, device: int, radio: Machine, log: EventLog, nat_s: float | None):
        self.device, self.radio, self.log, self.nat_s = device, radio, log, nat_s

    def send(self, t: float, conn: Connection, app: int, kind: int, p: Payload, incoming: bool) -> bool:
        """Send (or receive) ``p`` at ``t``; returns False if the connection had been dropped."""
        log, dev = self.log, self.device
        up, down = p.up_bytes, p.down_bytes
        alive = self.nat_s is None or t - conn.last_s <= self.nat_s
        if not alive:
            if incoming:  # the server cannot reach the phone until the phone reconnects
                conn.held.append((app, p))
                log.held_messages += 1
                return False
            r = conn.reconnect
            log.transfer(t, dev, conn.app, RECONNECT, r.up_bytes, r.down_bytes, r.packets)
            up += r.up_bytes
            down += r.down_bytes
            for held_app, h in conn.held:
                log.transfer(t, dev, held_app, MESSAGE, h.up_bytes, h.down_bytes, h.packets)
                up += h.up_bytes
                down += h.down_bytes
            conn.held.clear()
        conn.last_s = t
        self.radio.data(t, app, up, down, incoming)
        log.transfer(t, dev, app, kind, p.up_bytes, p.down_bytes, p.packets)
        return alive


def _fixed(env: simpy.Environment, phone: Phone, conn: Connection, times: list[float],
           p: Payload) -> Generator[simpy.Event, None, None]:
    timeout, send, app = env.timeout, phone.send, conn.app
    for t in times:
        yield timeout(t - env.now)
        send(t, conn, app, HEARTBEAT, p, False)


def _adaptive(env: simpy.Environment, phone: Phone, conn: Connection, hb: Heartbeat, first_s: float,
              jitter: list[float], p: Payload, end_s: float) -> Generator[simpy.Event, None, None]:
    mars = MarsHeartbeat(hb)
    t, k = first_s, 0
    while t < end_s:
        yield env.timeout(t - env.now)
        mars.result(phone.send(t, conn, conn.app, HEARTBEAT, p, False))
        interval = mars.next_interval_s()
        if jitter:
            interval *= 1.0 + hb.jitter * jitter[k]
            k += 1
        t += interval


def _messages(env: simpy.Environment, phone: Phone, conn: Connection, app: int, times: list[float],
              incoming: list[bool], p: Payload) -> Generator[simpy.Event, None, None]:
    timeout, send = env.timeout, phone.send
    for t, inc in zip(times, incoming):
        yield timeout(t - env.now)
        send(t, conn, app, MESSAGE, p, inc)


class _Builder:
    """Creates the processes of each device of a block."""

    def __init__(self, rs: ResolvedScenario, tables: ModelTables, env: simpy.Environment, log: EventLog):
        self.rs, self.tables, self.env, self.log = rs, tables, env, log
        scn = rs.scenario
        self.end_s = scn.simulation.duration_s
        self.traffic = [app_traffic(a) for a in scn.apps]
        self.push_app = len(scn.apps)
        self.machines: list[Machine] = []

    def block(self, d: BlockDraws) -> None:
        scn, env, end_s = self.rs.scenario, self.env, self.end_s
        group = scn.groups[d.group]
        radio = self.rs.group_radio(d.group)
        push = push_traffic(group)
        for i in range(d.n):
            device = d.first_device + i
            machine = self.tables.machine(radio, device, self.log)
            self.machines.append(machine)
            phone = Phone(device, machine, self.log, scn.network.nat_timeout_s)
            push_conn: Connection | None = None
            for a, (app, draws) in enumerate(zip(scn.apps, d.apps)):
                if not draws.installed[i]:
                    continue
                traffic: AppTraffic = self.traffic[a]
                if app.connection == "push":
                    if push_conn is None:
                        push_conn = self._heartbeat(phone, self.push_app, push,
                                                    Heartbeat(policy="fixed", interval_s=group.push_interval_s),
                                                    float(d.push_phase[i]), _NO_JITTER)
                    conn = push_conn
                else:
                    conn = self._heartbeat(phone, a, traffic, app.heartbeat, float(draws.phase[i]),
                                           draws.jitter[i])
                lo, hi = draws.msg_offsets[i], draws.msg_offsets[i + 1]
                if hi > lo:
                    env.process(_messages(env, phone, conn, a, draws.msg_times_s[lo:hi].tolist(),
                                          draws.msg_incoming[lo:hi].tolist(), traffic.message))

    def _heartbeat(self, phone: Phone, app: int, traffic: AppTraffic, hb: Heartbeat, phase: float,
                   jitter: np.ndarray) -> Connection:
        env, end_s = self.env, self.end_s
        if hb.policy == "none":
            return Connection(app, 0.0, traffic.reconnect)  # assumption: connected at t = 0
        if hb.policy == "fixed":
            times = fixed_schedule(hb.interval_s, hb.jitter, phase, jitter, end_s).tolist()
            first, interval = (times[0] if times else end_s), hb.interval_s
            conn = Connection(app, first - interval, traffic.reconnect)  # steady state: a beat ago
            env.process(_fixed(env, phone, conn, times, traffic.heartbeat))
            return conn
        first = phase * hb.min_interval_s
        conn = Connection(app, first - hb.min_interval_s, traffic.reconnect)
        env.process(_adaptive(env, phone, conn, hb, first, jitter.tolist(), traffic.heartbeat, end_s))
        return conn


def run_des(rs: ResolvedScenario, tables: ModelTables,
            progress: Callable[[float], None] | None = None, steps: int = 100) -> LogArrays:
    """Simulate ``rs`` event by event; ``progress`` is called with the simulated fraction done."""
    env = simpy.Environment()
    log = EventLog()
    builder = _Builder(rs, tables, env, log)
    for g, b, first, n in blocks(rs.scenario):
        builder.block(block_draws(rs.scenario, g, b, first, n))
    end_s = builder.end_s
    for k in range(1, steps + 1):
        env.run(until=end_s * k / steps)
        if progress is not None:
            progress(k / steps)
    for machine in builder.machines:
        machine.finish(end_s)
    return log.arrays()
