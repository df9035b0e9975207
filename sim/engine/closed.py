"""The compiled closed loop: finite nodes, rejects, retries and calls as one Numba event loop over arrays.

The model is the SimPy engine's (``sim.engine.controlled``, ``sim.engine.des``): a device's sends go
one at a time through its RRC machine (the compiled form the open-loop kernels walk, each radio's
``transfer``), a promotion's procedures are offered to the limited nodes on their routes in turn
(``sim.controlplane.queue``, the compiled form of the SimPy node), a reject restores the machine and the
device tries again after ``reject_wait_s`` up to ``max_attempts``, timer-driven demotions and periodic
updates load the nodes when they fall due, calls and short messages offer their legs. One binary heap
of (time, sequence, kind, index) drives it; a stale timer is skipped when it surfaces.

**Order of simultaneous events** (``docs/model.md`` §9): events at the same instant are taken in the
order they were scheduled, as SimPy takes them; where SimPy passes an outcome known at once (a free
device, an immediate reject, a completed service) through a zero-delay event, this engine continues at
once. The two orders differ only when two devices' or nodes' events fall on the very same float
instant, which continuous draws make a probability-zero event; the tests check equality.

A device's radio jobs (its schedule's sends; on a connection the NAT dropped, TCP's unanswered transmission,
its retransmissions and the app's reconnect) take its lock in the order they ask for it, as SimPy's
per-device ``Resource`` grants it. What it does not cover (``Scenario.uncompiled``) runs on the SimPy engine:
events behind limited nodes, random access, adaptive heartbeats, capture replays, call-back and VoIP data,
several radios in one run.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from sim.controlplane import queue as q
from sim.controlplane.network import ControlNetwork
from sim.controlplane.node import CAUSES
from sim.engine.des import SERVICE_CAUSE
from sim.engine.log import HEARTBEAT, MESSAGE, RECONNECT, UNANSWERED, LogArrays
from sim.population.draws import block_draws, blocks
from sim.population.schedule import open_loop_sends, push_users
from sim.population.tcp import MSS_BYTES, tcp_timing
from sim.population.traffic import app_traffic, push_traffic
from sim.radio.compiled import borrow, borrow_all, fire, settle, start
from sim.radio.kernel import RADIOS, transfer
from sim.radio.tables import ModelTables
from sim.scenario import ResolvedScenario
from sim.scenario.schema import SERVICE_TYPES

SEND, CALL, TIMER, DONE, GUARD, RETRY, TCP = range(7)  # event kinds
# a device's columns (``dev``): its schedule's next send; its current radio job's attempts, whether its admission is
# under way, the procedure and the hop of its route being offered, its up and down bytes, whether it is incoming,
# whether its connection was alive, its app, what the job is, the send it carries and that send's connection;
# whether the device is busy (SimPy's per-device lock), its queue of waiting jobs (head, length, whether the
# schedule waits in it), then that queue's entries
(D_NEXT, D_ATTEMPTS, D_ADMITTING, D_PROC, D_HOP, D_UP, D_DOWN, D_IN, D_ALIVE, D_APP, D_JOB, D_SEND, D_CONN, D_LOCKED,
 D_QHEAD, D_QLEN, D_SCHED_Q, D_QUEUE) = range(18)
# what a device's radio job is: a send of its schedule; on a connection the NAT dropped, TCP's first unanswered
# transmission of a send, a retransmission, the app's reconnect after its timeout (ControlledPhone._wait_out)
J_SEND, J_FIRST, J_RETX, J_REDIAL = range(4)
SCHEDULE = -1  # a device's schedule waiting in its queue (else the entry is a connection's TCP job)
# connection columns (``conns``) beside 0-8: the send TCP is retransmitting (-1: none), retransmissions so far
C_FAILED, C_RETX = 9, 10
BY_SEND, BY_CALL, BY_LOAD = range(3)  # whose procedure an entry is
# counters (``cnt``)
(N_TR, N_X, N_CALL, N_HEAP, SEQ, N_FREE, N_NL, RRC_REJECTS, FAILED_SENDS, HELD, HELD_NEXT, HELD_TOTAL) = range(12)
NL_OFFER, NL_REJECT, NL_BUSY, NL_QUEUED, NL_WAIT, NL_CARRIED = range(6)  # node log kinds
DONE_RUN, NEED_SPACE = range(2)
_RANK = {c: i for i, c in enumerate(CAUSES)}


# ---------------------------------------------------------------- the heap

@njit(cache=True, inline="always")
def _less(ht, hs, a: int, b: int) -> bool:
    return ht[a] < ht[b] or (ht[a] == ht[b] and hs[a] < hs[b])


@njit(cache=True, inline="always")
def _swap(heap, a: int, b: int) -> None:
    ht, hs, hk, ha, hb, hv = heap
    ht[a], ht[b] = ht[b], ht[a]
    hs[a], hs[b] = hs[b], hs[a]
    hk[a], hk[b] = hk[b], hk[a]
    ha[a], ha[b] = ha[b], ha[a]
    hb[a], hb[b] = hb[b], hb[a]
    hv[a], hv[b] = hv[b], hv[a]


@njit(cache=True)
def _push(heap, cnt, t: float, kind: int, a: int, b: int, v: float) -> None:
    ht, hs, hk, ha, hb, hv = heap
    i = cnt[N_HEAP]
    cnt[N_HEAP] += 1
    ht[i], hs[i], hk[i], ha[i], hb[i], hv[i] = t, cnt[SEQ], kind, a, b, v
    cnt[SEQ] += 1
    while i > 0:
        parent = (i - 1) >> 1
        if not _less(ht, hs, i, parent):
            break
        _swap(heap, i, parent)
        i = parent


@njit(cache=True)
def _pop(heap, cnt) -> None:
    """Remove the top (read it before) and restore the heap."""
    ht, hs = heap[0], heap[1]
    n = cnt[N_HEAP] - 1
    cnt[N_HEAP] = n
    _swap(heap, 0, n)
    i = 0
    while True:
        left, small = 2 * i + 1, i
        if left < n and _less(ht, hs, left, small):
            small = left
        if left + 1 < n and _less(ht, hs, left + 1, small):
            small = left + 1
        if small == i:
            return
        _swap(heap, i, small)
        i = small


# ---------------------------------------------------------------- logs

@njit(cache=True, inline="always")
def _nl(nl, cnt, kind: int, inst: int, a: float, b: float) -> None:
    k = cnt[N_NL]
    nl[k, 0], nl[k, 1], nl[k, 2], nl[k, 3] = kind, inst, a, b
    cnt[N_NL] = k + 1


@njit(cache=True, inline="always")
def _transfer(xl, cnt, t: float, d: int, app: int, kind: int, up: int, down: int, packets: int, generated_s: float
              ) -> None:
    x_t, x_i, x_gen = xl
    k = cnt[N_X]
    x_t[k], x_gen[k] = t, generated_s
    x_i[k, 0], x_i[k, 1], x_i[k, 2], x_i[k, 3], x_i[k, 4], x_i[k, 5] = d, app, kind, up, down, packets
    cnt[N_X] = k + 1


# ---------------------------------------------------------------- the loop

@njit(cache=True)
def _loop(spec, end_s, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, calls_log, nl, sends, conns,
          held, dev, calls, params):
    """Run events before ``end_s``; returns DONE_RUN or NEED_SPACE (a buffer is near full: grow it and call
    again)."""
    # every array borrowed (sim.radio.compiled.borrow): passed down the calls below at no reference counting
    net, nodes, qs, heap, cnt, mach, snap, cap = borrow_all(net), borrow(nodes), borrow_all(qs), borrow_all(heap), \
        borrow(cnt), borrow_all(mach), borrow_all(snap), borrow_all(cap)
    tr, xl, calls_log, nl, sends, conns = borrow_all(tr), borrow_all(xl), borrow(calls_log), borrow(nl), \
        borrow_all(sends), borrow_all(conns)
    held, dev, calls = borrow_all(held), borrow(dev), borrow_all(calls)
    params = borrow_all(params)
    upkeep, max_attempts, margin_tr, margin_x = params[2], params[7], params[10], params[11]
    n_svc = net[6]
    ht, hk, ha, hb, hv = heap[0], heap[2], heap[3], heap[4], heap[5]
    while cnt[N_HEAP] > 0:
        if (cnt[N_TR] + margin_tr > tr[0].size or cnt[N_X] + margin_x + cnt[HELD] > xl[0].size
                or cnt[N_HEAP] + 64 > ht.size or cnt[N_FREE] < 64 or cnt[N_NL] + 256 > nl.shape[0]
                or cnt[N_CALL] + 4 > calls_log.shape[0]):
            return NEED_SPACE
        now = ht[0]
        if now >= end_s:
            return DONE_RUN
        kind, a, b, v = hk[0], ha[0], hb[0], hv[0]
        _pop(heap, cnt)
        if kind == SEND:
            _sched(spec, now, a, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, nl, sends, conns,
                   held, dev, params, True, False)
        elif kind == RETRY:
            if dev[a, D_ATTEMPTS] < max_attempts:
                done = _attempt(spec, now, a, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, nl, sends,
                                conns, held, dev, params)
            else:
                cnt[FAILED_SENDS] += 1  # the transfer is dropped
                done = True
                if dev[a, D_JOB] == J_RETX:  # a retransmission lost: TCP's timers go on
                    conns[C_RETX][dev[a, D_CONN]] += 1
                    _tcp_next(now, a, dev[a, D_CONN], heap, cnt, conns, params)
            if done:
                _release(spec, now, a, dev[a, D_JOB] <= J_FIRST, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl,
                         nl, sends, conns, held, dev, params)
        elif kind == CALL:
            _call(now, a, net, nodes, qs, heap, cnt, tr, nl, dev, calls, calls_log, params, True)
        elif kind == TCP:  # connection a's next TCP job asks for device b's lock
            if dev[b, D_LOCKED]:
                _enqueue(dev, b, a)
            elif _tcp_job(spec, now, b, a, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, nl, sends, conns,
                          held, dev, params):
                dev[b, D_LOCKED] = 0
        elif kind == TIMER:
            if _wake(mach, a, upkeep) == v:
                _advance(now, a, net, nodes, qs, heap, cnt, mach, tr, nl, params)
                _arm(now, a, heap, cnt, mach, upkeep)
        elif kind == DONE:
            f, c, heads, tails, ef, ei, free = qs
            i, m = ei[a, q.EI_INSTANCE], ei[a, q.EI_MESSAGES]
            q.complete(f, c, ei, i, m, now)
            arrival, begun = ef[a, q.EF_ARRIVAL], ef[a, q.EF_START]
            wait = begun - arrival
            _nl(nl, cnt, NL_WAIT, i, arrival, wait)
            _nl(nl, cnt, NL_BUSY, i, begun, now)
            _nl(nl, cnt, NL_CARRIED, i, now, m)
            if wait:
                _nl(nl, cnt, NL_QUEUED, i, arrival, begun)
            nxt, cnt[N_FREE] = q.next_waiting(c, heads, tails, ef, ei, free, cnt[N_FREE], i, now)
            if nxt >= 0:
                _push(heap, cnt, now + ei[nxt, q.EI_MESSAGES] * n_svc[nodes[i]], DONE, nxt, 0, 0.0)
            who, owner = ei[a, q.EI_WHO], ei[a, q.EI_OWNER]
            free[cnt[N_FREE]] = a
            cnt[N_FREE] += 1
            _outcome(spec, now, who, owner, True, wait, -1, net, nodes, qs, heap, cnt, mach, snap, cap,
                     tr, xl, nl, sends, conns, held, dev, calls, calls_log, params)
        else:  # GUARD
            f, c, heads, tails, ef, ei, free = qs
            if ei[a, q.EI_GEN] == b and ei[a, q.EI_LIVE]:
                i = ei[a, q.EI_INSTANCE]
                q.expire(f, c, ei, a, now)
                _nl(nl, cnt, NL_REJECT, i, now, 0.0)
                _nl(nl, cnt, NL_QUEUED, i, ef[a, q.EF_ARRIVAL], now)
                _outcome(spec, now, ei[a, q.EI_WHO], ei[a, q.EI_OWNER], False, 0.0, nodes[i], net, nodes,
                         qs, heap, cnt, mach, snap, cap, tr, xl, nl, sends, conns, held, dev, calls, calls_log,
                         params)
    return DONE_RUN


@njit(cache=True)
def _outcome(spec, now, who, owner, accepted, wait, by_type, net, nodes, qs, heap, cnt, mach, snap, cap,
             tr, xl, nl, sends, conns, held, dev, calls, calls_log, params):
    """A queued or served procedure's outcome reaches whoever waits for it."""
    if who == BY_SEND:
        d = owner
        if accepted:
            dev[d, D_HOP] += 1  # the next node on the route
            mach[10][d] += wait  # the attempt's total wait
            if _admit(spec, now, d, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, nl, sends, conns,
                      held, dev, params):
                _release(spec, now, d, dev[d, D_JOB] <= J_FIRST, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl,
                         nl, sends, conns, held, dev, params)
        else:
            _rejected(now, d, by_type, net, nodes, qs, heap, cnt, mach, snap, cap, tr, nl, dev, params)
    elif who == BY_CALL:
        d = owner
        if accepted:
            calls[2][d, 3] += 1
        else:
            calls[2][d, 5] = by_type
        _call(now, d, net, nodes, qs, heap, cnt, tr, nl, dev, calls, calls_log, params, False)
    elif not accepted:  # a load nobody waits for: its record signals nothing
        tr[2][owner] = -1


@njit(cache=True)
def _offer(now, d, proc, j, rank, reserved_ok, who, owner, mark, net, nodes, qs, heap, cnt, nl):
    """Offer ``proc``'s messages at the ``j``-th limited node of its route to ``d``'s instance; returns the
    outcome (queue.REJECTED, SERVED, QUEUED)."""
    r_node, r_msgs, n_servers, n_svc, n_room, n_guard, n_prio, n_unres = (net[1], net[2], net[5], net[6], net[7],
                                                                          net[8], net[9], net[10])
    f, c, heads, tails, ef, ei, free = qs
    typ = r_node[proc, j]
    i = _instance(now, d, typ, net, qs, cnt)
    m = r_msgs[proc, j]
    _nl(nl, cnt, NL_OFFER, i, now, m)
    outcome, e, cnt[N_FREE] = q.offer(f, c, heads, tails, ef, ei, free, cnt[N_FREE], i, m,
                                      rank if n_prio[typ] else 0, reserved_ok, n_servers[typ], n_room[typ],
                                      n_unres[typ], now, who, owner, mark)
    if outcome == q.REJECTED:
        _nl(nl, cnt, NL_REJECT, i, now, 0.0)
    elif outcome == q.SERVED:
        _push(heap, cnt, now + m * n_svc[typ], DONE, e, 0, 0.0)
    elif n_guard[typ] != np.inf:
        _push(heap, cnt, now + n_guard[typ], GUARD, e, ei[e, q.EI_GEN], 0.0)
    return outcome


@njit(cache=True, inline="always")
def _instance(now, d, typ, net, qs, cnt):
    """``d``'s instance of limited node ``typ``, created (its clock started) when first used."""
    n_base, n_dpn, n_order = net[3], net[4], net[12]
    f, c = qs[0], qs[1]
    i = n_base[typ] + (d // n_dpn[typ] if n_dpn[typ] > 0 else 0)
    if not c[i, q.C_CREATED]:
        c[i, q.C_CREATED] = 1
        f[i, q.F_START] = f[i, q.F_LAST] = now
        n_order[i] = n_order[-1]
        n_order[-1] += 1
    return i


@njit(cache=True, inline="always")
def _touch(now, d, proc, net, qs, cnt):
    """Create every instance on ``proc``'s route (as ``ControlNetwork.route`` does when it is asked)."""
    r_n, r_node = net[0], net[1]
    for j in range(r_n[proc]):
        _instance(now, d, r_node[proc, j], net, qs, cnt)


@njit(cache=True)
def _count_reject(now, d, code, net, qs, cnt):
    """The reject's messages at every limited node on its route (``ControlNetwork.count_reject``)."""
    r_n, r_node, r_msgs = net[0], net[1], net[2]
    c = qs[1]
    _touch(now, d, code, net, qs, cnt)
    for j in range(r_n[code]):
        c[_instance(now, d, r_node[code, j], net, qs, cnt), q.C_REJECT_MESSAGES] += r_msgs[code, j]


@njit(cache=True, inline="always")
def _wake(mach, d, upkeep):
    m_state, m_last, ch_t, m_head, m_size = mach[0], mach[6], mach[7], mach[3], mach[4]
    due = ch_t[d, m_head[d]] if m_head[d] < m_size[d] else np.inf
    for k in range(len(upkeep)):
        s, _, period = upkeep[k]
        if s == m_state[d]:
            return min(due, m_last[d] + period)
    return due


@njit(cache=True, inline="always")
def _arm(now, d, heap, cnt, mach, upkeep):
    due = _wake(mach, d, upkeep)
    if due != np.inf:
        _push(heap, cnt, now + max(0.0, due - now), TIMER, d, 0, due)


@njit(cache=True, inline="always")
def _chain(mach):
    """The devices' chains of pending demotions (time, procedure, state), a row each."""
    return mach[7], mach[8], mach[9]


@njit(cache=True, inline="always")
def _cap0(cap, d):
    """Where device ``d``'s captured records start in the capture buffer (a row of equal width each)."""
    return d * (cap[0].size // cap[4].size)


@njit(cache=True, inline="always")
def _save(src, dst, d):
    """Copy device ``d``'s machine from ``src`` to ``dst`` (a snapshot, or a restore)."""
    dst[0][d], dst[1][d], dst[2][d], dst[3][d], dst[4][d], dst[5][d], dst[6][d] = (
        src[0][d], src[1][d], src[2][d], src[3][d], src[4][d], src[5][d], src[6][d])
    for j in range(src[7].shape[1]):
        dst[7][d, j], dst[8][d, j], dst[9][d, j] = src[7][d, j], src[8][d, j], src[9][d, j]


@njit(cache=True)
def _advance(now, d, net, nodes, qs, heap, cnt, mach, tr, nl, params):
    """Apply ``d``'s timers due by now; each new record is logged and loads the nodes (a demotion as the
    network's, a periodic update as the phone's ``mo-Signalling``)."""
    keeper, upkeep = params[1], params[2]
    m_state, m_owner, m_head, m_size, m_last = mach[0], mach[2], mach[3], mach[4], mach[6]
    n0 = cnt[N_TR]
    recs = (tr[0], tr[2], tr[3], tr[4])
    n, m_state[d], m_head[d], m_last[d] = fire(recs, n0, m_owner[d], m_state[d], _chain(mach), d, m_head[d],
                                               m_size[d], now, False, m_last[d], upkeep, keeper)
    cnt[N_TR] = n
    for k in range(n0, n):
        tr[1][k] = d
        proc = tr[2][k]
        if proc >= 0:
            rank = 5 if tr[3][k] == keeper else 0  # mo-Signalling, network (CAUSES)
            _touch(now, d, proc, net, qs, cnt)
            for j in range(net[0][proc]):
                if _offer(now, d, proc, j, rank, False, BY_LOAD, k, k, net, nodes, qs, heap, cnt, nl) == q.REJECTED:
                    tr[2][k] = -1


@njit(cache=True)
def _sched(spec, now, d, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, nl, sends, conns, held,
           dev, params, woken, granted):
    """``d``'s schedule goes on: the sends due by now, one at a time, until one waits for the network
    (``woken``: by the wake-up of its next send, which then goes, as SimPy's timeout resumes it; ``granted``:
    its next send's turn at the lock came, ahead of those who asked after it)."""
    s_off, s_t = sends[0], sends[1]
    while dev[d, D_NEXT] < s_off[d + 1]:
        k = dev[d, D_NEXT]
        t = s_t[k]
        if t > now and not woken:
            _push(heap, cnt, now + (t - now), SEND, d, 0, 0.0)
            return
        if dev[d, D_LOCKED] or (dev[d, D_QLEN] and not granted):  # busy, or others asked first: it waits its turn
            if not dev[d, D_SCHED_Q]:
                _enqueue(dev, d, SCHEDULE)
            return
        woken = granted = False
        if not _begin(spec, now, d, k, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, nl, sends,
                      conns, held, dev, params):
            return
        dev[d, D_LOCKED] = 0
        dev[d, D_NEXT] += 1


@njit(cache=True)
def _begin(spec, now, d, k, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, nl, sends, conns, held,
           dev, params):
    """Send ``k`` of ``d`` now (``ControlledPhone.send_gen``); returns whether it is done (False: it waits
    for the network)."""
    nat_s = params[8]
    s_conn, s_app, s_kind, s_up, s_down, s_pk, s_in = sends[2:9]
    c_last = conns[0]
    conn = s_conn[k]
    if conns[C_FAILED][conn] >= 0:  # the app waits out its timeout: a heartbeat is skipped, a message held
        if s_kind[k] != HEARTBEAT:
            _hold(cnt, conns, held, conn, s_app[k], s_up[k], s_down[k], s_pk[k], sends[9][k])
        return True
    alive = nat_s == np.inf or now - c_last[conn] <= nat_s
    if not alive and s_in[k]:
        _hold(cnt, conns, held, conn, s_app[k], s_up[k], s_down[k], s_pk[k], sends[9][k])
        return True
    if not alive and params[12]:  # nothing answers a connection the NAT dropped: TCP sends, then retransmits
        return _job(spec, now, d, J_FIRST, k, conn, s_up[k], 0, False, True, net, nodes, qs, heap, cnt, mach, snap,
                    cap, tr, xl, nl, sends, conns, held, dev, params)
    up, down = (s_up[k], s_down[k]) if alive else _with_reconnect(conns, conn, s_up[k], s_down[k])
    return _job(spec, now, d, J_SEND, k, conn, up, down, s_in[k] and alive, alive, net, nodes, qs, heap, cnt, mach,
                snap, cap, tr, xl, nl, sends, conns, held, dev, params)


@njit(cache=True, inline="always")
def _with_reconnect(conns, conn, up, down):
    """Bytes up and down of a send after re-establishing ``conn``: the reconnect's and the held messages' with it."""
    return up + conns[5][conn] + conns[1][conn], down + conns[6][conn] + conns[2][conn]


@njit(cache=True)
def _job(spec, now, d, job, k, conn, up, down, incoming, alive, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl,
         nl, sends, conns, held, dev, params):
    """``d`` takes its lock for radio job ``job`` carrying send ``k`` on ``conn`` and makes its first attempt;
    returns whether it is done (False: it waits for the network)."""
    dev[d, D_ATTEMPTS] = 0
    dev[d, D_UP], dev[d, D_DOWN], dev[d, D_IN], dev[d, D_ALIVE], dev[d, D_APP] = up, down, incoming, alive, sends[3][k]
    dev[d, D_JOB], dev[d, D_SEND], dev[d, D_CONN], dev[d, D_LOCKED] = job, k, conn, 1
    return _attempt(spec, now, d, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, nl, sends, conns,
                    held, dev, params)


@njit(cache=True)
def _tcp_job(spec, now, d, conn, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, nl, sends, conns, held, dev,
             params):
    """``conn``'s next TCP job gets ``d``'s lock: a retransmission of the earliest unacknowledged segment
    (``sim.population.tcp.unanswered``), or after the last the app's reconnect carrying the send and what it
    held; returns whether it is done."""
    k = conns[C_FAILED][conn]
    if conns[C_RETX][conn] < params[13].size:
        return _job(spec, now, d, J_RETX, k, conn, min(sends[5][k], MSS_BYTES), 0, False, True, net, nodes, qs, heap,
                    cnt, mach, snap, cap, tr, xl, nl, sends, conns, held, dev, params)
    conns[C_FAILED][conn] = -1  # the app stops waiting: its sends go on the new connection
    up, down = _with_reconnect(conns, conn, sends[5][k], sends[6][k])
    return _job(spec, now, d, J_REDIAL, k, conn, up, down, False, False, net, nodes, qs, heap, cnt, mach, snap, cap,
                tr, xl, nl, sends, conns, held, dev, params)


@njit(cache=True, inline="always")
def _tcp_next(t, d, conn, heap, cnt, conns, params):
    """When ``conn``'s next TCP job asks for the lock: each retransmission its RTO after the transmission before
    (``network.tcp``), the reconnect the app's timeout after the first (as ``ControlledPhone._retransmit``)."""
    rto, n = params[13], conns[C_RETX][conn]
    last = rto[n - 1] if n > 0 else 0.0
    _push(heap, cnt, t + ((rto[n] if n < rto.size else params[14]) - last), TCP, conn, d, 0.0)


@njit(cache=True, inline="always")
def _enqueue(dev, d, who):
    """``who`` (SCHEDULE or a connection) waits for ``d``'s lock, behind those already waiting."""
    width = dev.shape[1] - D_QUEUE
    dev[d, D_QUEUE + (dev[d, D_QHEAD] + dev[d, D_QLEN]) % width] = who
    dev[d, D_QLEN] += 1
    if who == SCHEDULE:
        dev[d, D_SCHED_Q] = 1


@njit(cache=True)
def _release(spec, now, d, advance, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, nl, sends, conns, held, dev,
             params):
    """``d``'s radio job is over (done or dropped): the lock goes to those waiting, in the order they asked; the
    schedule, if the job was its send (``advance``), asks again for its next send, behind them."""
    dev[d, D_LOCKED] = 0
    if advance:
        dev[d, D_NEXT] += 1
        _sched(spec, now, d, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, nl, sends, conns, held, dev, params,
               False, False)
    width = dev.shape[1] - D_QUEUE
    while dev[d, D_QLEN] > 0 and not dev[d, D_LOCKED]:
        who = dev[d, D_QUEUE + dev[d, D_QHEAD]]
        dev[d, D_QHEAD] = (dev[d, D_QHEAD] + 1) % width
        dev[d, D_QLEN] -= 1
        if who == SCHEDULE:
            dev[d, D_SCHED_Q] = 0
            _sched(spec, now, d, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, nl, sends, conns, held, dev,
                   params, False, True)
        elif _tcp_job(spec, now, d, who, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, nl, sends, conns, held,
                      dev, params):
            dev[d, D_LOCKED] = 0


@njit(cache=True)
def _attempt(spec, now, d, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, nl, sends, conns, held,
             dev, params):
    """One attempt of ``d``'s current send: the machine tentatively, then its procedures to the nodes."""
    keeper, upkeep = params[1], params[2]
    _advance(now, d, net, nodes, qs, heap, cnt, mach, tr, nl, params)
    _save(mach, snap, d)
    m_state, m_ready, m_owner, m_head, m_size, m_pages, m_last = mach[:7]
    recs, n0 = cap[:4], _cap0(cap, d)
    n, m_state[d], m_head[d], tk, m_last[d] = settle(recs, n0, m_owner[d], m_state[d], _chain(mach), d, m_head[d],
                                                     m_size[d], now, m_ready[d], m_last[d], upkeep, keeper)
    n, m_state[d], m_ready[d], m_owner[d], m_head[d], m_size[d], tk, m_pages[d] = transfer(
        recs, n, m_state[d], m_ready[d], m_owner[d], _chain(mach), d, m_head[d], m_size[d], tk, dev[d, D_APP],
        dev[d, D_UP], dev[d, D_DOWN], dev[d, D_IN], d, m_pages[d], spec)
    cap[4][d] = n - n0
    dev[d, D_ADMITTING] = 1
    dev[d, D_PROC], dev[d, D_HOP] = 0, 0
    mach[10][d] = 0.0
    mach[11][d] = now  # the attempt's start
    return _admit(spec, now, d, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, nl, sends, conns, held,
                  dev, params)


@njit(cache=True)
def _admit(spec, now, d, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, nl, sends, conns, held, dev,
           params):
    """Offer the captured procedures, node by node; returns whether the send is done."""
    r_n, r_node = net[0], net[1]
    cap_p, cap_n, c0 = cap[1], cap[4], _cap0(cap, d)
    incoming = dev[d, D_IN]
    while dev[d, D_PROC] < cap_n[d]:
        proc = cap_p[c0 + dev[d, D_PROC]]
        if dev[d, D_HOP] == 0:
            _touch(now, d, proc, net, qs, cnt)
        if dev[d, D_HOP] < r_n[proc]:
            outcome = _offer(now, d, proc, dev[d, D_HOP], 4 if incoming else 6, False, BY_SEND, d, -1, net, nodes, qs,
                             heap, cnt, nl)
            if outcome == q.REJECTED:
                _rejected(now, d, r_node[proc, dev[d, D_HOP]], net, nodes, qs, heap, cnt, mach, snap, cap, tr, nl, dev,
                          params)
                return False
            return False
        dev[d, D_PROC] += 1
        dev[d, D_HOP] = 0
    _admitted(now, d, heap, cnt, mach, cap, tr, xl, sends, conns, held, dev, params)
    return True


@njit(cache=True)
def _admitted(now, d, heap, cnt, mach, cap, tr, xl, sends, conns, held, dev, params):
    """Every node carried the attempt: the promotion and what follows, later by the waits; the send is logged."""
    upkeep = params[2]
    dev[d, D_ADMITTING] = 0
    wait = mach[10][d]
    m_ready, m_head, m_size = mach[1], mach[3], mach[4]
    if wait:  # Machine.delay
        m_ready[d] += wait
        ch_t = mach[7]
        for j in range(m_head[d], m_size[d]):
            ch_t[d, j] += wait
    cap_t, cap_p, cap_o, cap_s, cap_n = cap
    c0 = _cap0(cap, d)
    for j in range(c0, c0 + cap_n[d]):
        n = cnt[N_TR]
        tr[0][n], tr[1][n], tr[2][n], tr[3][n], tr[4][n] = cap_t[j] + wait, d, cap_p[j], cap_o[j], cap_s[j]
        cnt[N_TR] = n + 1
    _arm(now, d, heap, cnt, mach, upkeep)
    done_s = mach[11][d] + wait
    job, k, conn = dev[d, D_JOB], dev[d, D_SEND], dev[d, D_CONN]
    s_app, s_kind, s_up, s_down, s_pk = sends[3], sends[4], sends[5], sends[6], sends[7]
    if job == J_FIRST or job == J_RETX:  # what TCP sent that nothing answers
        up = dev[d, D_UP]
        _transfer(xl, cnt, done_s, d, s_app[k], UNANSWERED, up, 0, -(-up // MSS_BYTES) if job == J_FIRST else 1,
                  done_s)
        if job == J_FIRST:  # the app waits out its timeout (ControlledPhone._wait_out)
            conns[C_FAILED][conn], conns[C_RETX][conn] = k, 0
        else:
            conns[C_RETX][conn] += 1
        _tcp_next(now, d, conn, heap, cnt, conns, params)  # from when the radio job is over (its service done)
        return
    if not dev[d, D_ALIVE]:  # the reconnect and every held message went with it
        _transfer(xl, cnt, done_s, d, conns[4][conn], RECONNECT, conns[5][conn], conns[6][conn], conns[7][conn],
                  done_s)
        h_app, h_up, h_down, h_pk, h_next, h_gen = held
        e = conns[3][conn]
        while e >= 0:
            _transfer(xl, cnt, done_s, d, h_app[e], MESSAGE, h_up[e], h_down[e], h_pk[e], h_gen[e])
            cnt[HELD] -= 1
            e = h_next[e]
        conns[3][conn] = -1
        conns[1][conn] = conns[2][conn] = 0
    conns[0][conn] = done_s
    _transfer(xl, cnt, done_s, d, s_app[k], s_kind[k], s_up[k], s_down[k], s_pk[k], sends[9][k])


@njit(cache=True)
def _rejected(now, d, by_type, net, nodes, qs, heap, cnt, mach, snap, cap, tr, nl, dev, params):
    """A node rejected ``d``'s attempt: the machine as it was, the procedures carried before the rejected
    one exchanged, the reject logged; the device tries again after the reject wait."""
    upkeep, rrc_reject, service_reject, reject_wait_s = params[2], params[4], params[5], params[6]
    dev[d, D_ADMITTING] = 0
    _save(snap, mach, d)
    _carried(d, cap, tr, cnt, dev[d, D_PROC], mach[0][d])
    _advance(now, d, net, nodes, qs, heap, cnt, mach, tr, nl, params)
    code = rrc_reject if net[11][by_type] else service_reject
    _count_reject(now, d, code, net, qs, cnt)
    n = cnt[N_TR]
    tr[0][n], tr[1][n], tr[2][n], tr[3][n], tr[4][n] = now, d, code, dev[d, D_APP], mach[0][d]
    cnt[N_TR] = n + 1
    cnt[RRC_REJECTS] += 1
    _arm(now, d, heap, cnt, mach, upkeep)
    dev[d, D_ATTEMPTS] += 1
    _push(heap, cnt, now + reject_wait_s, RETRY, d, 0, 0.0)


@njit(cache=True, inline="always")
def _carried(d, cap, tr, cnt, count, state):
    """The first ``count`` of ``d``'s captured records into the log, in ``state`` (the machine as it was): the
    procedures the nodes carried of an attempt that then failed or never completed."""
    cap_t, cap_p, cap_o = cap[0], cap[1], cap[2]
    c0 = _cap0(cap, d)
    for j in range(c0, c0 + count):
        n = cnt[N_TR]
        tr[0][n], tr[1][n], tr[2][n], tr[3][n], tr[4][n] = cap_t[j], d, cap_p[j], cap_o[j], state
        cnt[N_TR] = n + 1


@njit(cache=True, inline="always")
def _hold(cnt, conns, held, conn, app, up, down, packets, generated_s):
    """A message on a dropped connection waits for the reconnect."""
    h_app, h_up, h_down, h_pk, h_next, h_gen = held
    e = cnt[HELD_NEXT]
    cnt[HELD_NEXT] = e + 1
    h_app[e], h_up[e], h_down[e], h_pk[e], h_next[e], h_gen[e] = app, up, down, packets, -1, generated_s
    tail = conns[8][conn]
    if conns[3][conn] < 0:
        conns[3][conn] = e
    else:
        h_next[tail] = e
    conns[8][conn] = e
    conns[1][conn] += up
    conns[2][conn] += down
    cnt[HELD] += 1
    cnt[HELD_TOTAL] += 1


@njit(cache=True)
def _call(now, d, net, nodes, qs, heap, cnt, tr, nl, dev, calls, calls_log, params, woken):
    """``d``'s calls and short messages go on (``sim.engine.des._calls``)."""
    rrc_reject, service_reject, guard_call = params[4], params[5], params[9]
    k_off, k_t, cs, k_type, legs, offers, n_offers, ranks = calls
    r_n = net[0]
    while True:
        k = cs[d, 0]
        if cs[d, 1] == 0:  # between attempts
            if k >= k_off[d + 1]:
                return
            t = k_t[k]
            if t > now and not woken:
                _push(heap, cnt, now + (t - now), CALL, d, 0, 0.0)
                return
            woken = False
            cs[d, 1], cs[d, 2], cs[d, 3], cs[d, 4], cs[d, 5] = 1, 0, 0, 0, -1  # offer, node, carried, -, rejecting
        typ = k_type[k]
        leg = legs[typ]
        rejected = cs[d, 5] >= 0
        while not rejected and cs[d, 2] < n_offers[typ]:
            proc = offers[typ, cs[d, 2]]
            j = cs[d, 3]
            if j == 0:
                _touch(now, d, proc, net, qs, cnt)
            if j < r_n[proc]:
                outcome = _offer(now, d, proc, j, ranks[typ], ranks[typ] == 3, BY_CALL, d, -1, net, nodes, qs, heap,
                                 cnt, nl)
                if outcome != q.REJECTED:
                    return
                cs[d, 5] = net[1][proc, j]
                rejected = True
                break
            cs[d, 2] += 1
            cs[d, 3] = 0
            cs[d, 4] += 1
        exchanged = leg
        if rejected:
            exchanged = rrc_reject if net[11][cs[d, 5]] else service_reject
            _count_reject(now, d, exchanged, net, qs, cnt)
        setup_s = now - k_t[k]
        n = cnt[N_CALL]
        calls_log[n, 0], calls_log[n, 1] = k_t[k], d
        calls_log[n, 2] = exchanged == leg and setup_s <= guard_call
        calls_log[n, 3], calls_log[n, 4], calls_log[n, 5] = setup_s, exchanged, typ
        calls_log[n, 6], calls_log[n, 7] = cs[d, 4] if rejected else 0, 0
        cnt[N_CALL] = n + 1
        cs[d, 0] += 1
        cs[d, 1] = 0


@njit(cache=True)
def _finish(end_s, mach, snap, cap, tr, cnt, dev, calls, calls_log, params, legs):
    """The run's end: admissions under way never complete (what the nodes carried was exchanged), calls still
    being decided are logged as undecided, every machine applies its timers due strictly before ``end_s``."""
    keeper, upkeep = params[1], params[2]
    k_t, cs, k_type = calls[1], calls[2], calls[3]
    recs = (tr[0], tr[2], tr[3], tr[4])
    for d in range(dev.shape[0]):
        if dev[d, D_ADMITTING]:
            _save(snap, mach, d)
            _carried(d, cap, tr, cnt, dev[d, D_PROC], mach[0][d])
        if cs[d, 1]:
            k, n = cs[d, 0], cnt[N_CALL]
            calls_log[n, 0], calls_log[n, 1], calls_log[n, 2], calls_log[n, 3] = k_t[k], d, 0, -1.0
            calls_log[n, 4], calls_log[n, 5], calls_log[n, 6], calls_log[n, 7] = legs[k_type[k]], k_type[k], cs[d, 4], 1
            cnt[N_CALL] = n + 1
    for d in range(dev.shape[0]):
        n0 = cnt[N_TR]
        n, mach[0][d], mach[3][d], mach[6][d] = fire(recs, n0, mach[2][d], mach[0][d], _chain(mach), d, mach[3][d],
                                                     mach[4][d], end_s, True, mach[6][d], upkeep, keeper)
        tr[1][n0:n] = d
        cnt[N_TR] = n


def _grow(a: np.ndarray, used: int, need: int) -> np.ndarray:
    if used + need <= a.shape[0]:
        return a
    out = np.empty((max(2 * a.shape[0], used + need), *a.shape[1:]), dtype=a.dtype)
    out[:used] = a[:used]
    return out


def run_closed(rs: ResolvedScenario, tables: ModelTables) -> LogArrays:
    """Simulate closed-loop ``rs`` (``rs.scenario.uncompiled()`` must be None) in compiled form."""
    scn = rs.scenario
    end_s = scn.simulation.duration_s
    radio = rs.group_radio(0)
    spec = tables.specs[radio]
    tcp = tcp_timing(scn.network.tcp)
    traffic = [app_traffic(a) for a in scn.apps]
    n_apps = len(scn.apps)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("dev", "t", "conn", "app", "kind", "up", "down", "pk", "in",
                                                         "k_dev", "k_t", "k_type", "c_app", "c_r", "c_last", "gen")}
    n_dev = n_conn = 0
    for g, b, first, n in blocks(scn):
        d = block_draws(scn, g, b, first, n)
        group = scn.groups[g]
        push = push_traffic(group)
        uses_push = push_users(scn, d)
        dev, times, streams, incoming, generated = open_loop_sends(scn, d, uses_push)
        # a connection per device and app with its own, and the push channel (des._Builder.block)
        conn_of = np.full((n, n_apps + 1), -1, dtype=np.int64)
        for a in [*(a for a, app in enumerate(scn.apps) if app.connection == "own"), n_apps]:
            idx = np.flatnonzero(uses_push if a == n_apps else d.apps[a].installed)
            conn_of[idx, a] = n_conn + np.arange(idx.size)
            n_conn += idx.size
            rc = (push if a == n_apps else traffic[a]).reconnect
            cols["c_app"].append(np.full(idx.size, a))
            cols["c_r"].append(np.tile([rc.up_bytes, rc.down_bytes, rc.packets], (idx.size, 1)))
            if a == n_apps:  # steady state: the last packet one interval before the first beat
                last = (d.push_phase[idx] - 1.0) * group.push_interval_s
            elif scn.apps[a].heartbeat.policy == "none":
                last = np.zeros(idx.size)  # assumption: connected at t = 0
            else:
                interval = scn.apps[a].heartbeat.interval_s
                last = d.apps[a].phase[idx] * interval - interval
            cols["c_last"].append(last)
        for a, app in enumerate(scn.apps):
            if app.connection == "push":
                conn_of[:, a] = conn_of[:, n_apps]
        app_of_stream = np.array([a for a in range(n_apps) for _ in (0, 1)] + [n_apps], dtype=np.int64)
        pay = [p for a in range(n_apps) for p in (traffic[a].heartbeat, traffic[a].message)] + [push.heartbeat]
        kinds = np.array([HEARTBEAT, MESSAGE] * n_apps + [HEARTBEAT], dtype=np.int64)
        app_s = app_of_stream[streams]
        cols["dev"].append(dev + first)
        cols["t"].append(times)
        cols["gen"].append(generated)
        cols["conn"].append(conn_of[dev, app_s])
        cols["app"].append(app_s)
        cols["kind"].append(kinds[streams])
        for key, field in (("up", "up_bytes"), ("down", "down_bytes"), ("pk", "packets")):
            cols[key].append(np.array([getattr(p, field) for p in pay], dtype=np.int64)[streams])
        cols["in"].append(incoming.astype(np.int64))
        cols["k_dev"].append(np.repeat(np.arange(n), np.diff(d.call_offsets)) + first)
        cols["k_t"].append(d.call_times_s)
        cols["k_type"].append(d.call_type.astype(np.int64))
        n_dev += n
    c = {k: np.concatenate(v) if v else np.zeros(0) for k, v in cols.items()}
    D = n_dev
    sends = (np.searchsorted(c["dev"], np.arange(D + 1)), c["t"], c["conn"].astype(np.int64), c["app"].astype(np.int64),
             c["kind"].astype(np.int64), c["up"].astype(np.int64), c["down"].astype(np.int64),
             c["pk"].astype(np.int64), c["in"].astype(np.int64), c["gen"].astype(np.float64))
    c_r = c["c_r"].reshape(-1, 3).astype(np.int64)
    z = np.zeros(n_conn, dtype=np.int64)
    conns = (c["c_last"].astype(np.float64), z.copy(), z.copy(), np.full(n_conn, -1, dtype=np.int64),
             c["c_app"].astype(np.int64), c_r[:, 0].copy(), c_r[:, 1].copy(), c_r[:, 2].copy(), z.copy(),
             np.full(n_conn, -1, dtype=np.int64), z.copy())
    n_held = max(1, sends[1].size)  # at most every send is held once
    held = (*(np.zeros(n_held, dtype=np.int64) for _ in range(4)), np.full(n_held, -1, dtype=np.int64), np.zeros(n_held))
    # calls: per service type its leg, offers and admission class (des._calls, des.SERVICE_CAUSE)
    offers_l = [tables.call_offers(radio, t) for t in SERVICE_TYPES]
    width = max(1, max(len(o) for o in offers_l))
    offers = np.full((len(SERVICE_TYPES), width), -1, dtype=np.int64)
    for k, o in enumerate(offers_l):
        offers[k, :len(o)] = o
    legs = np.array([tables.call_legs(radio, t)[0] for t in SERVICE_TYPES], dtype=np.int64)
    calls = (np.searchsorted(c["k_dev"], np.arange(D + 1)), c["k_t"].astype(np.float64),
             np.zeros((D, 6), dtype=np.int64), c["k_type"].astype(np.int64), legs, offers,
             np.array([len(o) for o in offers_l], dtype=np.int64),
             np.array([_RANK[SERVICE_CAUSE[t]] for t in SERVICE_TYPES], dtype=np.int64))
    # the limited nodes: types, instances, routes (ControlNetwork)
    cp = scn.controlplane
    names = list(cp.nodes)
    cn = ControlNetwork(None, cp.nodes, tables.nodes, tables.routed, tables.is_promotion, [], scn.simulation.seed)
    P = len(cn.routes)
    hops = max(1, max(len(r) for r in cn.routes))
    r_n = np.array([len(r) for r in cn.routes], dtype=np.int64)
    r_node = np.zeros((P, hops), dtype=np.int64)
    r_msgs = np.zeros((P, hops), dtype=np.int64)
    for p, route in enumerate(cn.routes):
        for j, (name, m) in enumerate(route):
            r_node[p, j], r_msgs[p, j] = names.index(name), m
    caps = [cp.nodes[name] for name in names]
    per = [1 if cap.devices_per_node is None else -(-D // cap.devices_per_node) for cap in caps]
    n_base = np.cumsum([0, *per])[:-1].astype(np.int64)
    I = int(sum(per))
    net = (r_n, r_node, r_msgs, n_base,
           np.array([0 if cap.devices_per_node is None else cap.devices_per_node for cap in caps], dtype=np.int64),
           np.array([cap.servers for cap in caps], dtype=np.int64),
           np.array([1.0 / cap.messages_per_s for cap in caps]),
           np.array([np.inf if cap.queue_limit is None else float(cap.queue_limit) for cap in caps]),
           np.array([np.inf if cap.guard_s is None else cap.guard_s for cap in caps]),
           np.array([cap.admission == "priority" for cap in caps]),
           np.array([np.inf if not cap.reserved_share else (1.0 - cap.reserved_share) * (cap.servers + cap.queue_limit)
                     for cap in caps]),
           np.array([name in ControlNetwork.RAN_NODES for name in names]),
           np.zeros(I + 1, dtype=np.int64))
    nodes = np.repeat(np.arange(len(names)), per).astype(np.int64)
    qs = q.state(I, 1024 + 4 * I)
    # machines, snapshots, captures
    chain = RADIOS[type(spec)].CHAIN
    def machine() -> tuple:
        return (np.full(D, spec.idle, dtype=np.int64), np.zeros(D), np.full(D, -1, dtype=np.int64),
                np.zeros(D, dtype=np.int64), np.zeros(D, dtype=np.int64), np.zeros(D, dtype=np.int64), np.zeros(D),
                np.full((D, chain), np.inf), np.zeros((D, chain), dtype=np.int64), np.zeros((D, chain), dtype=np.int64),
                np.zeros(D), np.zeros(D))
    mach, snap = machine(), machine()
    mach[6][:] = [start(spec.paging_key, d, spec.upkeep, spec.idle) for d in range(D)]
    repeats = max((getattr(spec, f)[2] for f in ("paging_area", "ran_paging_area") if hasattr(spec, f)), default=0)
    width = 4 + repeats
    # each device's captured records of its attempt under way: a row of ``width`` each (_cap0)
    cap = (np.zeros(D * width), *(np.zeros(D * width, dtype=np.int64) for _ in range(3)), np.zeros(D, dtype=np.int64))
    shortest = min((period for _, _, period in spec.upkeep), default=np.inf)
    upkept = 0 if shortest == np.inf else int(end_s / shortest) + 2
    margin_tr = 64 + 4 * (chain + upkept) + width
    tr = (np.zeros(D + 1024), *(np.zeros(D + 1024, dtype=np.int64) for _ in range(4)))
    cnt = np.zeros(12, dtype=np.int64)
    cnt[N_TR] = D  # every device's initial record
    tr[0][:D], tr[1][:D], tr[2][:D], tr[3][:D], tr[4][:D] = 0.0, np.arange(D), -1, -1, spec.idle
    xl = (np.zeros(1024), np.zeros((1024, 6), dtype=np.int64), np.zeros(1024))
    calls_log = np.zeros((1024, 8))
    nl = np.zeros((4096, 4))
    heap = (np.zeros(4 * D + 1024), *(np.zeros(4 * D + 1024, dtype=np.int64) for _ in range(4)), np.zeros(4 * D + 1024))
    cnt[N_FREE] = qs[6].size
    dev = np.zeros((D, D_QUEUE + n_apps + 2), dtype=np.int64)  # at most each connection's TCP job and the schedule wait
    dev[:, D_NEXT] = sends[0][:-1]
    calls[2][:, 0] = calls[0][:-1]
    params = (spec.idle, spec.keeper, spec.upkeep, spec.paging_key, tables.procedures.index((radio, "rrc_reject")),
              tables.procedures.index((radio, "service_reject")), cp.reject_wait_s, cp.max_attempts,
              np.inf if scn.network.nat_timeout_s is None else float(scn.network.nat_timeout_s),
              scn.calls.setup_guard_s, margin_tr, 64, tcp.retransmit, np.array(tcp.unanswered_s, dtype=np.float64),
              tcp.wait_s)
    _start(heap, cnt, mach, sends, calls, dev, spec.upkeep)
    while True:
        status = _loop(spec, end_s, net, nodes, qs, heap, cnt, mach, snap, cap, tr, xl, calls_log,
                       nl, sends, conns, held, dev, calls, params)
        if status == DONE_RUN:
            break
        tr = tuple(_grow(a, int(cnt[N_TR]), margin_tr + 1) for a in tr)
        xl = tuple(_grow(a, int(cnt[N_X]), 64 + int(cnt[HELD]) + 1) for a in xl)
        calls_log = _grow(calls_log, int(cnt[N_CALL]), 5)
        nl = _grow(nl, int(cnt[N_NL]), 257)
        heap = tuple(_grow(a, int(cnt[N_HEAP]), 65) for a in heap)
        if cnt[N_FREE] < 64:
            f, cc, heads, tails, ef, ei, free = qs
            old = ef.shape[0]
            ef, ei = _grow(ef, old, old), _grow(ei, old, old)
            ei[old:] = 0
            free = np.concatenate([np.arange(ef.shape[0] - 1, old - 1, -1), free[:cnt[N_FREE]]]).astype(np.int64)
            free = np.concatenate([free, np.zeros(ef.shape[0] - free.size, dtype=np.int64)])
            cnt[N_FREE] = ef.shape[0] - old + cnt[N_FREE]
            qs = (f, cc, heads, tails, ef, ei, free)
    tr = tuple(_grow(a, int(cnt[N_TR]), D * (chain + upkept + 2) + 1) for a in tr)
    calls_log = _grow(calls_log, int(cnt[N_CALL]), D + 1)
    _finish(end_s, mach, snap, cap, tr, cnt, dev, calls, calls_log, params, legs)
    return _arrays(names, caps, nodes, net[12][:I], qs, nl, cnt, tr, xl, calls_log, c["k_type"], end_s)


@njit(cache=True)
def _start(heap, cnt, mach, sends, calls, dev, upkeep):
    """Each device's first timer, call and send (as the SimPy engine builds them, device by device)."""
    for d in range(dev.shape[0]):
        _arm(0.0, d, heap, cnt, mach, upkeep)
        if calls[0][d + 1] > calls[0][d]:
            _push(heap, cnt, calls[1][calls[0][d]], CALL, d, 0, 0.0)
        if sends[0][d + 1] > sends[0][d]:
            _push(heap, cnt, sends[1][sends[0][d]], SEND, d, 0, 0.0)


def _arrays(names, caps, nodes, created, qs, nl, cnt, tr, xl, calls_log, call_type, end_s) -> LogArrays:
    """The log and the nodes' statistics and logs, as the SimPy engine returns them."""
    f, c = qs[0], qs[1]
    nl = nl[:cnt[N_NL]]
    order = [int(i) for i in np.argsort(created, kind="stable") if c[i, q.C_CREATED]]  # in creation order
    rank = np.full(len(nodes), len(nodes))  # each instance's place in creation order
    rank[order] = np.arange(len(order))
    of = nl[:, 1].astype(np.int64)
    # the node log's rows by node type, then instance in creation order (as the SimPy nodes report them), each
    # instance's in time order (lexsort is stable)
    by = np.lexsort((rank[of], nodes[of]))
    nl, of = nl[by], of[by]
    bounds = np.searchsorted(nodes[of], np.arange(len(names) + 1))
    stats, logs = {}, {}
    for typ, (name, cap) in enumerate(zip(names, caps)):
        inst = [i for i in order if nodes[i] == typ]
        rows = nl[bounds[typ]:bounds[typ + 1]]
        pick = lambda kind, rows=rows: rows[rows[:, 0] == kind][:, 2:]
        waits = pick(NL_WAIT)[:, 1]
        util = [(f[i, q.F_BUSY_AREA] + c[i, q.C_IN_SERVICE] * (end_s - f[i, q.F_LAST]))
                / (cap.servers * (end_s - f[i, q.F_START])) for i in inst]
        total = lambda col, inst=inst: int(c[inst, col].sum())
        stats[name] = {
            "instances": len(inst),
            "offered_messages": total(q.C_MSG_OFFERED), "carried_messages": total(q.C_MSG_CARRIED),
            "rejected_messages": total(q.C_MSG_REJECTED),
            "in_system_messages_at_end": total(q.C_MSG_SERVICE) + total(q.C_MSG_WAITING),
            "reject_messages": total(q.C_REJECT_MESSAGES),
            "offered_procedures": total(q.C_OFFERED), "carried_procedures": total(q.C_CARRIED),
            "rejected_procedures": total(q.C_REJECTED), "rejected": total(q.C_REJECTED),
            "in_system_at_end": total(q.C_WAITING) + total(q.C_IN_SERVICE),
            "utilization": float(np.mean(util)) if inst else 0.0,
            "utilization_max": float(max(util, default=0.0)),
            "wait_mean_s": float(waits.mean()) if waits.size else 0.0,
            "wait_p95_s": float(np.percentile(waits, 95)) if waits.size else 0.0,
        }
        offers = pick(NL_OFFER)
        logs[name] = {"offer_t": offers[:, 0], "offer_messages": offers[:, 1], "reject_t": pick(NL_REJECT)[:, 0],
                      "busy": pick(NL_BUSY), "queued": pick(NL_QUEUED), "waits": pick(NL_WAIT),
                      "carried": pick(NL_CARRIED), "servers": cap.servers * len(inst),
                      "capacity_per_s": cap.messages_per_s * cap.servers * len(inst)}
    controlplane = stats | {"rrc_rejects": int(cnt[RRC_REJECTS]), "failed_sends": int(cnt[FAILED_SENDS]), "barred": 0,
                            "core_rejects": 0, "failed_attaches": 0}
    n = cnt[N_TR]
    x_t, x_i, x_gen = xl[0][:cnt[N_X]], xl[1][:cnt[N_X]], xl[2][:cnt[N_X]]
    table, code = np.unique(x_i[:, 1:], axis=0, return_inverse=True)
    k = calls_log[:cnt[N_CALL]]
    i64 = np.int64
    return LogArrays(tr[0][:n].copy(), tr[1][:n].copy(), tr[2][:n].copy(), tr[3][:n].copy(), tr[4][:n].copy(),
                     x_t.copy(), x_i[:, 0].copy(), code.reshape(-1), table.reshape(-1, 5), int(cnt[HELD_TOTAL]),
                     controlplane=controlplane, node_log=logs, x_generated_t=x_gen.copy(),
                     call_t=k[:, 0].copy(), call_device=k[:, 1].astype(i64), call_ok=k[:, 2].astype(bool),
                     call_setup_s=k[:, 3].copy(), call_proc=k[:, 4].astype(i64), call_type=k[:, 5].astype(i64),
                     call_carried=k[:, 6].astype(i64), call_undecided=k[:, 7].astype(bool),
                     call_attempts=np.bincount(call_type.astype(i64), minlength=len(SERVICE_TYPES)))

