"""The array form of :meth:`sim.engine.phone.Phone.send`: every connection's sends through the NAT.

For the devices of a chunk (rows), one connection kind at a time:

- open-loop connections (fixed or no heartbeat, the push channel): the sends are known, so the
  NAT is a scan along each row. After an outgoing send the connection is fresh; a send finds it
  dead if any gap between consecutive sends since the last outgoing one exceeds the timeout
  (an incoming message on a dead connection is held and refreshes nothing, so the connection
  stays dead until the next outgoing send, which reconnects and carries what was held);
- adaptive heartbeats: each beat's time depends on what the previous one found, so the rows
  step together, send by send, with the Mars state as arrays (``MarsArrays``).

With ``network.tcp`` retransmitting, a send that finds its connection dropped goes unanswered:
its first transmission and TCP's retransmissions (``sim.population.tcp``) go on the radio as one
more run per row (:func:`unanswered_run`), and the app reconnects after its timeout, carrying the
send and every message that waited meanwhile (heartbeats due meanwhile are skipped); the open-loop
scan walks such rows send by send in compiled form (:func:`_walk`).

Both return what goes on the radio (:class:`RadioSends`, per row in time order) and log the
transfers exactly as ``Phone`` does. Sends are named by small integer codes (:class:`Codes`):
the stream codes of ``sim.population.schedule``, then one reconnect code per connection owner.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from numba import njit

from sim.engine.log import HEARTBEAT, MESSAGE, RECONNECT, UNANSWERED
from sim.population.heartbeat import MarsArrays
from sim.population.schedule import ConnectionStreams, Stream
from sim.population.tcp import TcpTiming, unanswered
from sim.population.traffic import CALLBACK_REQUEST, VOIP_BATCH, AppTraffic, Payload
from sim.scenario.schema import PSEUDO_APPS, VOICE_APP, Heartbeat


KEY = np.int32  # send codes and radio keys: a few per app and per replayed kind (int16 overflowed at ~2,300 apps)


@dataclass(frozen=True)
class Codes:
    """What each send code is: app, kind and payload. Codes ``2a`` and ``2a + 1`` are app a's
    heartbeat and message, ``2 x apps`` the push channel's heartbeat, ``2 x apps + 1 + o``
    the reconnect of owner o's connection (o = apps: the push channel), ``3 x apps + 2`` a call-back's
    request and ``3 x apps + 3`` a second of VoIP frames (the voice pseudo-app's: ``PSEUDO_APPS``),
    then the ``replays`` kinds of replayed transfer; with unanswered codes, then for each code a
    connection sends (the streams' and the replays') the first transmission of its unanswered send
    (:meth:`failed`), then its retransmission (:meth:`again`); then, per server outage, three codes of its
    app's (:meth:`outage`): a connect attempt's SYN, a retransmission of it, and the answered reconnect's
    radio transfer (no bytes of its own: it carries the reconnect's and the held messages', logged as those)."""

    app: np.ndarray
    kind: np.ndarray
    up: np.ndarray
    down: np.ndarray
    packets: np.ndarray
    apps: int
    replays: int
    unanswered: bool = False  # whether the unanswered codes are there
    outages: tuple[int, ...] = ()  # per scenario event: the first of a server outage's codes (-1: another kind)

    @staticmethod
    def of(traffic: list[AppTraffic], push: AppTraffic, replays: list[tuple[int, Payload]] = (),
           unanswered_codes: bool = False, outages: Sequence[tuple[int, int] | None] = ()) -> Codes:
        """``replays``: (app, payload) of each kind of transfer the apps replaying a capture send, their
        codes after the voice sends' (``sim.population.schedule.trace_codes``); ``unanswered_codes``: then
        the codes of unanswered transmissions, for a scenario whose NAT can drop connections (or whose servers go
        down); ``outages``: per scenario event, a server outage's (app, SYN bytes), None for another kind."""
        n = len(traffic)
        payloads: list[tuple[int, int, Payload]] = [(a, k, p) for a, tr in enumerate(traffic)
                                                    for k, p in ((HEARTBEAT, tr.heartbeat), (MESSAGE, tr.message))]
        payloads.append((n, HEARTBEAT, push.heartbeat))
        payloads += [(o, RECONNECT, tr.reconnect) for o, tr in enumerate([*traffic, push])]
        voice = n + PSEUDO_APPS.index(VOICE_APP)  # the voice pseudo-app's code
        payloads += [(voice, MESSAGE, CALLBACK_REQUEST), (voice, MESSAGE, VOIP_BATCH)]
        payloads += [(a, MESSAGE, p) for a, p in replays]
        if unanswered_codes:  # sent only where the NAT can drop connections: other scenarios have none
            sent = payloads[:2 * n + 1] + payloads[3 * n + 4:]
            payloads += [(a, UNANSWERED, unanswered(p)[which]) for which in range(2) for a, _, p in sent]
        firsts = []
        for outage in outages:
            firsts.append(len(payloads) if outage is not None else -1)
            if outage is not None:
                a, syn_up = outage
                syn = Payload(syn_up, 0, 1)
                payloads += [(a, RECONNECT, syn), (a, UNANSWERED, syn), (a, RECONNECT, Payload(0, 0, 0))]
        cols = list(zip(*((a, k, p.up_bytes, p.down_bytes, p.packets) for a, k, p in payloads)))
        return Codes(*(np.array(c, dtype=np.int64) for c in cols), n, len(replays), unanswered_codes, tuple(firsts))

    def table(self) -> np.ndarray:
        """``[code, (app, kind, up, down, packets)]``: ``LogArrays.x_table``."""
        return np.stack([self.app, self.kind, self.up, self.down, self.packets], axis=1)

    def reconnect(self, owner: int) -> int:
        return 2 * self.apps + 1 + owner

    def outage(self, event: int) -> int:
        """The first of server outage ``event``'s codes (its index in the scenario's events)."""
        return self.outages[event]

    def voice(self, which: np.ndarray) -> np.ndarray:
        """The codes of calls' data sends (``sim.population.schedule.CALLBACK_SEND``, ``VOIP_SEND``)."""
        return (3 * self.apps + 2 + which).astype(KEY)

    def failed(self, code: np.ndarray) -> np.ndarray:
        """The first transmission of the unanswered send of ``code`` (a stream's or a replay's)."""
        n = self.apps
        return (3 * n + 4 + self.replays + np.where(code <= 2 * n, code, code - (n + 3))).astype(KEY)

    def again(self, code: np.ndarray) -> np.ndarray:
        """A retransmission of the unanswered send of ``code``."""
        return (self.failed(code) + 2 * self.apps + 1 + self.replays).astype(KEY)


@dataclass(frozen=True)
class RadioSends:
    """Transfers on the radio, ``[row, k]``: each row is ``runs``, ranges of columns of the given widths,
    each in time order but for ``inf`` entries (no transfer); ``runs`` None: one run, all columns."""

    t: np.ndarray
    key: np.ndarray  # KEY: send code x 2 + 1 if mobile-terminated on a live connection (which pages the device)
    extra_up: np.ndarray | None = None  # bytes more than the code's: a reconnect and held messages; None: none
    extra_down: np.ndarray | None = None
    runs: tuple[int, ...] | None = None

    @property
    def widths(self) -> tuple[int, ...]:
        return self.runs if self.runs is not None else (self.t.shape[1],)

    @staticmethod
    def concat(parts: list[RadioSends]) -> RadioSends:
        """Every part's sends per row, side by side (the RRC machines merge the runs in time order; ties
        keep the parts' order)."""
        t = np.concatenate([p.t for p in parts], axis=1)
        key = np.concatenate([p.key for p in parts], axis=1)
        runs = tuple(w for p in parts for w in p.widths)
        if all(p.extra_up is None for p in parts):
            return RadioSends(t, key, runs=runs)
        extra = [np.concatenate([getattr(p, f) if getattr(p, f) is not None else np.zeros(p.t.shape, dtype=np.int64)
                                 for p in parts], axis=1) for f in ("extra_up", "extra_down")]
        return RadioSends(t, key, *extra, runs=runs)


@dataclass
class Transfers:
    """The transfer log of a chunk: ``(t, row, code, generated)`` of each, expanded by :meth:`take`."""

    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray | int, np.ndarray]] = field(default_factory=list)
    held_messages: int = 0

    def add(self, t: np.ndarray, row: np.ndarray, code: np.ndarray | int, generated: np.ndarray | None = None
            ) -> None:
        """Log transfers at ``t``, generated at ``generated`` (None: at ``t``; ``LogArrays.x_generated_t``)."""
        self.parts.append((t, row, code, t if generated is None else generated))

    def take(self) -> tuple[np.ndarray, ...]:
        """``(t, row, code, generated)`` of every transfer; the parts are let go (memory the next step can
        reuse)."""
        parts, self.parts = self.parts, []
        t = np.concatenate([p[0] for p in parts] + [np.zeros(0)])
        row = np.concatenate([p[1] for p in parts] + [np.zeros(0, dtype=np.int64)])
        code = np.concatenate([p[2] if isinstance(p[2], np.ndarray) else np.full(p[0].size, p[2])
                               for p in parts] + [np.zeros(0, dtype=np.int64)])
        generated = np.concatenate([p[3] for p in parts] + [np.zeros(0)])
        return t, row, code, generated


def open_loop(conn: ConnectionStreams, codes: Codes, last_s: np.ndarray, nat_s: float | None, tcp: TcpTiming,
              end_s: float, log: Transfers, beat_gap_s: float | None = None) -> list[RadioSends]:
    """One kind of open-loop connection for every row; ``last_s``: each row's last packet before the
    run; ``beat_gap_s``: the longest gap its heartbeat leaves between sends, if it has one. Returns its
    sends on the radio, and the unanswered ones' run if any."""
    t = np.concatenate([s.times for s in conn.streams], axis=1)
    gen = np.concatenate([s.generated_s for s in conn.streams], axis=1)
    code = np.concatenate([np.full(s.times.shape[1], s.code, dtype=KEY) for s in conn.streams])
    if any(s.codes is not None for s in conn.streams):  # a replay: a code per send, [row, k] like the times
        code = np.concatenate([np.full(s.times.shape, s.code, dtype=KEY) if s.codes is None else s.codes.astype(KEY)
                               for s in conn.streams], axis=1)
    incoming = np.concatenate([s.incoming if s.incoming is not None else np.zeros(s.times.shape, dtype=bool)
                               for s in conn.streams], axis=1)
    rows, width = t.shape
    if nat_s is not None and not (beat_gap_s is not None and beat_gap_s * (1.0 + 1e-9) < nat_s):
        # the NAT may time out: walk each row's sends in time order
        order = np.argsort(t, axis=1, kind="stable")  # ties in stream-code order, as the SimPy engine
        flat = order + (np.arange(rows) * width)[:, None]
        code = code[order] if code.ndim == 1 else code.ravel()[flat]
        t, incoming, gen = t.ravel()[flat], incoming.ravel()[flat], gen.ravel()[flat]
        valid = np.isfinite(t)
        prev = np.concatenate([last_s[:, None], t[:, :-1]], axis=1)
        with np.errstate(invalid="ignore"):  # inf - inf past a row's last send
            timeout = valid & (t - prev > nat_s)
        if timeout.any():
            return _through_nat(t, code, incoming, gen, last_s, nat_s, tcp, end_s, codes.reconnect(conn.owner),
                                codes, log)
        sent = np.flatnonzero(valid)
        log.add(t.ravel()[sent], sent // width, code.ravel()[sent], gen.ravel()[sent])
        return [RadioSends(t, code * 2 + incoming)]
    # no NAT, or a heartbeat that never lets it time out: the streams as they are (each in time order)
    sent = np.flatnonzero(np.isfinite(t))
    row, col = np.divmod(sent, width)
    log.add(t.ravel()[sent], row, code[col] if code.ndim == 1 else code.ravel()[sent], gen.ravel()[sent])
    return [RadioSends(t, code * 2 + incoming, runs=tuple(s.times.shape[1] for s in conn.streams))]


@njit(cache=True, nogil=True)
def _walk(t: np.ndarray, beat: np.ndarray, incoming: np.ndarray, last_s: np.ndarray, nat_s: float,
          wait_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row's sends (in time order, ``inf`` past its last) through the NAT, one by one as
    ``Phone.send`` takes them. Per send: when it goes on the radio (``inf``: held, or a heartbeat
    skipped), whether it found the connection dropped and redials (then its radio time is the
    reconnect's, ``wait_s`` later), whether it was received on a live connection (it pages), and the
    column of the reconnect that carries it if it was held (-2: held, and no reconnect follows; -1: not
    held)."""
    rows, width = t.shape
    radio_t = np.full((rows, width), np.inf)
    redial = np.zeros((rows, width), dtype=np.bool_)
    paged = np.zeros((rows, width), dtype=np.bool_)
    holder = np.full((rows, width), -1, dtype=np.int64)
    waiting = np.zeros(width, dtype=np.int64)  # held since the last reconnect
    for i in range(rows):
        last, pend, redial_s, held = last_s[i], -1, np.inf, 0
        for k in range(width):
            tk = t[i, k]
            if tk == np.inf:
                break
            if pend >= 0:
                if tk < redial_s:  # the app waits out its timeout: heartbeats skipped, messages held
                    if not beat[i, k]:
                        waiting[held] = k
                        held += 1
                    continue
                for h in range(held):
                    holder[i, waiting[h]] = pend
                last, pend, held = redial_s, -1, 0
            if tk - last > nat_s:
                if incoming[i, k]:
                    waiting[held] = k
                    held += 1
                    continue
                redial[i, k] = True
                if wait_s > 0.0:
                    pend, redial_s = k, tk + wait_s
                    radio_t[i, k] = redial_s
                    continue
                for h in range(held):
                    holder[i, waiting[h]] = k
                held = 0
            radio_t[i, k] = tk
            paged[i, k] = incoming[i, k] and not redial[i, k]
            last = tk
        for h in range(held):
            holder[i, waiting[h]] = pend if pend >= 0 else -2
    return radio_t, redial, paged, holder


def _through_nat(t: np.ndarray, code: np.ndarray, incoming: np.ndarray, gen: np.ndarray, last_s: np.ndarray,
                 nat_s: float, tcp: TcpTiming, end_s: float, reconnect: int, codes: Codes, log: Transfers
                 ) -> list[RadioSends]:
    """:func:`open_loop` where some gap exceeds the NAT timeout (``gen``: when each send was generated)."""
    rows, width = t.shape
    wait_s = tcp.nat_wait_s
    radio_t, redial, paged, holder = _walk(t, codes.kind[code] == HEARTBEAT, incoming, last_s, nat_s, wait_s)
    radio_t[radio_t >= end_s] = np.inf  # a reconnect the run's end cut off (every send is before it)
    live = np.flatnonzero(np.isfinite(radio_t) & ~redial)
    log.add(t.ravel()[live], live // width, code.ravel()[live], gen.ravel()[live])
    again = np.flatnonzero(np.isfinite(radio_t) & redial)
    log.add(radio_t.ravel()[again], again // width, reconnect)  # the reconnect, and the send it carries
    log.add(radio_t.ravel()[again], again // width, code.ravel()[again], gen.ravel()[again])
    held = np.flatnonzero(holder >= 0)
    carrier = holder.ravel()[held] + held // width * width
    delivered = np.isfinite(radio_t.ravel()[carrier])
    log.add(radio_t.ravel()[carrier[delivered]], held[delivered] // width, code.ravel()[held[delivered]],
            gen.ravel()[held[delivered]])
    log.held_messages += int((holder != -1).sum())
    extra = []
    for by in (codes.up, codes.down):
        x = np.where(redial, by[reconnect], 0)
        np.add.at(x.ravel(), carrier, by[code.ravel()[held]])
        extra.append(x)
    parts = [RadioSends(radio_t, code * 2 + paged, *extra)]
    if wait_s > 0.0:
        failed = np.flatnonzero(redial)
        parts.append(unanswered_run(rows, failed // width, t.ravel()[failed], code.ravel()[failed], tcp, end_s,
                                    codes, log))
    return parts


def unanswered_run(rows: int, row: np.ndarray, t: np.ndarray, code: np.ndarray, tcp: TcpTiming, end_s: float,
                   codes: Codes, log: Transfers) -> RadioSends:
    """The unanswered sends ``(row, t, code)`` (each row's in time order) on the radio and in the log: each
    its first transmission at ``t``, then TCP's retransmissions until the app's timeout (``Phone.go_unanswered``)."""
    offsets = np.array((0.0, *tcp.unanswered_s))
    times = t[:, None] + offsets  # the first at t + 0.0 = t
    key = np.concatenate([codes.failed(code)[:, None],
                          np.repeat(codes.again(code)[:, None], offsets.size - 1, axis=1)], axis=1)
    np.copyto(times, np.inf, where=times >= end_s)
    sent = np.isfinite(times)
    log.add(times[sent], np.repeat(row, offsets.size).reshape(times.shape)[sent], key[sent])
    counts = np.bincount(row, minlength=rows) * offsets.size
    col = np.arange(row.size * offsets.size) - np.repeat(np.cumsum(counts) - counts, counts)
    out_t, out_key = np.full((rows, int(counts.max(initial=0))), np.inf), np.zeros((rows, int(counts.max(initial=0))),
                                                                                     dtype=KEY)
    out_t[np.repeat(row, offsets.size), col] = times.ravel()
    out_key[np.repeat(row, offsets.size), col] = key.ravel() * 2
    return RadioSends(out_t, out_key)


def adaptive(a: int, hb: Heartbeat, messages: Stream, installed: np.ndarray, phase: np.ndarray,
             jitter: np.ndarray, nat_s: float | None, tcp: TcpTiming, end_s: float, codes: Codes,
             log: Transfers) -> list[RadioSends]:
    """App ``a``'s own connection with an adaptive heartbeat: its beats and messages, all rows in step.

    Each step takes every row's next event (a reconnect the app waited for, its next beat or its next
    message, in that order on a tie), as ``Phone.send`` and ``sim.engine.des._adaptive`` do, and feeds
    the beats' outcomes to the rows' Mars state.
    """
    rows = np.flatnonzero(installed)
    n, r = rows.size, np.arange(rows.size)
    msg_t = np.concatenate([messages.times[rows], np.full((n, 1), np.inf)], axis=1)  # a sentinel column
    msg_in = np.concatenate([messages.incoming[rows], np.zeros((n, 1), dtype=bool)], axis=1)
    msg_gen = np.concatenate([messages.generated_s[rows], np.full((n, 1), np.inf)], axis=1)
    nxt = np.zeros(n, dtype=np.int64)  # each row's next message
    beat_t = phase[rows] * hb.min_interval_s  # first beat, in steady state as the SimPy engine starts it
    last_s = beat_t - hb.min_interval_s
    held = np.zeros(n, dtype=np.int64)
    wait_s = tcp.nat_wait_s
    redial_s, redial_code = np.full(n, np.inf), np.zeros(n, dtype=KEY)  # a reconnect the app waits to make
    redial_gen = np.zeros(n)  # when the send it carries was generated
    # held messages (row, generated, the row's redials before) and the redials that carry them (row, number, t)
    holds: list[tuple[np.ndarray, ...]] = []
    redials: list[tuple[np.ndarray, ...]] = []
    redialled = np.zeros(n, dtype=np.int64)
    mars, beats, draws = MarsArrays(hb, n), np.zeros(n, dtype=np.int64), jitter[rows]
    beat, message, reconnect = 2 * a, 2 * a + 1, codes.reconnect(a)
    steps: list[tuple[np.ndarray, ...]] = []
    failed: list[tuple[np.ndarray, ...]] = []  # unanswered sends: (row, t, code)
    while True:
        msg = msg_t[r, nxt]
        is_redial = redial_s <= np.minimum(beat_t, msg)
        is_beat = ~is_redial & (beat_t < msg)
        t = np.where(is_redial, redial_s, np.where(is_beat, beat_t, msg))
        live = t < end_s
        if not live.any():
            break
        waiting = live & ~is_redial & (redial_s < np.inf)  # skipped (a beat) or held (a message)
        incoming = ~is_beat & ~is_redial & msg_in[r, nxt]
        alive = live if nat_s is None else live & (t - last_s <= nat_s)
        alive &= ~is_redial & ~waiting
        hold = live & ~is_beat & ~is_redial & (waiting | (incoming & ~alive))
        dropped = live & ~is_redial & ~waiting & ~incoming & ~alive  # an outgoing send finds it dropped
        redial = (dropped if wait_s == 0.0 else np.zeros(n, dtype=bool)) | (live & is_redial)
        sent = alive | redial
        code = np.where(is_redial, redial_code, np.where(is_beat, beat, message)).astype(KEY)
        gen = np.where(is_redial, redial_gen, np.where(is_beat, t, msg_gen[r, nxt]))
        log.add(t[sent], rows[sent], code[sent], gen[sent])
        log.add(t[redial], rows[redial], reconnect)
        h, rd = np.flatnonzero(hold), np.flatnonzero(redial)
        holds.append((h, msg_gen[h, nxt[h]], redialled[h]))
        redials.append((rd, redialled[rd], t[rd]))
        redialled[rd] += 1
        log.held_messages += int(hold.sum())
        extra = [np.where(redial, by[reconnect] + held * by[message], 0) for by in (codes.up, codes.down)]
        steps.append((np.where(sent, t, np.inf), code * 2 + (incoming & alive), *extra))
        held = np.where(redial, 0, held + hold)
        last_s = np.where(sent, t, last_s)
        if wait_s > 0.0:  # the dropped sends go unanswered; the app reconnects after its timeout
            fail = np.flatnonzero(dropped)
            failed.append((rows[fail], t[fail], code[fail]))
            redial_s[fail], redial_code[fail], redial_gen[fail] = t[fail] + wait_s, code[fail], gen[fail]
        redial_s[is_redial] = np.inf
        nxt += live & ~is_beat & ~is_redial
        b = np.flatnonzero(live & is_beat & ~is_redial)
        told = ~waiting[b]  # a beat skipped while the app waits to reconnect tells Mars nothing
        mars.result(b[told], alive[b[told]])
        interval = mars.next_interval_s(b)
        if draws.shape[1]:
            interval = interval * (1.0 + hb.jitter * draws[b, beats[b]])
            beats[b] += 1
        # a beat that found the connection dropped: the next one an interval after its reconnect
        beat_t[b] = np.where(dropped[b], beat_t[b] + wait_s, beat_t[b]) + interval
    _carry_held(holds, redials, rows, message, log)
    shape = (installed.size, len(steps))
    out = RadioSends(np.full(shape, np.inf), np.zeros(shape, dtype=KEY), np.zeros(shape, dtype=np.int64),
                     np.zeros(shape, dtype=np.int64))
    for f, col in zip(("t", "key", "extra_up", "extra_down"), zip(*steps)):
        getattr(out, f)[rows] = np.stack(col, axis=1)
    if not failed:
        return [out]
    row, t, code = (np.concatenate(c) for c in zip(*failed))
    order = np.argsort(row, kind="stable")  # each row's in time order (the steps')
    return [out, unanswered_run(installed.size, row[order], t[order], code[order], tcp, end_s, codes, log)]


def _carry_held(holds: list[tuple[np.ndarray, ...]], redials: list[tuple[np.ndarray, ...]], rows: np.ndarray,
                message: int, log: Transfers) -> None:
    """Log the messages an adaptive connection held, each with the reconnect that carried it: a row's message
    held after its k-th reconnect goes with its (k + 1)-th, if one comes before the run's end."""
    ints, floats = np.zeros(0, dtype=np.int64), np.zeros(0)
    h_row, h_gen, h_k = (np.concatenate([x[i] for x in holds] + [e]) for i, e in enumerate((ints, floats, ints)))
    r_row, r_k, r_t = (np.concatenate([x[i] for x in redials] + [e]) for i, e in enumerate((ints, ints, floats)))
    span = int(max(h_k.max(initial=0), r_k.max(initial=0))) + 1
    key, wanted = r_row * span + r_k, h_row * span + h_k
    order = np.argsort(key)
    at = np.minimum(np.searchsorted(key[order], wanted), max(key.size - 1, 0))
    found = (key[order][at] == wanted) if key.size else np.zeros(wanted.size, dtype=bool)
    log.add(r_t[order][at[found]], rows[h_row[found]], message, h_gen[found])
