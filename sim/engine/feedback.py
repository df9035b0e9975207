"""The array form of :class:`sim.engine.controlled.ControlledPhone` where the only feedback is per device.

Server outages, heartbeat changes and NAT changes without limited nodes (``Scenario.per_device_feedback``)
change what a phone sends next only through its own state: the outage it noticed at its next send, its
retry schedule, its reconnect and the heartbeat phase that follows. So each connection of a chunk is
walked row by row in compiled form (:func:`_walk`), as the SimPy engine's processes take it, and what it
puts on the radio goes through the same compiled RRC machines as the open loop's (``sim.engine.fast``).

The SimPy engine's times are its clock's: a process that waits until ``t`` wakes at ``now + (t - now)``,
which may differ from ``t`` in the last bit. Both forms here reproduce that arithmetic (the device's
schedule process, :func:`simpy_clock`; each retry, retransmission and restarted-heartbeat process, in
:func:`_walk`), so the logs are equal record for record. Sends of one connection at the very same
instant (a probability-zero event with continuous times) are taken in a fixed order: the retry or
wait-out process's step, a restarted heartbeat, a heartbeat change, a scheduled send.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from sim.engine.connections import KEY, Codes, RadioSends, Transfers
from sim.engine.log import HEARTBEAT
from sim.population.draws import BlockDraws
from sim.population.schedule import ConnectionStreams, connection_streams, push_users
from sim.population.tcp import TcpTiming
from sim.scenario.schema import Scenario

IMMEDIATE, FIXED, EXPONENTIAL = 0, 1, 2  # retry policies, as ``Retry.policy``
POLICY = {"immediate": IMMEDIATE, "fixed": FIXED, "exponential": EXPONENTIAL}
# the walk's process steps: TCP's retransmissions of an unanswered send, the end of the app's wait for an
# answer, the retry policy's wait before an attempt, one SYN of an attempt
_RETRANSMIT, _WAITED, _POLICY_WAIT, _SYN = 0, 1, 2, 3
_NO_PROCESS, _WAIT_OUT, _RECONNECT = 0, 1, 2  # what the process is: none, ControlledPhone._wait_out, _reconnect


@njit(cache=True, nogil=True)
def simpy_clock(t: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """When a SimPy process that waits for each of ``t[offsets[i]:offsets[i + 1]]`` in turn (sorted; from
    time 0) wakes: ``now + (t - now)``, or at once (``now``) for a time not after it."""
    out = np.empty_like(t)
    for i in range(offsets.size - 1):
        now = 0.0
        for k in range(offsets[i], offsets[i + 1]):
            if t[k] > now:
                now = now + (t[k] - now)
            out[k] = now
    return out


def device_clock(conns: list[ConnectionStreams], rows: int) -> list[list[np.ndarray]]:
    """Every stream's send times (``[row, k]`` per connection and stream) as the SimPy engine's schedule
    process takes them: one per device, over the sends of all its connections in time order, ties in stream
    order (``sim.engine.des._controlled_schedule``)."""
    streams = [s for c in conns for s in c.streams]
    cells = [np.nonzero(np.isfinite(s.times)) for s in streams]
    row = np.concatenate([r for r, _ in cells])
    t = np.concatenate([s.times[r, k] for s, (r, k) in zip(streams, cells)])
    stream = np.concatenate([np.full(r.size, s.code) for s, (r, _) in zip(streams, cells)])
    order = np.lexsort((stream, t, row))
    actual = np.empty_like(t)
    actual[order] = simpy_clock(t[order], np.searchsorted(row[order], np.arange(rows + 1)))
    out: list[list[np.ndarray]] = []
    at, cell = 0, iter(cells)
    for c in conns:
        out.append([])
        for s in c.streams:
            m, (r, k) = s.times.copy(), next(cell)
            m[r, k] = actual[at:at + r.size]
            at += r.size
            out[-1].append(m)
    return out


@njit(cache=True, nogil=True)
def _walk(t, gen, code, incoming, beat, last0, nat_at, nat_val, o_start, o_end, o_policy, o_param, o_jitter, o_draws,
          o_syns, o_nsyn, o_code, beat_code, beat_s, beat_jitter, beat_draws, installed, ch_at, ch_interval, un_off, wait_s,
          retransmit, failed_of, again_of, reconnect, up, down, end_s, i0, nr, nl, held_total, r_i, r_t, l_i, l_f):
    """One connection of rows ``i0`` on through ``ControlledPhone``, into buffers its caller grows (:func:`_walked`).

    ``t``, ``code``, ``incoming``, ``beat`` (a heartbeat): its scheduled sends, per row in time order as the
    device's clock takes them (:func:`simpy_clock`), ``inf`` past the last, generated at ``gen``; ``last0``: each
    row's last packet before the run. ``nat_val[m]``: the NAT timeout (``inf``: none) from ``nat_at[m]`` on (sorted,
    the first ``-inf``). Per outage o of its server: ``o_start``, ``o_end``, ``o_policy``, ``o_param`` (fixed
    interval, exponential initial and maximum), ``o_jitter`` and the rows' draws, an attempt's SYN offsets
    ``o_syns`` (``o_nsyn`` of them, then when the attempt fails), and the first of its three codes (the SYN, its
    retransmission, the answered reconnect's radio transfer). Its fixed heartbeat, restarted after a reconnect or an
    app update (``ch_at``, ``ch_interval``, on the rows where the app is ``installed``): ``beat_code`` (< 0: none),
    interval, jitter and the rows' draws. TCP: the retransmissions of an unanswered send ``un_off``, the app's wait
    ``wait_s``, ``retransmit``; codes ``failed_of`` and ``again_of`` a send's (``Codes.failed``, ``Codes.again``),
    the reconnect's, bytes per code.

    The radio transfers go into ``r_i`` (row, key, extra up and down bytes) and ``r_t`` (t), per row in time
    order, the log into ``l_i`` (row, code) and ``l_f`` (t, generated), from ``nr`` and ``nl`` on; ``held_total``
    counts the sends held. Returns the row it stopped before (``rows``: all done; else the row did not fit the
    buffers, and nothing of it is kept), and ``nr``, ``nl``, ``held_total`` up to there. The buffers are
    arguments, never reassigned: a loop that reassigns an array counts its references at every step (atomic
    operations: they had taken a third of the walk)."""
    rows, width = t.shape
    n_o, n_u, n_draws = o_start.size, un_off.size, beat_draws.shape[1]
    cap_r, cap_l = r_t.size, l_f.shape[1]
    held, held_gen = np.empty(width + 1, np.int64), np.empty(width + 1)  # each scheduled send is held at most once
    for i in range(i0, rows):
        nr0, nl0, held0 = nr, nl, held_total
        last, last_beat, n_held, k = last0[i], last0[i], 0, 0
        retrying, scheduled, redial = False, True, False
        interval, hi = beat_s, 0
        p3_on, p3_nom, p3_now, p3_k, p3_next = False, 0.0, 0.0, 0, np.inf
        proc, step, p_next, p_now, last_off, j = _NO_PROCESS, 0, np.inf, 0.0, 0.0, 0
        p_code, p_beat, p_o, attempt, syn, p_gen = 0, False, 0, 0, 0, 0.0
        while True:
            sched = t[i, k] if k < width else np.inf
            change = ch_at[hi] if hi < ch_at.size and installed[i] else np.inf
            now = min(p_next, p3_next, change, sched)
            if now >= end_s:
                break
            # what happens now: a radio transfer (key, extra bytes) and the codes it logs, a send to take
            x_code, x_up, x_down, carry, logged, own_gen = -1, 0, 0, False, -1, now
            s_code, s_inc, s_beat, send, beats, s_gen = -1, False, False, False, False, now
            if p_next == now:  # the wait-out's or the reconnect's next step
                p_now = now
                if step == _RETRANSMIT:  # TCP sends the unanswered segment again
                    x_code = again_of[p_code]
                    logged, last_off, j = x_code, un_off[j], j + 1
                    step, p_next = (_RETRANSMIT, now + (un_off[j] - last_off)) if j < n_u else \
                        (_WAITED, now + (wait_s - last_off))
                elif step == _WAITED and proc == _WAIT_OUT:  # ControlledPhone._wait_out, after the app's timeout
                    redial, p_o = False, -1
                    for o in range(n_o):
                        if o_start[o] <= now < o_end[o]:
                            p_o = o
                    if p_o < 0:  # it reconnects, carrying the send that went unanswered and what was held
                        x_code, carry, logged, proc, p_next = p_code, True, p_code, _NO_PROCESS, np.inf
                        own_gen = p_gen
                    else:  # its server is down by now: it retries by the outage's policy
                        if not p_beat:
                            held[n_held], held_gen[n_held] = p_code, p_gen
                            n_held, held_total = n_held + 1, held_total + 1
                        retrying, p3_on, p3_next = True, False, np.inf
                        proc, step, attempt = _RECONNECT, _POLICY_WAIT, 0
                elif step == _WAITED:  # ControlledPhone._reconnect, after the noticing send's wait
                    step, attempt = _POLICY_WAIT, 0
                if step == _POLICY_WAIT and p_next == now:  # the policy's wait, then the attempt's first SYN
                    pol = o_policy[p_o]
                    if pol == FIXED:
                        p_now = p_now + o_param[p_o, 0]
                    elif pol == EXPONENTIAL:
                        w = min(o_param[p_o, 2], o_param[p_o, 1] * 2.0 ** attempt)
                        p_now = p_now + (w * o_draws[p_o, i, attempt] if o_jitter[p_o] else w)
                    attempt, syn, step, p_next = attempt + 1, 0, _SYN, p_now + 0.0
                elif step == _SYN and x_code < 0:
                    n_syn = o_nsyn[p_o]
                    if now < o_end[p_o]:  # unanswered: the SYN or a retransmission of it
                        x_code = o_code[p_o] + (1 if syn else 0)
                        logged, syn = x_code, syn + 1
                        p_next = now + (o_syns[p_o, syn] - o_syns[p_o, syn - 1])
                        if syn == n_syn:  # the attempt goes unanswered until it fails
                            step = _POLICY_WAIT
                    else:  # answered: the reconnect, carrying what was held (no send of its own, so nothing
                        # more is logged); the heartbeat restarts from it
                        x_code, carry, logged = o_code[p_o] + 2, True, -1
                        retrying, scheduled, proc, p_next = False, False, _NO_PROCESS, np.inf
                        if beat_code >= 0:
                            p3_on, p3_nom, p3_now, p3_k, beats = True, now, now, 0, True
            elif p3_next == now:  # a restarted heartbeat (ControlledPhone._beats), generated on its nominal time
                s_code, s_beat, send, beats, s_gen = beat_code, True, True, True, p3_nom
            elif change == now:  # an app update (sim.engine.des._app_update)
                interval, hi = ch_interval[hi], hi + 1
                if not retrying:
                    scheduled, p3_on, p3_nom, p3_now, p3_k = False, True, max(last_beat, now - interval), now, 0
                    beats = True
            else:  # the next scheduled send (sim.engine.des._controlled_schedule)
                s_code, s_inc, s_beat, s_gen = code[i, k], incoming[i, k], beat[i, k], gen[i, k]
                k += 1
                send = not (s_beat and (retrying or not scheduled))
            if send:  # ControlledPhone.send_gen
                down_o = -1
                for o in range(n_o):
                    if o_start[o] <= now < o_end[o]:
                        down_o = o
                nat = nat_val[0]
                for m in range(nat_at.size):
                    if nat_at[m] <= now:
                        nat = nat_val[m]
                alive = now - last <= nat
                if retrying or (s_inc and down_o >= 0) or (redial and not s_beat) or (s_inc and not alive):
                    held[n_held], held_gen[n_held] = s_code, s_gen  # it waits for the reconnect
                    n_held, held_total = n_held + 1, held_total + 1
                elif redial:
                    pass  # a heartbeat skipped while the app waits out its timeout
                elif not alive and retransmit:  # unanswered: retransmitted until the app's timeout
                    x_code = failed_of[s_code]
                    logged = x_code
                    redial, proc, p_code, p_beat, p_now, last_off, j = True, _WAIT_OUT, s_code, s_beat, now, 0.0, 0
                    p_gen = s_gen
                    step, p_next = (_RETRANSMIT, now + un_off[0]) if n_u else (_WAITED, now + wait_s)
                else:
                    x_code, carry, logged, own_gen = s_code, not alive, s_code, s_gen
                    if s_inc:
                        x_code = -2 - s_code  # marks a page: received on a live connection
                    if s_beat:
                        last_beat = now
                    if down_o >= 0:  # sent, but its server is down: nothing answers; the client starts retrying
                        retrying, p3_on, p3_next = True, False, np.inf
                        proc, p_code, p_o, p_now, last_off, j = _RECONNECT, s_code, down_o, now, 0.0, 0
                        step, p_next = (_RETRANSMIT, now + un_off[0]) if n_u else (_WAITED, now + wait_s)
            if x_code != -1:  # on the radio and in the log
                own = 1 if logged != -1 else 0  # the send's own record, after the reconnect's and the held ones'
                nr, nl = nr + 1, nl + own + (n_held + 1 if carry else 0)
                if nr > cap_r or nl > cap_l:  # the row does not fit: the caller grows the buffers and walks it again
                    return i, nr0, nl0, held0
                r_i[1, nr - 1] = 2 * x_code if x_code >= 0 else 2 * (-2 - x_code) + 1
                if carry:  # the reconnect first, and every message held meanwhile
                    x_up, x_down = up[reconnect], down[reconnect]
                    for h in range(n_held):
                        x_up, x_down = x_up + up[held[h]], x_down + down[held[h]]
                        m = nl - 2 - own - h
                        l_f[0, m], l_i[0, m], l_i[1, m], l_f[1, m] = now, i, held[h], held_gen[h]
                    m = nl - 1 - own
                    l_f[0, m], l_i[0, m], l_i[1, m], l_f[1, m] = now, i, reconnect, now
                    n_held = 0
                r_i[0, nr - 1], r_t[nr - 1], r_i[2, nr - 1], r_i[3, nr - 1] = i, now, x_up, x_down
                if own:
                    l_f[0, nl - 1], l_i[0, nl - 1], l_i[1, nl - 1], l_f[1, nl - 1] = now, i, logged, own_gen
                if logged == s_code or carry:
                    last = now
            if beats and p3_on:  # the restarted heartbeat's next beat, on the SimPy process's clock
                p3_nom += interval * (1.0 + beat_jitter * beat_draws[i, p3_k % n_draws]) if n_draws else interval
                p3_k += 1
                if p3_nom > p3_now:
                    p3_now = p3_now + (p3_nom - p3_now)
                p3_next = p3_now
    return rows, nr, nl, held_total


def _walked(*args) -> tuple[np.ndarray, ...]:
    """:func:`_walk` over every row of ``args`` (its arguments up to ``end_s``), the buffers grown whenever a row
    does not fit, to what the rows walked so far project for all (at least by a quarter, one buffer at a time, so
    that little more than one is ever held twice); the radio transfers (row, t, key, extra up and down bytes), the
    log (t, row, code, generated) and how many sends were held."""
    t = args[0]
    rows = t.shape[0]
    cap = max(256, 2 * t.size)
    bufs = [np.empty((4, cap), np.int64), np.empty(cap), np.empty((2, cap), np.int64), np.empty((2, cap))]
    i, nr, nl, held = 0, 0, 0, 0
    while True:
        i, nr, nl, held = _walk(*args, i, nr, nl, held, *bufs)
        if i == rows:
            break
        need = max(nr, nl) * rows // max(i, 1) + 256
        for k, a in enumerate(bufs):
            size = max(need, a.shape[-1] + a.shape[-1] // 4)
            bufs[k] = np.concatenate((a, np.empty((*a.shape[:-1], size - a.shape[-1]), a.dtype)), axis=-1)
            del a
    r_i, r_t, l_i, l_f = bufs
    return r_i[0, :nr], r_t[:nr], r_i[1, :nr], r_i[2, :nr], r_i[3, :nr], l_f[0, :nl], l_i[0, :nl], l_i[1, :nl], \
        l_f[1, :nl], held


def nat_timeouts(scn: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """The NAT timeout over the run: ``val[m]`` (``inf``: no NAT) from ``at[m]`` on, the network's from ``-inf``, then
    each ``nat_change``'s (by time; at one time, the later in ``events``)."""
    changes = sorted((e for e in scn.events if e.kind == "nat_change"), key=lambda e: e.at_s)
    at = np.array([-np.inf, *(e.at_s for e in changes)])
    val = np.array([np.inf if x is None else float(x) for x in (scn.network.nat_timeout_s,
                                                                  *(e.nat_timeout_s for e in changes))])
    return at, val


def sends(scn: Scenario, d: BlockDraws, codes: Codes, tcp: TcpTiming, log: Transfers) -> list[RadioSends]:
    """Every connection of the chunk ``d`` through :func:`_walk`, logged in ``log``; what goes on the radio."""
    group, n = scn.groups[d.group], d.n
    conns = connection_streams(scn, d, push_users(scn, d))
    nat_at, nat_val = nat_timeouts(scn)
    syns = [tcp.connect(e.retry.attempt_timeout_s) if e.kind == "server_outage" else ((0.0,), 0.0) for e in scn.events]
    un_off = np.array(tcp.unanswered_s)
    every = np.arange(codes.app.size)
    sent = every <= 2 * codes.apps  # the streams' codes, which an unanswered send can have
    failed_of, again_of = ((np.where(sent, f(every), -1) if codes.unanswered else np.full(every.size, -1))
                           for f in (codes.failed, codes.again))
    parts = []
    for conn, times in zip(conns, device_clock(conns, n)):
        t = np.concatenate(times, axis=1)
        code = np.concatenate([np.full(s.times.shape[1], s.code, dtype=KEY) for s in conn.streams])
        incoming = np.concatenate([s.incoming if s.incoming is not None else np.zeros(s.times.shape, dtype=bool)
                                   for s in conn.streams], axis=1)
        gen = np.concatenate([s.generated_s for s in conn.streams], axis=1)
        order = np.argsort(t, axis=1, kind="stable")  # ties in stream-code order, as the SimPy engine
        flat = order + (np.arange(n) * t.shape[1])[:, None]
        t, code, incoming, gen = t.ravel()[flat], code[order], incoming.ravel()[flat], gen.ravel()[flat]
        a = conn.owner
        own = a < len(scn.apps)
        hb = scn.apps[a].heartbeat if own else None
        if not own:
            last0 = (d.push_phase - 1.0) * group.push_interval_s
        elif hb.policy == "fixed":
            last0 = d.apps[a].phase * hb.interval_s - hb.interval_s
        else:
            last0 = np.zeros(n)
        outages = [(k, e) for k, e in enumerate(scn.events) if own and e.kind == "server_outage"
                   and e.app == scn.apps[a].name]
        width = max((d.retry_jitter[k].shape[1] for k, _ in outages), default=0)
        draws = np.zeros((len(outages), n, width))
        for o, (k, _) in enumerate(outages):
            draws[o, :, :d.retry_jitter[k].shape[1]] = d.retry_jitter[k]
        n_syn = max((len(syns[k][0]) for k, _ in outages), default=0)
        o_syns = np.zeros((len(outages), n_syn + 1))
        for o, (k, _) in enumerate(outages):
            offsets, fail_s = syns[k]
            o_syns[o, :len(offsets) + 1] = (*offsets, fail_s)
        fixed = own and hb.policy == "fixed"
        changes = sorted((e for e in scn.events if fixed and e.kind == "heartbeat_change"
                          and e.app == scn.apps[a].name), key=lambda e: e.at_s)
        out = _walked(t, gen, code, incoming, codes.kind[code] == HEARTBEAT, last0, nat_at, nat_val,
                      np.array([e.start_s for _, e in outages]), np.array([e.end_s for _, e in outages]),
                      np.array([POLICY[e.retry.policy] for _, e in outages], dtype=np.int64),
                      np.array([(e.retry.interval_s, e.retry.initial_s, e.retry.max_s) for _, e in outages]
                               ).reshape(-1, 3),
                      np.array([e.retry.jitter for _, e in outages], dtype=bool), draws, o_syns,
                      np.array([len(syns[k][0]) for k, _ in outages], dtype=np.int64),
                      np.array([codes.outage(k) for k, _ in outages], dtype=np.int64),
                      2 * a if fixed else -1, hb.interval_s if fixed else 0.0, hb.jitter if fixed else 0.0,
                      d.apps[a].jitter if fixed else np.zeros((n, 0)),
                      d.apps[a].installed if fixed else np.zeros(n, bool),
                      np.array([e.at_s for e in changes]), np.array([e.interval_s for e in changes]),
                      un_off, tcp.wait_s, tcp.retransmit, failed_of, again_of, codes.reconnect(a), codes.up,
                      codes.down, scn.simulation.duration_s)
        row, r_t, key, x_up, x_down, l_t, l_row, l_code, l_gen, held = out
        log.add(l_t, l_row, l_code, l_gen)
        log.held_messages += held
        counts = np.bincount(row, minlength=n)
        col = np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts)
        shape = (n, int(counts.max(initial=0)))
        radio = RadioSends(np.full(shape, np.inf), np.zeros(shape, dtype=KEY), np.zeros(shape, dtype=np.int64),
                           np.zeros(shape, dtype=np.int64))
        for f, v in (("t", r_t), ("key", key), ("extra_up", x_up), ("extra_down", x_down)):
            getattr(radio, f)[row, col] = v
        parts.append(radio)
    return parts
