"""The array form of :meth:`sim.engine.phone.Phone.send`: every connection's sends through the NAT.

For the devices of a chunk (rows), one connection kind at a time:

- open-loop connections (fixed or no heartbeat, the push channel): the sends are known, so the
  NAT is a scan along each row. After an outgoing send the connection is fresh; a send finds it
  dead if any gap between consecutive sends since the last outgoing one exceeds the timeout
  (an incoming message on a dead connection is held and refreshes nothing, so the connection
  stays dead until the next outgoing send, which reconnects and carries what was held);
- adaptive heartbeats: each beat's time depends on what the previous one found, so the rows
  step together, send by send, with the Mars state as arrays (``MarsArrays``).

Both return what goes on the radio (:class:`RadioSends`, per row in time order) and log the
transfers exactly as ``Phone`` does. Sends are named by small integer codes (:class:`Codes`):
the stream codes of ``sim.population.schedule``, then one reconnect code per connection owner.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.engine.log import HEARTBEAT, MESSAGE, RECONNECT
from sim.population.heartbeat import MarsArrays
from sim.population.schedule import ConnectionStreams, Stream
from sim.population.traffic import CALLBACK_REQUEST, VOIP_BATCH, AppTraffic, Payload
from sim.scenario.schema import PSEUDO_APPS, VOICE_APP, Heartbeat


KEY = np.int16  # send codes and radio keys: a few per app


@dataclass(frozen=True)
class Codes:
    """What each send code is: app, kind and payload. Codes ``2a`` and ``2a + 1`` are app a's
    heartbeat and message, ``2 x apps`` the push channel's heartbeat, ``2 x apps + 1 + o``
    the reconnect of owner o's connection (o = apps: the push channel), ``3 x apps + 2`` a call-back's
    request and ``3 x apps + 3`` a second of VoIP frames (the voice pseudo-app's: ``PSEUDO_APPS``)."""

    app: np.ndarray
    kind: np.ndarray
    up: np.ndarray
    down: np.ndarray
    packets: np.ndarray
    apps: int

    @staticmethod
    def of(traffic: list[AppTraffic], push: AppTraffic, replays: list[tuple[int, Payload]] = ()) -> Codes:
        """``replays``: (app, payload) of each kind of transfer the apps replaying a capture send, their
        codes after the voice sends' (``sim.population.schedule.trace_codes``)."""
        n = len(traffic)
        payloads: list[tuple[int, int, Payload]] = [(a, k, p) for a, tr in enumerate(traffic)
                                                    for k, p in ((HEARTBEAT, tr.heartbeat), (MESSAGE, tr.message))]
        payloads.append((n, HEARTBEAT, push.heartbeat))
        payloads += [(o, RECONNECT, tr.reconnect) for o, tr in enumerate([*traffic, push])]
        voice = n + PSEUDO_APPS.index(VOICE_APP)  # the voice pseudo-app's code
        payloads += [(voice, MESSAGE, CALLBACK_REQUEST), (voice, MESSAGE, VOIP_BATCH)]
        payloads += [(a, MESSAGE, p) for a, p in replays]
        cols = list(zip(*((a, k, p.up_bytes, p.down_bytes, p.packets) for a, k, p in payloads)))
        return Codes(*(np.array(c, dtype=np.int64) for c in cols), n)

    def table(self) -> np.ndarray:
        """``[code, (app, kind, up, down, packets)]``: ``LogArrays.x_table``."""
        return np.stack([self.app, self.kind, self.up, self.down, self.packets], axis=1)

    def reconnect(self, owner: int) -> int:
        return 2 * self.apps + 1 + owner

    def voice(self, which: np.ndarray) -> np.ndarray:
        """The codes of calls' data sends (``sim.population.schedule.CALLBACK_SEND``, ``VOIP_SEND``)."""
        return (3 * self.apps + 2 + which).astype(KEY)


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
    """The transfer log of a chunk: ``(t, row, code)`` of each, expanded by :meth:`arrays`."""

    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray | int]] = field(default_factory=list)
    held_messages: int = 0

    def add(self, t: np.ndarray, row: np.ndarray, code: np.ndarray | int) -> None:
        self.parts.append((t, row, code))

    def take(self) -> tuple[np.ndarray, ...]:
        """``(t, row, code)`` of every transfer; the parts are let go (memory the next step can reuse)."""
        parts, self.parts = self.parts, []
        t = np.concatenate([p[0] for p in parts] + [np.zeros(0)])
        row = np.concatenate([p[1] for p in parts] + [np.zeros(0, dtype=np.int64)])
        code = np.concatenate([p[2] if isinstance(p[2], np.ndarray) else np.full(p[0].size, p[2])
                               for p in parts] + [np.zeros(0, dtype=np.int64)])
        return t, row, code


def open_loop(conn: ConnectionStreams, codes: Codes, last_s: np.ndarray, nat_s: float | None,
              log: Transfers, beat_gap_s: float | None = None) -> RadioSends:
    """One kind of open-loop connection for every row; ``last_s``: each row's last packet before the
    run; ``beat_gap_s``: the longest gap its heartbeat leaves between sends, if it has one."""
    t = np.concatenate([s.times for s in conn.streams], axis=1)
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
        t, incoming = t.ravel()[flat], incoming.ravel()[flat]
        valid = np.isfinite(t)
        prev = np.concatenate([last_s[:, None], t[:, :-1]], axis=1)
        with np.errstate(invalid="ignore"):  # inf - inf past a row's last send
            timeout = valid & (t - prev > nat_s)
        if timeout.any():
            return _through_nat(t, code, incoming, valid, timeout, codes.reconnect(conn.owner), codes, log)
        sent = np.flatnonzero(valid)
        log.add(t.ravel()[sent], sent // width, code.ravel()[sent])
        return RadioSends(t, code * 2 + incoming)
    # no NAT, or a heartbeat that never lets it time out: the streams as they are (each in time order)
    sent = np.flatnonzero(np.isfinite(t))
    row, col = np.divmod(sent, width)
    log.add(t.ravel()[sent], row, code[col] if code.ndim == 1 else code.ravel()[sent])
    return RadioSends(t, code * 2 + incoming, runs=tuple(s.times.shape[1] for s in conn.streams))


def _through_nat(t: np.ndarray, code: np.ndarray, incoming: np.ndarray, valid: np.ndarray, timeout: np.ndarray,
                 reconnect: int, codes: Codes, log: Transfers) -> RadioSends:
    """:func:`open_loop` where some gap exceeds the NAT timeout."""
    rows, width = t.shape
    outgoing = valid & ~incoming
    cols, base = np.arange(width), (np.arange(rows) * width)[:, None]
    last_out = np.maximum.accumulate(np.where(outgoing, cols, -1), axis=1)
    before = np.concatenate([np.full((rows, 1), -1), last_out[:, :-1]], axis=1)  # last outgoing send before

    def since_outgoing(x: np.ndarray) -> np.ndarray:
        """Cumulative sum of ``x`` since the last outgoing send before each send (excluded)."""
        acc = np.cumsum(x, axis=1)
        return acc - np.where(before >= 0, acc.ravel()[np.maximum(before, 0) + base], 0)

    dead = valid & (since_outgoing(timeout) > 0)
    held, redial = dead & incoming, dead & outgoing
    sent = np.flatnonzero(valid & ~held)
    log.add(t.ravel()[sent], sent // width, code.ravel()[sent])
    again = np.flatnonzero(redial)
    log.add(t.ravel()[again], again // width, reconnect)
    # each held message goes with the next outgoing send (which reconnects), if there is one in the run
    after = np.minimum.accumulate(np.where(outgoing, cols, width)[:, ::-1], axis=1)[:, ::-1]
    delivered = np.flatnonzero(held & (after < width))
    log.add(t.ravel()[(after + base).ravel()[delivered]], delivered // width, code.ravel()[delivered])
    log.held_messages += int(held.sum())
    extra = [np.where(redial, codes_of[reconnect] + since_outgoing(np.where(held, codes_of[code], 0)), 0)
             for codes_of in (codes.up, codes.down)]
    return RadioSends(np.where(held, np.inf, t), code * 2 + (incoming & ~dead), *extra)


def adaptive(a: int, hb: Heartbeat, messages: Stream, installed: np.ndarray, phase: np.ndarray,
             jitter: np.ndarray, nat_s: float | None, end_s: float, codes: Codes, log: Transfers) -> RadioSends:
    """App ``a``'s own connection with an adaptive heartbeat: its beats and messages, all rows in step.

    Each step takes every row's next send (its next beat or next message, the message first on
    a tie), as ``Phone.send`` and ``sim.engine.des._adaptive`` do, and feeds the beats'
    outcomes to the rows' Mars state.
    """
    rows = np.flatnonzero(installed)
    n, r = rows.size, np.arange(rows.size)
    msg_t = np.concatenate([messages.times[rows], np.full((n, 1), np.inf)], axis=1)  # a sentinel column
    msg_in = np.concatenate([messages.incoming[rows], np.zeros((n, 1), dtype=bool)], axis=1)
    nxt = np.zeros(n, dtype=np.int64)  # each row's next message
    beat_t = phase[rows] * hb.min_interval_s  # first beat, in steady state as the SimPy engine starts it
    last_s = beat_t - hb.min_interval_s
    held = np.zeros(n, dtype=np.int64)
    mars, beats, draws = MarsArrays(hb, n), np.zeros(n, dtype=np.int64), jitter[rows]
    beat, message, reconnect = 2 * a, 2 * a + 1, codes.reconnect(a)
    steps: list[tuple[np.ndarray, ...]] = []
    while True:
        msg = msg_t[r, nxt]
        is_beat = beat_t < msg
        t = np.where(is_beat, beat_t, msg)
        live = t < end_s
        if not live.any():
            break
        incoming = ~is_beat & msg_in[r, nxt]
        alive = live if nat_s is None else live & (t - last_s <= nat_s)
        hold, redial = live & incoming & ~alive, live & ~incoming & ~alive
        sent = live & ~hold
        code = np.where(is_beat, beat, message).astype(KEY)
        log.add(t[sent], rows[sent], code[sent])
        log.add(t[redial], rows[redial], reconnect)
        carried = np.repeat(np.flatnonzero(redial), held[redial])
        log.add(t[carried], rows[carried], message)
        log.held_messages += int(hold.sum())
        extra = [np.where(redial, by[reconnect] + held * by[message], 0) for by in (codes.up, codes.down)]
        steps.append((np.where(sent, t, np.inf), code * 2 + (incoming & alive), *extra))
        held = np.where(redial, 0, held + hold)
        last_s = np.where(sent, t, last_s)
        nxt += live & ~is_beat
        b = np.flatnonzero(live & is_beat)
        mars.result(b, alive[b])
        interval = mars.next_interval_s(b)
        if draws.shape[1]:
            interval = interval * (1.0 + hb.jitter * draws[b, beats[b]])
            beats[b] += 1
        beat_t[b] = beat_t[b] + interval
    shape = (installed.size, len(steps))
    out = RadioSends(np.full(shape, np.inf), np.zeros(shape, dtype=KEY), np.zeros(shape, dtype=np.int64),
                     np.zeros(shape, dtype=np.int64))
    for f, col in zip(("t", "key", "extra_up", "extra_down"), zip(*steps)):
        getattr(out, f)[rows] = np.stack(col, axis=1)
    return out
