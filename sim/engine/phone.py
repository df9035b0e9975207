"""A device as the engines see it: its connections through the carrier NAT and its RRC machine."""
from __future__ import annotations

from collections.abc import Callable

import simpy

from sim.engine.log import HEARTBEAT, MESSAGE, RECONNECT, UNANSWERED, EventLog
from sim.population.tcp import TcpTiming, unanswered
from sim.population.traffic import Payload
from sim.radio.base import Machine


class Connection:
    """One TCP connection through the carrier NAT: an app's own, or the OS push channel."""

    __slots__ = ("app", "last_s", "held", "reconnect", "outages", "retrying", "scheduled", "beat", "last_beat_s",
                 "beat_gen", "redial_s", "failed")

    def __init__(self, app: int, last_s: float, reconnect: Payload):
        self.app = app  # app code owning the connection (its heartbeat and reconnects)
        self.last_s = last_s  # last packet through the NAT
        self.held: list[tuple[int, Payload, float]] = []  # messages waiting for a reconnect: app, payload, generated
        self.reconnect = reconnect
        self.outages: list = []  # closed loop: (ServerOutage, this device's retry jitter draws)
        self.retrying = False  # lost its server: the client is trying to reconnect
        self.scheduled = True  # its heartbeats come from the precomputed schedule (until a recovery)
        self.beat: tuple | None = None  # (interval_s, jitter, payload, jitter draws) of a fixed heartbeat
        self.last_beat_s = last_s  # closed loop: the last heartbeat sent
        self.beat_gen = 0  # closed loop: which restarted heartbeat process is the live one
        # a send found the connection dropped: the app waits out its timeout and reconnects then (network.tcp)
        self.redial_s: float | None = None
        # that send (app, kind, payload, generated): it goes with the reconnect
        self.failed: tuple[int, int, Payload, float] | None = None

    def outage_at(self, t: float):
        """The outage (event, draws) of this connection's server at ``t``, if any."""
        for event, draws in self.outages:
            if event.start_s <= t < event.end_s:
                return event, draws
        return None


class Phone:
    """One device: its RRC machine, its NAT timeout, its TCP's retransmissions and where it logs."""

    __slots__ = ("device", "radio", "log", "nat_s", "env", "tcp", "end_s")

    def __init__(self, device: int, radio: Machine, log: EventLog, nat_s: float | None, env: simpy.Environment,
                 tcp: TcpTiming, end_s: float):
        self.device, self.radio, self.log, self.nat_s = device, radio, log, nat_s
        self.env, self.tcp, self.end_s = env, tcp, end_s

    def send(self, t: float, conn: Connection | None, app: int, kind: int, p: Payload, incoming: bool,
             generated_s: float) -> bool | None:
        """Send (or receive) ``p``, generated at ``generated_s``, at ``t``; returns False if the NAT had dropped
        the connection (or the app waits to reconnect it: the send goes with the reconnect), None for a heartbeat
        skipped meanwhile. ``conn`` None: a call's data (its own flow, set up by the call: no NAT state to find
        dropped)."""
        nat_s = self.nat_s
        if conn is None:
            self.radio.data(t, app, p.up_bytes, p.down_bytes, incoming)
            self.log.transfer((t, self.device, app, kind, p.up_bytes, p.down_bytes, p.packets, generated_s))
            return True
        if conn.redial_s is not None:
            if t < conn.redial_s:  # the app is waiting out its timeout on a dropped connection
                if kind == HEARTBEAT:
                    return None
                self.hold(conn, app, p, generated_s)
                return False
            self.redial(conn)  # due at this very instant: the reconnect first
        if nat_s is not None and t - conn.last_s > nat_s:
            if incoming:
                self.hold(conn, app, p, generated_s)
                return False
            if self.tcp.retransmit:
                self.go_unanswered(t, conn, app, kind, p, generated_s)
                return False
            up, down = self.with_reconnect(conn, p)
            self.radio.data(t, app, up, down, False)
            self.commit(t, conn, app, kind, p, False, generated_s)
            return False
        conn.last_s = t
        self.radio.data(t, app, p.up_bytes, p.down_bytes, incoming)
        self.log.transfer((t, self.device, app, kind, p.up_bytes, p.down_bytes, p.packets, generated_s))
        return True

    def go_unanswered(self, t: float, conn: Connection, app: int, kind: int, p: Payload, generated_s: float) -> None:
        """``p`` went out at ``t`` on a connection the NAT had dropped: nothing answers it, TCP retransmits
        it, and the app reconnects after its timeout, the send going with the reconnect."""
        first, again = unanswered(p)
        self.transmit(t, app, first)
        for offset_s in self.tcp.unanswered_s:
            self.at(t + offset_s, lambda at: self.transmit(at, app, again))
        conn.redial_s, conn.failed = t + self.tcp.wait_s, (app, kind, p, generated_s)
        self.at(conn.redial_s, lambda at: self.redial(conn) if conn.redial_s == at else None)

    def transmit(self, t: float, app: int, p: Payload) -> None:
        """A transfer nothing answers (``UNANSWERED``)."""
        self.radio.data(t, app, p.up_bytes, p.down_bytes, False)
        self.log.transfer((t, self.device, app, UNANSWERED, p.up_bytes, p.down_bytes, p.packets, t))

    def at(self, t: float, action: Callable[[float], None]) -> None:
        """Call ``action(t)`` at ``t``, if that is before the run's end."""
        if t < self.end_s:
            self.env.timeout(max(0.0, t - self.env.now)).callbacks.append(lambda _: action(t))

    def redial(self, conn: Connection) -> None:
        """The app gave up waiting and reconnects: the failed send and everything held go with it."""
        t, (app, kind, p, generated_s) = conn.redial_s, conn.failed
        conn.redial_s = conn.failed = None
        up, down = self.with_reconnect(conn, p)
        self.radio.data(t, app, up, down, False)
        self.commit(t, conn, app, kind, p, False, generated_s)

    def alive(self, t: float, conn: Connection) -> bool:
        return self.nat_s is None or t - conn.last_s <= self.nat_s

    def hold(self, conn: Connection, app: int, p: Payload, generated_s: float) -> None:
        """A message (generated at ``generated_s``) on a dropped connection: it waits for the reconnect
        (incoming: the server cannot reach the phone until then; outgoing: the app holds it while it waits to
        reconnect)."""
        conn.held.append((app, p, generated_s))
        self.log.held_messages += 1

    @staticmethod
    def with_reconnect(conn: Connection, p: Payload) -> tuple[int, int]:
        """Bytes up and down of ``p`` sent after re-establishing ``conn`` (one radio transfer)."""
        r = conn.reconnect
        up, down = p.up_bytes + r.up_bytes, p.down_bytes + r.down_bytes
        for _, h, _ in conn.held:
            up += h.up_bytes
            down += h.down_bytes
        return up, down

    def commit(self, t: float, conn: Connection, app: int, kind: int, p: Payload | None, alive: bool,
               generated_s: float) -> None:
        """Log a completed send at ``t`` of ``p``, generated at ``generated_s`` (with the reconnect and held
        messages it carried, if ``conn`` was dropped); ``p`` None: the reconnect carried no send of its own."""
        log, dev = self.log, self.device
        if not alive:
            r = conn.reconnect
            log.transfer((t, dev, conn.app, RECONNECT, r.up_bytes, r.down_bytes, r.packets, t))
            for held_app, h, held_s in conn.held:
                log.transfer((t, dev, held_app, MESSAGE, h.up_bytes, h.down_bytes, h.packets, held_s))
            conn.held.clear()
        conn.last_s = t
        if p is not None:
            log.transfer((t, dev, app, kind, p.up_bytes, p.down_bytes, p.packets, generated_s))
