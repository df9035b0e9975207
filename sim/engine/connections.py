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
transfers exactly as ``Phone`` does.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.engine.log import HEARTBEAT, MESSAGE, RECONNECT
from sim.population.heartbeat import MarsArrays
from sim.population.schedule import ConnectionStreams, Stream
from sim.population.traffic import AppTraffic, Payload
from sim.scenario.schema import Heartbeat


@dataclass(frozen=True)
class RadioSends:
    """Transfers on the radio, ``[row, k]`` in time order per row, ``inf`` times after a row's last."""

    t: np.ndarray
    app: np.ndarray  # the sending app (promotion owner)
    incoming: np.ndarray  # mobile-terminated on a live connection: pages the device
    up: np.ndarray  # bytes, with the reconnect and held messages a dead connection's send carries
    down: np.ndarray

    @staticmethod
    def concat(parts: list[RadioSends]) -> RadioSends:
        """Every part's sends per row, merged in time order (ties keep the parts' order)."""
        t = np.concatenate([p.t for p in parts], axis=1)
        order = np.argsort(t, axis=1, kind="stable")  # rows are a few sorted runs: a merge
        flat = order + (np.arange(t.shape[0]) * t.shape[1])[:, None]
        return RadioSends(*(np.concatenate([getattr(p, f) for p in parts], axis=1).ravel()[flat]
                            for f in ("t", "app", "incoming", "up", "down")))


@dataclass
class Transfers:
    """The transfer log of a chunk, as columns (``sim.engine.log.LogArrays`` ``x_*``)."""

    columns: list[tuple[np.ndarray, ...]] = field(default_factory=list)
    held_messages: int = 0

    def add(self, t: np.ndarray, row: np.ndarray, app: np.ndarray | int, kind: np.ndarray | int,
            up: np.ndarray | int, down: np.ndarray | int, packets: np.ndarray | int) -> None:
        full = (lambda v: v if isinstance(v, np.ndarray) else np.full(t.size, v, dtype=np.int64))
        self.columns.append((t, row, full(app), full(kind), full(up), full(down), full(packets)))

    def arrays(self) -> tuple[np.ndarray, ...]:
        if not self.columns:
            return tuple(np.zeros(0, dtype=np.float64 if i == 0 else np.int64) for i in range(7))
        return tuple(np.concatenate(c) for c in zip(*self.columns))


def _by_code(payloads: list[Payload]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bytes up, down and packets per stream code."""
    return tuple(np.array([getattr(p, f) for p in payloads], dtype=np.int64)
                 for f in ("up_bytes", "down_bytes", "packets"))


def stream_payloads(traffic: list[AppTraffic], push: AppTraffic) -> list[Payload]:
    """The payload of each stream code: app a's heartbeat and message, then the push channel's heartbeat."""
    return [p for tr in traffic for p in (tr.heartbeat, tr.message)] + [push.heartbeat]


def open_loop(conn: ConnectionStreams, payloads: list[Payload], reconnect: Payload, last_s: np.ndarray,
              nat_s: float | None, log: Transfers) -> RadioSends:
    """One kind of open-loop connection for every row; ``last_s``: each row's last packet before the run."""
    owner = conn.owner
    t = np.concatenate([s.times for s in conn.streams], axis=1)
    rows, width = t.shape
    order = np.argsort(t, axis=1, kind="stable")  # ties in stream-code order, as the SimPy engine
    flat = order + (np.arange(rows) * width)[:, None]
    t = t.ravel()[flat]
    code = np.concatenate([np.full(s.times.shape[1], s.code) for s in conn.streams])[order]
    incoming = np.concatenate([s.incoming if s.incoming is not None else np.zeros(s.times.shape, dtype=bool)
                               for s in conn.streams], axis=1).ravel()[flat]
    valid = np.isfinite(t)
    if not valid.any():
        return RadioSends(t, *(np.zeros(t.shape, dtype=dt) for dt in (np.int64, bool, np.int64, np.int64)))
    up_of, down_of, packets_of = _by_code(payloads)
    app, kind = code // 2, np.where(code % 2 == 0, HEARTBEAT, MESSAGE)
    up, down = up_of[code], down_of[code]
    row = np.broadcast_to(np.arange(rows)[:, None], t.shape)
    if nat_s is None:
        log.add(t[valid], row[valid], app[valid], kind[valid], up[valid], down[valid], packets_of[code][valid])
        return RadioSends(t, app, incoming, up, down)

    outgoing = valid & ~incoming
    cols, base = np.arange(width), (np.arange(rows) * width)[:, None]
    last_out = np.maximum.accumulate(np.where(outgoing, cols, -1), axis=1)
    before = np.concatenate([np.full((rows, 1), -1), last_out[:, :-1]], axis=1)  # last outgoing send before

    def since_outgoing(x: np.ndarray) -> np.ndarray:
        """Cumulative sum of ``x`` since the last outgoing send before each send (excluded)."""
        acc = np.cumsum(x, axis=1)
        return acc - np.where(before >= 0, acc.ravel()[np.maximum(before, 0) + base], 0)

    prev = np.concatenate([last_s[:, None], t[:, :-1]], axis=1)
    with np.errstate(invalid="ignore"):  # inf - inf past a row's last send
        timeout = valid & (t - prev > nat_s)
    dead = valid & (since_outgoing(timeout) > 0)
    held, redial = dead & incoming, dead & outgoing
    held_up, held_down = (since_outgoing(np.where(held, v, 0)) for v in (up, down))
    sent = valid & ~held
    packets = packets_of[code]
    log.add(t[sent], row[sent], app[sent], kind[sent], up[sent], down[sent], packets[sent])
    log.add(t[redial], row[redial], owner, RECONNECT, reconnect.up_bytes, reconnect.down_bytes, reconnect.packets)
    # each held message goes with the next outgoing send (which reconnects), if there is one in the run
    after = np.minimum.accumulate(np.where(outgoing, cols, width)[:, ::-1], axis=1)[:, ::-1]
    delivered = held & (after < width)
    log.add(t.ravel()[(after + base)[delivered]], row[delivered], app[delivered], MESSAGE, up[delivered],
            down[delivered], packets[delivered])
    log.held_messages += int(held.sum())
    return RadioSends(np.where(held, np.inf, t), app, incoming & ~dead,
                      up + np.where(redial, reconnect.up_bytes + held_up, 0),
                      down + np.where(redial, reconnect.down_bytes + held_down, 0))


def adaptive(a: int, hb: Heartbeat, traffic: AppTraffic, messages: Stream, installed: np.ndarray,
             phase: np.ndarray, jitter: np.ndarray, nat_s: float | None, end_s: float, log: Transfers) -> RadioSends:
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
    p, m, rc = traffic.heartbeat, traffic.message, traffic.reconnect
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
        up, down, packets = (np.where(is_beat, getattr(p, f), getattr(m, f)) for f in ("up_bytes", "down_bytes",
                                                                                        "packets"))
        log.add(t[sent], rows[sent], a, np.where(is_beat, HEARTBEAT, MESSAGE)[sent], up[sent], down[sent],
                packets[sent])
        log.add(t[redial], rows[redial], a, RECONNECT, rc.up_bytes, rc.down_bytes, rc.packets)
        carried = np.repeat(np.flatnonzero(redial), held[redial])
        log.add(t[carried], rows[carried], a, MESSAGE, m.up_bytes, m.down_bytes, m.packets)
        log.held_messages += int(hold.sum())
        steps.append((np.where(sent, t, np.inf), incoming & alive,
                      up + np.where(redial, rc.up_bytes + held * m.up_bytes, 0),
                      down + np.where(redial, rc.down_bytes + held * m.down_bytes, 0)))
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
    width = len(steps)
    out = RadioSends(np.full((installed.size, width), np.inf), np.full((installed.size, width), a),
                     np.zeros((installed.size, width), dtype=bool), *(np.zeros((installed.size, width), dtype=np.int64)
                                                                     for _ in range(2)))
    for f, col in zip(("t", "incoming", "up", "down"), zip(*steps)):
        getattr(out, f)[rows] = np.stack(col, axis=1)
    return out
