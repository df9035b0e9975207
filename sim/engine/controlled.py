"""Closed loop: devices whose RRC procedures queue at capacity-limited control-plane nodes.

Used when the scenario gives any node finite capacity or has storm events. A send that needs a promotion first
runs the RRC machine tentatively, then offers the promotion's messages (paging included) to
each limited node on its route in turn and waits for them. If all carry it, the promotion
and everything after it happen later by the total queueing wait (processing time itself is
part of the profile's promotion delay). If a node rejects it, the machine is put back as it
was and the device tries again after the RRC reject wait time, up to ``max_attempts``; then
the send is dropped. Each rejected attempt is logged as the procedure it exchanged (the
profile's ``rrc_reject`` if a RAN node rejected it, ``service_reject`` if the core did),
attributed to the app whose send it was. Timer-driven demotions fire as real SimPy timeouts
and load the nodes when they happen; nobody waits for them, and one a node rejects is logged
as a state change without signalling. Server outages, RAN outages, core restarts and overload
controls (see ``docs/model.md`` §9–10) act on the same per-device process. With random access enabled
(``docs/model.md`` §14) a promotion first wins a random access in the device's cell
(``sim.controlplane.rach``), which delays it by what that took beyond an uncontended access; an
access that runs out of preamble transmissions counts as a rejected attempt but exchanges nothing.
"""
from __future__ import annotations

from collections.abc import Generator

import numpy as np
import simpy

from sim.controlplane.network import ControlNetwork
from sim.controlplane.node import Node
from sim.controlplane.rach import Cell
from sim.engine.log import HEARTBEAT, RECONNECT, UNANSWERED, EventLog, RestartOutcome
from sim.engine.phone import Connection, Phone
from sim.population.draws import BARRING_STREAM, keyed_uniform, restart_stream
from sim.population.tcp import TcpTiming, unanswered
from sim.population.traffic import Payload
from sim.radio.base import Machine

_NOTHING = Payload(0, 0, 0)  # a reconnect that carries no send of its own
_INF = float("inf")


class LostContext:
    """A device whose core node lost its context (a ``core_restart``) until it has attached again; what it
    does is counted in the event's ``outcome``, shared by all its devices."""

    __slots__ = ("event", "outcome", "attach", "app", "retry", "key", "known", "attempts", "draws")

    def __init__(self, event, outcome: RestartOutcome, attach: int, app: int, retry: tuple[float, float, int],
                 key: tuple[int, ...]):
        """``attach``: the radio's attach procedure; ``app``: the ``network`` pseudo-app's code; ``retry``: the
        radio's retry timers (``Profile.attach_retry``); ``key``: the run's seed, the event and the device,
        for this device's own draws (``restart_stream``: results do not depend on event order or engine)."""
        self.event, self.outcome, self.attach, self.app, self.retry, self.key = event, outcome, attach, app, retry, key
        self.known = False  # the device knows it is detached: its attach is under way, nothing else goes
        self.attempts = 0  # the attach attempt counter (TS 24.301 §5.5.1.2.6)
        self.draws = 0  # drawn so far

    def uniform(self) -> float:
        """The device's next draw on [0, 1) for this event (its spread, its T3346 values)."""
        seed, k, device = self.key
        self.draws += 1
        return keyed_uniform(seed, restart_stream(k), device, self.draws - 1)


class ControlledPhone(Phone):
    """A phone whose promotions must be admitted by the control plane (see the module docstring)."""

    __slots__ = ("env", "net", "lock", "capture", "reject_wait_s", "max_attempts", "stats", "barring_k", "down_until",
                 "rejects", "pending", "cell", "needs_access", "lost")

    def __init__(self, device: int, log: EventLog, nat_s: float | None, env: simpy.Environment, tcp: TcpTiming,
                 end_s: float, net: ControlNetwork, reject_wait_s: float, max_attempts: int, stats: dict[str, int],
                 rejects: tuple[int, int]):
        """``rejects``: the procedure codes of the device's radio's ``rrc_reject`` and ``service_reject``."""
        super().__init__(device, None, log, nat_s, env, tcp, end_s)  # type: ignore[arg-type]  # radio attached next
        self.net = net
        self.lock = simpy.Resource(env, capacity=1)  # one send at a time per device
        self.capture: list[tuple[float, int, int, int, int]] | None = None
        self.reject_wait_s, self.max_attempts, self.stats = reject_wait_s, max_attempts, stats
        self.barring_k = 0  # access barring draws so far (sim.population.draws.keyed_uniform)
        self.down_until = 0.0  # its RAN node is down until then
        self.rejects = rejects
        # an admission in progress: the machine's state before it, the attempt's records, how many
        # of their procedures the nodes have carried so far (for :meth:`abandon` at the run's end)
        self.pending: tuple[tuple, list[tuple[float, int, int, int, int]], int] | None = None
        self.cell: Cell | None = None  # its cell's random access, if its radio has it
        self.needs_access: np.ndarray | None = None  # [procedure] bool: its RRC setup needs a random access
        self.lost: LostContext | None = None  # its core node lost its context: it must attach again

    def attach(self, radio: Machine) -> None:
        """Use ``radio``, whose transitions must come to :meth:`transition`; its idle update timer runs from now."""
        self.radio = radio
        self.arm()

    def transition(self, record: tuple[float, int, int, int, int]) -> None:
        """The machine's sink: held back while an admission is pending, else logged (and demotions
        load nodes; if one rejects it, the record's signalling is voided: it was never carried)."""
        if self.capture is not None:
            self.capture.append(record)
            return
        if self.lost is not None and record[3] == self.radio.spec.keeper:
            self._update_detached(record[3])
            return
        log, mark = self.log, self.log.mark()
        log.transition(record)
        if record[2] >= 0:  # a periodic update is the phone's signalling; a demotion the network's own
            cause = "mo-Signalling" if record[3] == self.radio.spec.keeper else "network"
            self.net.load(self.device, record[2], lambda: log.void(mark), cause)

    def arm(self) -> None:
        """Fire the machine's next timer (a pending demotion or a periodic update) when it falls due."""
        due = self.radio.wake()
        if due != float("inf"):
            self.env.timeout(max(0.0, due - self.env.now), due).callbacks.append(self._timer)

    def _timer(self, event: simpy.Event) -> None:
        if self.radio.wake() == event.value:  # not superseded by a later transfer
            self.radio.advance(self.env.now)
            self.arm()

    def send_gen(self, conn: Connection, app: int, kind: int, p: Payload, incoming: bool,
                 generated_s: float) -> Generator[simpy.Event, None, bool | None]:
        """Send ``p`` (generated at ``generated_s``) now, or as soon as the device and the network let it;
        returns whether the connection was alive and answered (False also when the send was dropped or held;
        None for a heartbeat skipped while the app waits out its timeout to reconnect)."""
        env = self.env
        with self.lock.request() as turn:
            yield turn
            t = env.now
            down = conn.outage_at(t)
            if conn.retrying or (incoming and down is not None) or t < self.down_until:
                # nothing reaches the app's server, or comes from it, until it is back
                self.hold(conn, app, p, generated_s)
                return False
            if conn.redial_s is not None:  # waiting out its timeout on a dropped connection (see _wait_out)
                if kind == HEARTBEAT:
                    return None
                self.hold(conn, app, p, generated_s)
                return False
            alive = self.alive(t, conn)
            if not alive and incoming:
                self.hold(conn, app, p, generated_s)
                return False
            # nothing answers a connection the NAT dropped: TCP retransmits, the app times out; one lost with the
            # IP address (a RAN outage, a core restart) fails at once and the app reconnects on its new address
            if not alive and self.tcp.retransmit and conn.last_s > -_INF:
                first, _ = unanswered(p)
                done_s = yield from self._radio(app, first.up_bytes, 0, False)
                if done_s is None:
                    return False
                self.log.transfer((done_s, self.device, app, UNANSWERED, first.up_bytes, 0, first.packets, done_s))
                conn.redial_s, conn.failed = done_s + self.tcp.wait_s, (app, kind, p, generated_s)
                env.process(self._wait_out(conn))
                return False
            up, down_bytes = (p.up_bytes, p.down_bytes) if alive else self.with_reconnect(conn, p)
            done_s = yield from self._radio(app, up, down_bytes, incoming and alive)
            if done_s is None:
                return self._detached_send(conn, app, kind, p, generated_s) if self.lost is not None else False
            self.commit(done_s, conn, app, kind, p, alive, generated_s)
            if kind == HEARTBEAT:
                conn.last_beat_s = done_s
            if down is not None:  # sent, but the server is down: no answer; the client starts retrying
                conn.retrying = True
                env.process(self._reconnect(conn, *down, noticed=(app, p)))
                return False
            return alive

    def _retransmit(self, app: int, p: Payload) -> Generator[simpy.Event, None, None]:
        """TCP's retransmissions of ``p``, sent just now and unanswered, until the app's timeout (each
        after its RTO: ``network.tcp``)."""
        _, again = unanswered(p)
        last_s = 0.0  # RTO timers run from each transmission, however long the network delayed it
        for offset_s in self.tcp.unanswered_s:
            yield self.env.timeout(offset_s - last_s)
            last_s = offset_s
            with self.lock.request() as turn:
                yield turn
                done_s = yield from self._radio(app, again.up_bytes, 0, False)
                if done_s is not None:
                    self.log.transfer((done_s, self.device, app, UNANSWERED, again.up_bytes, 0, again.packets,
                                       done_s))
        yield self.env.timeout(self.tcp.wait_s - last_s)

    def _wait_out(self, conn: Connection) -> Generator[simpy.Event, None, None]:
        """A send just now found the connection dropped by the NAT: TCP retransmits it, the app
        times out and reconnects, carrying it and what it held (or, if its server is down by then,
        retries by the outage's policy)."""
        app, _, p, _ = conn.failed
        yield from self._retransmit(app, p)
        with self.lock.request() as turn:
            yield turn
            app, kind, p, generated_s = conn.failed
            conn.redial_s = conn.failed = None
            now = self.env.now
            down = conn.outage_at(now)
            if down is not None or now < self.down_until:  # its server, or its RAN node, is down by now
                if kind != HEARTBEAT:
                    self.hold(conn, app, p, generated_s)
                if down is not None and now >= self.down_until:
                    conn.retrying = True
                    self.env.process(self._reconnect(conn, *down))
                return
            up, down_bytes = self.with_reconnect(conn, p)
            done_s = yield from self._radio(app, up, down_bytes, False)
            if done_s is not None:
                self.commit(done_s, conn, app, kind, p, False, generated_s)

    def _radio(self, app: int, up: int, down: int, incoming: bool) -> Generator[simpy.Event, None, float | None]:
        """Carry one transfer now, admitting its promotion through the limited nodes (retrying
        after RRC rejects, waiting out access barring and core overload); returns when it went
        out, or None if it was dropped."""
        env, radio, net = self.env, self.radio, self.net
        lost = self.lost
        if lost is not None:  # its core lost its context
            if lost.known:
                return None  # detached, its attach under way: nothing goes until it is done
            # the request is rejected ("implicitly detached", TS 24.301 §5.6.1.5, cause #10): it attaches first
            lost.known = True
            lost.outcome.implicit_detach_rejects += 1
            self._log_reject(app, None)
            wait_s = yield from self._attach_once(lost)
            if wait_s is not None:
                env.process(self._attach_until_done(lost, wait_s))
                return None
        t, attempts = env.now, 0
        while attempts < self.max_attempts:
            radio.advance(t)
            snap = radio.snapshot()
            self.capture = []
            radio.data(t, app, up, down, incoming)
            captured, self.capture = self.capture, None
            hold_off_s = self._hold_off(captured, t) if captured and net.controls else 0.0
            if hold_off_s < 0.0:  # barred: not an attempt
                radio.restore(snap)
                self.arm()
                yield env.timeout(-hold_off_s)
                t = env.now
                continue
            admitted, wait_s, by = False, 0.0, None
            if hold_off_s == 0.0:
                self.pending = (snap, captured, 0)
                cause = "mt-Access" if incoming else "mo-Data"  # a paging response, else the phone's data
                admitted, wait_s, by = yield from self._admit([r[2] for r in captured], cause)
                self.pending = None
            if admitted:
                if wait_s:
                    radio.delay(wait_s)
                for at, dev, proc, owner, state in captured:
                    self.log.transition((at + wait_s, dev, proc, owner, state))
                self.arm()
                return t + wait_s
            radio.restore(snap)
            # procedures carried before the rejected one (the paging that brought the device's
            # request) were exchanged, though the state stays as it was
            for at, dev, proc, owner, _ in captured[:by[2] if by else 0]:
                self.log.transition((at, dev, proc, owner, radio.state))
            radio.advance(env.now)  # demotions that fell due while it waited: before the reject, in time order
            if by is not None and by[1] is None:  # its random access failed: MAC only, no RRC message exchanged
                self.stats["rach_failures"] += 1
            else:
                self._log_reject(app, by)
                self.stats["rrc_rejects"] += 1
            self.arm()
            attempts += 1
            yield env.timeout(hold_off_s or self.reject_wait_s)
            t = env.now
        self.stats["failed_sends"] += 1
        return None

    def _admit(self, procs: list[int], cause: str
               ) -> Generator[simpy.Event, None, tuple[bool, float, tuple[str, Node | None, int] | None]]:
        """Offer procedures of admission class ``cause`` to the limited nodes on their routes in turn, a
        promotion's after the device won its random access (if its radio has one); (all carried, total
        wait, the node that rejected one: name, instance and the index of that procedure in ``procs``,
        or None; the instance is None if the random access failed)."""
        wait_s = 0.0
        for k, proc in enumerate(procs):
            if self.cell is not None and self.needs_access[proc]:
                access = yield self.cell.access(self.device)
                if not access.ok:
                    return False, wait_s, (self.cell.name, None, k)
                wait_s += access.extra_s
            for name, node, messages in self.net.route(self.device, proc):
                outcome = yield node.offer(messages, cause)
                if not outcome.accepted:
                    return False, wait_s, (name, node, k)
                wait_s += outcome.wait_s
            if self.pending is not None:
                self.pending = (self.pending[0], self.pending[1], k + 1)
        return True, wait_s, None

    def abandon(self) -> None:
        """The run ends during an admission: it never completes, so the machine is put back as it was,
        but the procedures the nodes carried already (a page before the request) were exchanged."""
        if self.pending is None:
            return
        snap, captured, carried = self.pending
        self.radio.restore(snap)
        for at, dev, proc, owner, _ in captured[:carried]:
            self.log.transition((at, dev, proc, owner, self.radio.state))
        self.pending = None

    def _log_reject(self, app: int, by: tuple[str, Node | None, int] | None) -> None:
        """Log a rejected attempt of ``app``'s now, in the state the device stays in, as the
        procedure it exchanged: the reject of node ``by``, or, with None, the core's service
        reject under an overload control or for a device whose context it lost (no limited node
        was asked)."""
        code = self.rejects[1] if by is None else self.net.reject_code(by[0], *self.rejects)
        self.net.count_reject(self.device, code)
        self.log.transition((self.env.now, self.device, code, app, self.radio.state))

    def alive(self, t: float, conn: Connection) -> bool:
        """As :meth:`Phone.alive`; a connection lost with the device's IP address (``last_s`` = -inf, after a
        RAN outage or a core restart) is dead without a NAT too."""
        return conn.last_s > -_INF and super().alive(t, conn)

    def _release(self, conns: list[Connection]) -> None:
        """The device loses its RRC connection (to idle, no signalling) and its IP connections: each
        connection reconnects at its next send."""
        radio = self.radio
        radio.state, radio.owner, radio.ready = radio.spec.idle, -1, self.env.now
        radio.due, radio.rest = _INF, []
        self.log.transition((self.env.now, self.device, -1, -1, radio.state))  # no signalling
        for conn in conns:
            conn.last_s = -_INF

    def ran_outage(self, event, attach_proc: int, network_app: int,
                   conns: list[Connection]) -> Generator[simpy.Event, None, None]:
        """The device's RAN node is down: radio and IP connections lost until ``event.end_s``,
        then it re-attaches (retrying after rejects) and every connection reconnects at its next send."""
        env, radio = self.env, self.radio
        yield env.timeout(event.start_s - env.now)
        with self.lock.request() as turn:
            yield turn
            self.down_until = event.end_s
            self._release(conns)
            radio.last = event.end_s  # no periodic update without a RAN; the re-attach restarts the timer
        yield env.timeout(max(0.0, event.end_s - env.now))
        with self.lock.request() as turn:
            yield turn
            self.down_until = 0.0
            for _ in range(self.max_attempts):
                t = env.now
                admitted, wait_s, by = yield from self._admit([attach_proc], "mo-Signalling")
                if admitted:
                    self.log.transition((t + wait_s, self.device, attach_proc, network_app, radio.state))
                    if self.lost is not None:  # the attach restores a context a core restart lost, too
                        self.lost.outcome.attach_attempts += 1
                        self._attached()
                    return
                self._log_reject(network_app, by)
                self.stats["rrc_rejects"] += 1
                yield env.timeout(self.reject_wait_s)
            self.stats["failed_attaches"] += 1

    def core_restart(self, lost: LostContext, conns: list[Connection]) -> Generator[simpy.Event, None, None]:
        """At ``lost.event.at_s`` the device's core node loses its context: its RRC and IP connections go, and
        it must attach again, when it next contacts the network (on demand) or at once, after its share of
        the event's spread."""
        env, event = self.env, lost.event
        yield env.timeout(event.at_s - env.now)
        with self.lock.request() as turn:
            yield turn
            if self.radio.state != self.radio.spec.idle:
                self.radio.last = env.now  # released: the periodic update timer starts
            self._release(conns)
            self.lost = lost
            lost.outcome.devices += 1
            self.arm()
            if event.reattach == "on_demand":
                return
            lost.known = True
        yield from self._attach_until_done(lost, lost.uniform() * event.spread_s if event.spread_s else 0.0)

    def _detached_send(self, conn: Connection, app: int, kind: int, p: Payload, generated_s: float) -> bool:
        """A send while the device is detached: nothing goes until it has attached again; a message waits
        for the reconnect after it, a heartbeat is dropped (the next one will do)."""
        if kind != HEARTBEAT:
            self.hold(conn, app, p, generated_s)
        return False

    def _update_detached(self, owner: int) -> None:
        """A periodic update falls due while the device's core has lost its context: the core rejects it as
        "implicitly detached" (TS 24.301 §5.5.3.2.5, cause #10; the reject costs a service reject's
        messages) and the device attaches; once it knows, it makes no periodic updates until attached."""
        lost = self.lost
        if lost.known:
            return
        lost.known = True
        lost.outcome.implicit_detach_rejects += 1
        self._log_reject(owner, None)
        self.env.process(self._attach_until_done(lost, 0.0))

    def _attach_until_done(self, lost: LostContext, wait_s: float) -> Generator[simpy.Event, None, None]:
        """Attach after ``wait_s``, and again after each reject's wait, until the core takes it."""
        env = self.env
        while True:
            yield env.timeout(wait_s)
            with self.lock.request() as turn:
                yield turn
                if self.lost is not lost:
                    return  # attached meanwhile (a RAN outage's re-attach), or a later restart took over
                if env.now < self.down_until:  # its RAN node is down: the outage's re-attach at recovery comes first
                    wait_s = self.down_until - env.now
                    continue
                next_s = yield from self._attach_once(lost)
                if next_s is None:
                    return
                wait_s = next_s

    def _attach_once(self, lost: LostContext) -> Generator[simpy.Event, None, float | None]:
        """One attach attempt (the caller holds the lock), through the limited nodes on the attach's route:
        None if they carried it, else how long the device waits before the next attempt: the T3346 the
        reject carries when the core rejected it under NAS back-off (TS 24.301 §5.5.1.2.5, cause #22; the
        attempt counter restarts), else the radio's short retry timer (T3411), or its long one (T3402) once
        the attempt counter reaches its limit (TS 24.301 §5.5.1.2.6)."""
        t, event, outcome = self.env.now, lost.event, lost.outcome
        outcome.attach_attempts += 1
        admitted, wait_s, by = yield from self._admit([lost.attach], "mo-Signalling")
        if admitted:
            self.log.transition((t + wait_s, self.device, lost.attach, lost.app, self.radio.state))
            self._attached()
            return None
        self._log_reject(lost.app, by)
        outcome.rejected_attempts += 1
        if event.backoff and by[0] not in self.net.RAN_NODES:
            outcome.backoff_waits += 1
            lost.attempts = 0
            return event.t3346_min_s + lost.uniform() * (event.t3346_max_s - event.t3346_min_s)
        short_s, long_s, most = lost.retry
        lost.attempts += 1
        if lost.attempts < most:
            return short_s
        lost.attempts = 0  # T3402's expiry restarts the counter
        return long_s

    def _attached(self) -> None:
        """The device has attached again: its core holds its context; the attach (which leaves the RRC state
        idle, docs/model.md §11) restarts the periodic update timer."""
        outcome = self.lost.outcome
        outcome.reattached += 1
        outcome.reattach_s.append(self.env.now - self.lost.event.at_s)
        self.lost = None
        self.radio.last = self.env.now
        self.arm()

    def _hold_off(self, captured: list[tuple[float, int, int, int, int]], t: float) -> float:
        """Overload controls on a promotion at ``t``: -wait if access is barred (try again
        then), +extended wait if the core refuses the service request, 0 if it may proceed."""
        net = self.net
        barring = net.control_at("access_barring", t)
        if barring is not None:
            if self._barring_draw() < barring.barred_share:  # the device's own draws: not the order of events
                self.stats["barred"] += 1
                return -(0.7 + 0.6 * self._barring_draw()) * barring.barring_time_s
        overload = net.control_at("core_overload", t)
        if overload is not None and any(net.core_promotion[r[2]] for r in captured):
            self.stats["core_rejects"] += 1
            return overload.extended_wait_s
        return 0.0

    def _barring_draw(self) -> float:
        """The device's next access barring draw on [0, 1)."""
        self.barring_k += 1
        return keyed_uniform(self.net.seed, BARRING_STREAM, self.device, self.barring_k - 1)

    def _reconnect(self, conn: Connection, event, jitter: np.ndarray,
                   noticed: tuple[int, Payload] | None = None) -> Generator[simpy.Event, None, None]:
        """The client lost its server: the unanswered send (its app and payload, just sent; None: already
        waited out) is retransmitted until the app's timeout; then it retries by ``event.retry``, each
        attempt a SYN retransmitted on TCP's schedule, until one is answered; then it reconnects and
        beats again from then on (in step with every client that reconnected at that moment)."""
        env, r = self.env, event.retry
        if noticed is not None:
            yield from self._retransmit(*noticed)
        syns_s, attempt_s = self.tcp.connect(r.attempt_timeout_s)
        attempt = 0
        while True:
            if r.policy == "fixed":
                yield env.timeout(r.interval_s)
            elif r.policy == "exponential":
                wait_s = min(r.max_s, r.initial_s * 2.0 ** attempt)
                yield env.timeout(wait_s * jitter[attempt] if r.jitter else wait_s)
            attempt += 1
            done_s = None
            for k, syn_s in enumerate(syns_s):  # the SYN, then its retransmissions while none is answered
                yield env.timeout(syn_s - syns_s[k - 1] if k else 0.0)
                with self.lock.request() as turn:
                    yield turn
                    back = env.now >= event.end_s
                    up, down = self.with_reconnect(conn, _NOTHING) if back else (r.syn_up_bytes, 0)
                    done_s = yield from self._radio(conn.app, up, down, False)
                    if done_s is None:
                        continue
                    if not back:
                        self.log.transfer((done_s, self.device, conn.app, UNANSWERED if k else RECONNECT, up, 0, 1,
                                           done_s))
                        continue
                    self.commit(done_s, conn, conn.app, RECONNECT, None, False, done_s)  # one reconnect, no send
                    conn.retrying, conn.scheduled = False, False
                    break
            else:
                yield env.timeout(attempt_s - syns_s[-1])  # the attempt goes unanswered until it fails
                continue
            if conn.beat is not None:
                self.restart_beats(conn, done_s)
            return

    def restart_beats(self, conn: Connection, from_s: float) -> None:
        """Beat on ``conn.beat`` from ``from_s`` (the next beat one interval later), replacing
        the precomputed schedule and any earlier restart."""
        conn.scheduled = False
        conn.beat_gen += 1
        self.env.process(self._beats(conn, from_s, conn.beat_gen))

    def _beats(self, conn: Connection, from_s: float, gen: int) -> Generator[simpy.Event, None, None]:
        env = self.env
        interval_s, jitter, p, draws = conn.beat
        t, k = from_s, 0
        while True:
            t += interval_s * (1.0 + jitter * draws[k % len(draws)] if draws else 1.0)
            k += 1
            if t > env.now:
                yield env.timeout(t - env.now)
            if conn.retrying or conn.beat_gen != gen:
                return  # an outage or an app update took the connection over
            yield from self.send_gen(conn, conn.app, HEARTBEAT, p, False, t)
