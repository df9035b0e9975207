"""The compiled closed loop: finite nodes, rejects, retries and calls as one Numba event loop over arrays.

The model is the SimPy engine's (``sim.engine.controlled``, ``sim.engine.des``): a device's sends go
one at a time through its RRC machine (the compiled form the open-loop kernels walk, each radio's
``transfer``), a promotion's procedures are offered to the limited nodes on their routes in turn
(``sim.controlplane.queue``, the compiled form of the SimPy node), a reject restores the machine and the
device tries again after ``reject_wait_s`` up to ``max_attempts``, timer-driven demotions and periodic
updates load the nodes when they fall due, calls and short messages offer their legs. One 4-ary heap
of (time, sequence, kind, index) drives it; a stale timer is skipped when it surfaces.

**Order of simultaneous events** (``docs/model.md`` §9): events at the same instant are taken in the
order they were scheduled, as SimPy takes them, and SimPy's zero-delay steps are events here too, scheduled
when SimPy schedules them: a device's lock granted to whoever asked (GRANT: the ``Resource`` succeeds the
request), a node's outcome reaching the send or call waiting for it (OUTCOME, CALLED: the node succeeds its
event), a retrying client's ``timeout(0.0)`` before an attempt's first SYN (DIAL, then TCP). Behind a limited
node this is not a nicety: times tie exactly there (a device's next event is a node's completion plus a round
offset; after a storm the clients beat in step, one service time apart, onto each other's completions), and
the tests check equality. Where SimPy starts a process (an ``Initialize`` event, urgent: taken before any other
event at that instant), this engine takes its first step at once.

A device's radio jobs (its schedule's sends and a restarted heartbeat's beats; on a connection the NAT dropped,
TCP's unanswered transmission, its retransmissions and the app's reconnect; a client whose server is down (a
``server_outage``), its unanswered send's retransmissions, each attempt's SYN and its retransmissions, and the
reconnect once the server is back) take its lock in the order they ask for it, as SimPy's per-device
``Resource`` grants it. An app update (``heartbeat_change``) restarts its connections' heartbeats at the new
interval from their last beat, a ``nat_change`` holds from its time on, each as SimPy's process does it at that
instant (scheduled at the start, so before any device's event then); the overload controls hold an attempt back
(``ControlledPhone._hold_off``: access barring by the device's own keyed draws, a ``core_overload`` refusing a
promotion through the core); a RAN outage takes its devices' connections and re-attaches them at its end
(``ControlledPhone.ran_outage``); a core restart takes their contexts, which they find out about at their next
contact, or re-attach at once (``core_restart``, ``_radio``, ``_attach_until_done``). What it does not cover
(``Scenario.uncompiled``) runs on the SimPy engine: more than 62 RAN outages,
random access, adaptive heartbeats, capture replays, call-back and VoIP data, several radios in one run.

**The state is a few tables** (the tuple ``w``, its members named by the ``W_`` constants): each device's
row of integers and of floats (its sends' progress, its radio job, its RRC machine and the machine's snapshot
during an attempt, its calls, its lock's queue), each send's, connection's, held message's and call's row,
the heap, the logs, the nodes. Numba passes a function every array's descriptor (about 2 ns each, measured),
so few, wide tables keep the calls of each event cheap, and the loop borrows them (``sim.radio.compiled.borrow``:
a type with no reference to count, where Numba had counted every array on entering and leaving every call;
``docs/performance.md``). Devices that share no limited node's instance run as loops of their own
(``Scenario.partitions``, ``sim.split``).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from numba import njit

from sim.controlplane import queue as q
from sim.controlplane.network import ControlNetwork
from sim.controlplane.node import CAUSES
from sim.engine.des import SERVICE_CAUSE, served_by
from sim.engine.feedback import EXPONENTIAL, FIXED, POLICY, nat_timeouts
from sim.engine.log import (HEARTBEAT, MESSAGE, NL_BUSY, NL_CARRIED, NL_OFFER, NL_QUEUED, NL_REJECT, NL_WAIT, RECONNECT,
                            UNANSWERED, LogArrays, RestartOutcome)
from sim.metrics.coverage import bin_edges
from sim.metrics.nodes import CHUNK_ROWS, NodeLog
from sim.memory import give_back_freed_memory
from sim.metrics.transfers import TransferCounts, delivered, distinct_rows
from sim.population.draws import BARRING_STREAM, block_draws, blocks, keyed_uniform, max_retries, restart_stream
from sim.population.schedule import open_loop_sends, push_users
from sim.population.tcp import MSS_BYTES, tcp_timing
from sim.population.traffic import app_traffic, push_traffic
from sim.radio.compiled import column, columns, fire, lend, settle, start
from sim.radio.kernel import RADIOS, transfer
from sim.radio.tables import ModelTables
from sim.scenario import ResolvedScenario
from sim.scenario.schema import SERVICE_TYPES

part = njit(cache=True, inline="always")

# event kinds. SimPy's zero-delay steps are events too (they sort after every event already due then): GRANT, a
# device's lock goes to whoever asked (a Resource request succeeds); OUTCOME and CALLED, a node's outcome reaches the
# send or the call waiting for it (the node succeeds its event); a retrying client's steps as its timeouts take them
# (ControlledPhone._reconnect): BACKOFF, an attempt failed or the unanswered send's wait is over (the policy's wait
# begins); DIAL, the policy's wait is over (the attempt's first SYN goes after ``timeout(0.0)``); UPDATE, an app
# update's new heartbeat interval reaches a connection (a ``heartbeat_change``: des._app_update); STEP, an event's
# process on device a asks for its lock as b (n_conn + a ``_step``: ControlledPhone.ran_outage, core_restart,
# _attach_until_done)
SEND, CALL, TIMER, DONE, GUARD, RETRY, TCP, BEAT, BACKOFF, DIAL, GRANT, OUTCOME, CALLED, UPDATE, STEP = range(15)
# the tables of ``w``: the heap's floats (time, value) and integers (sequence, kind, a, b); each device's integers
# and floats (columns D_/M_/K_ and F_); the capture buffer (each device's records of its attempt under way: a row
# of equal width each), floats (time) and integers (procedure, owner, state); the transition log, floats (time)
# and integers (device, procedure, owner, state); the transfer log, floats (time, generated) and integers (XI_);
# the node log; the calls log; each send's floats (time, generated) and integers (SI_); each connection's floats
# (last packet) and integers (CI_); each held message's floats (generated) and integers (HI_); each call's time
# and type; per service type its leg, admission class and offers (V_); per procedure its route (R_); per limited
# node type its integers (T_) and floats (TF_); per instance its type and creation order; the queues (qf, qc,
# ef, ei, free: sim.controlplane.queue); per server outage its floats (OF_) and integers (OI_); each device's retry
# jitter draws (the outages' columns side by side: OI_DRAWS); each restarted heartbeat's floats (BT_); the counters
(W_HF, W_HI, W_DI, W_DF, W_CAPF, W_CAPI, W_TRF, W_TRI, W_XF, W_XI, W_NL, W_CL, W_SF, W_SI, W_CF, W_CI, W_HLF, W_HLI,
 W_KT, W_KTYPE, W_SVC, W_ROUTES, W_TI, W_TF, W_INST, W_QF, W_QC, W_EF, W_EI, W_FREE, W_OF, W_OI, W_RJ, W_BT,
 W_CNT, W_OC, W_RAF, W_RAI) = range(38)
# ... then per core restart what its devices did (OC_: RestartOutcome's counters), and each re-attach's delay since
# its restart (W_RAF) and restart (W_RAI)
OC_DEVICES, OC_IMPLICIT, OC_ATTEMPTS, OC_REJECTED, OC_BACKOFF, OC_REATTACHED = range(6)
MAXCHAIN = max(m.CHAIN for m in RADIOS.values())  # the longest chain of pending demotions of any radio
# a device's integer columns: its schedule's next send and the end of its sends; its current radio job's attempts,
# whether its admission is under way, the procedure and the hop of its route being offered, its up and down bytes,
# whether it is incoming, whether its connection was alive, its app, what the job is, the send it carries and that
# send's connection; whether the device's lock is taken (SimPy's per-device Resource: by a job, or granted to one
# about to begin), its lock's queue (head, length); its records captured in the attempt; its calls: the next, the end, whether one is
# being decided, its offer and hop, the procedures carried, the node type rejecting it (-1: none); who asked for its
# radio job (as its lock's queue's entries: SCHEDULE, a connection's TCP, or BEATS - connection), the outage its
# send's server was in when the send began (-1: none; J_SEND: once the send is out its client notices); the
# sequence of its timer scheduled last while it is in the heap (-1: none; F_TM_T: its time), of the one deferred
# (-1: none; F_TL_T, F_TL_V: its time and due; _arm); its access barring draws so far; which of its RAN outages have
# taken it down (a bit each: its next step is the node's return); the attach under way (A_); the core restart that lost its
# context (-1: none; LostContext), whether it knows, its attach attempt counter and its draws so far
(D_NEXT, D_SENDS_END, D_ATTEMPTS, D_ADMITTING, D_PROC, D_HOP, D_UP, D_DOWN, D_IN, D_ALIVE, D_APP, D_JOB, D_SEND,
 D_CONN, D_LOCKED, D_QHEAD, D_QLEN, D_CAPTURED, K_NEXT, K_END, K_DECIDING, K_OFFER, K_HOP, K_CARRIED,
 K_REJECTING, D_BY, D_OUTAGE, D_TM_SEQ, D_TL_SEQ, D_BARRING, D_RAN_DOWN, D_ATTACHING, D_LOST, D_KNOWN, D_LOST_TRIES,
 D_LOST_DRAWS) = range(36)
# then its RRC machine: state, owner, the chain's head and size, pages so far, the chain's procedures and states;
# then the machine's snapshot (SNAP_I columns on), then its lock's queue's entries
M_STATE, M_OWNER, M_HEAD, M_SIZE, M_PAGES = range(D_LOST_DRAWS + 1, D_LOST_DRAWS + 6)
M_CH_PROC, M_CH_STATE = M_PAGES + 1, M_PAGES + 1 + MAXCHAIN
SNAP_I = 5 + 2 * MAXCHAIN
D_QUEUE = M_STATE + 2 * SNAP_I
# a device's float columns: its machine's end of promotion, the update timer's last start, the chain's times; the
# snapshot of those (SNAP_F on); the attempt's total wait and its start; when the send its job carries was generated;
# its timers' times (D_TM_SEQ); until when its RAN node is down (ControlledPhone.down_until)
F_READY, F_LAST, F_CH_DUE = 0, 1, 2
SNAP_F = 2 + MAXCHAIN
F_WAIT, F_START, F_GEN, F_TM_T, F_TL_T, F_TL_V, F_DOWN_UNTIL = range(2 * SNAP_F, 2 * SNAP_F + 7)
F_WIDTH = F_DOWN_UNTIL + 1
# what a device's radio job is: a send (of its schedule or a restarted heartbeat); on a connection the NAT dropped,
# TCP's first unanswered transmission of a send, a retransmission (there, or of a send its server did not answer),
# the app's reconnect after its timeout (ControlledPhone._wait_out); a client retrying its server
# (ControlledPhone._reconnect): a SYN nothing answers, the reconnect once the server is back
J_SEND, J_FIRST, J_RETX, J_REDIAL, J_SYN, J_BACK = range(6)
# an attach under way: none; a RAN outage's re-attach; a lost context's (_attach_until_done); a lost context's when a
# radio job found it out (ControlledPhone._radio: the job goes on once attached)
A_NONE, A_RAN, A_WAKE, A_IMPLICIT = range(4)
# who waits in a device's lock's queue (and asked for its radio job): its schedule, a connection's restarted
# heartbeat (BEATS - connection), else a connection's TCP (its retransmission, reconnect or SYN)
SCHEDULE, BEATS = -1, -2
SI_CONN, SI_APP, SI_KIND, SI_UP, SI_DOWN, SI_PACKETS, SI_IN = range(7)  # a send's integer columns
# a connection's integer columns: bytes up and down of the messages it holds, the first and last held (-1: none),
# its app, its reconnect's bytes up and down and packets, the send TCP is retransmitting (-1: none),
# retransmissions so far; the outage its client is retrying its server for (-1: none; Connection.retrying), the
# attempts so far and the attempt's SYN; whether its heartbeats come from the schedule; its restarted heartbeat's
# row of W_BT (-1: it has none), which restart is the live one and its beats so far; its device; its server's
# outages (first, end: rows of W_OF)
(CI_HELD_UP, CI_HELD_DOWN, CI_HELD_FIRST, CI_HELD_LAST, CI_APP, CI_R_UP, CI_R_DOWN, CI_R_PACKETS, CI_FAILED,
 CI_RETX, CI_OUTAGE, CI_ATTEMPT, CI_SYN, CI_SCHEDULED, CI_BEAT, CI_BEAT_GEN, CI_BEAT_K, CI_DEV, CI_OUT_FIRST,
 CI_OUT_END) = range(20)
# a connection's float columns: its last packet through the NAT, when the send TCP is retransmitting was generated,
# its restarted heartbeat's latest beat (nominal time), when its last heartbeat went (Connection.last_beat_s)
CF_LAST, CF_FAILED_S, CF_BEAT_S, CF_LAST_BEAT = range(4)
# a server outage's floats: its start and end, its retry policy's interval, initial and longest wait, when an attempt
# has failed, then its SYNs' offsets (TcpTiming.connect); its integers: the policy, the SYN's bytes, how many SYNs, its
# first column of the retry jitter draws (-1: no jitter)
OF_START_S, OF_END_S, OF_INTERVAL_S, OF_INITIAL_S, OF_MAX_S, OF_FAIL_S, OF_SYN_S = range(7)
OI_POLICY, OI_SYN_UP, OI_SYNS, OI_DRAWS = range(4)
# a restarted heartbeat's interval, jitter, how many draws its device has, then the draws
BT_INTERVAL_S, BT_JITTER, BT_N, BT_DRAWS = range(4)
HI_APP, HI_UP, HI_DOWN, HI_PACKETS, HI_NEXT = range(5)  # a held message's integer columns
XI_DEV, XI_APP, XI_KIND, XI_UP, XI_DOWN, XI_PACKETS = range(6)  # a logged transfer's integer columns
V_LEG, V_RANK, V_OFFERS, V_OFFER = range(4)  # a service type's columns: its leg, class, offers, then each offer
R_HOPS, R_NODE = 0, 1  # a route's columns: its hops, then each hop's node type, then (R_NODE + hops on) messages
T_BASE, T_PER, T_SERVERS, T_PRIORITY, T_RAN = range(5)  # a node type's: first instance, devices per instance, ...
TF_SERVICE_S, TF_ROOM, TF_GUARD_S, TF_UNRESERVED = range(4)  # s per message, waiting room, guard, unreserved places
I_TYPE, I_ORDER = range(2)  # an instance's type and place in creation order
BY_SEND, BY_CALL, BY_LOAD = range(3)  # whose procedure an entry is
# counters (``w[W_CNT]``)
(N_TR, N_X, N_CALL, N_HEAP, SEQ, N_FREE, N_NL, RRC_REJECTS, FAILED_SENDS, HELD, HELD_NEXT, HELD_TOTAL,
 N_CREATED, CORE_REJECTS, BARRED, FAILED_ATTACHES, N_REATTACH, HOLE) = range(18)
# the parameters ``p``: the owner of the radio's periodic updates, its upkeep, the procedures of an RRC and of a
# service reject, the reject wait, the most attempts, the NAT timeouts (the network's, then each ``nat_change``'s
# from its time on, P_NAT_AT; inf: no NAT), the call set-up guard, the log margins,
# whether TCP retransmits, its retransmissions' times and the app's timeout; the run's first device (its devices are
# numbered from 0 within it: ``Scenario.partitions``); the send row of the first restarted heartbeat (each has one,
# after the schedule's sends: its connection, app and payload); when the NAT timeouts begin (-inf, then each change's);
# the overload controls, in event order (OV_: start, end, kind, then a ``core_overload``'s extended wait or an
# ``access_barring``'s share and barring time); per procedure, whether it is a promotion the core refuses under
# overload (ControlNetwork.core_promotion); the run's seed; each RAN outage's start and end, each
# device's connections (from P_DEV_CONN_LO[d]: ControlledPhone._release), the radio's idle state, its attach
# procedure and the ``network`` pseudo-app's code; the core restarts (RS_, in event order); the radio's attach retry
# timers (T3411, T3402, attempts: Profile.attach_retry); the run's end
(P_KEEPER, P_UPKEEP, P_RRC_REJECT, P_SERVICE_REJECT, P_REJECT_WAIT_S, P_MAX_ATTEMPTS, P_NAT_S, P_CALL_GUARD_S,
 P_MARGIN_TR, P_MARGIN_X, P_RETRANSMIT, P_RTO_S, P_WAIT_S, P_FIRST, P_BEAT_SEND, P_NAT_AT, P_CONTROLS,
 P_CORE_PROMOTION, P_SEED, P_RAN_S, P_DEV_CONN_LO, P_DEV_CONN, P_IDLE, P_ATTACH, P_NETWORK_APP, P_RESTARTS,
 P_ATTACH_RETRY, P_END_S) = range(28)
# a core restart's time, spread, whether it backs off (T3346) and between what, whether every device attaches at
# once, its draws' stream (restart_stream)
RS_AT_S, RS_SPREAD_S, RS_BACKOFF, RS_T3346_MIN_S, RS_T3346_MAX_S, RS_IMMEDIATE, RS_STREAM = range(7)
OV_START_S, OV_END_S, OV_KIND, OV_WAIT_S, OV_SHARE, OV_BARRING_S = range(6)
OV_OVERLOAD, OV_BARRING = range(2)
DONE_RUN, NEED_SPACE = range(2)
_RANK = {c: i for i, c in enumerate(CAUSES)}
#: a partition's transition records stream into the metrics once their buffer holds this many and so many a device
#: (each device's last one stays: _stream_transitions)
TR_CHUNK_ROWS, TR_ROWS_PER_DEVICE = 2**22, 4
# a partition this large gives the memory its set-up freed back before the loop (sim.memory): at 10^5 devices its
# loop runs for tens of seconds and the freed blocks are 0.1 GB, at 10^6 more than a GB; london-2009's partitions of
# 2 x 10^4 each would pay page faults for it, 50 times at 10^6 devices (assumption: the threshold between them)
GIVE_BACK_DEVICES = 100_000


# ---------------------------------------------------------------- the heap
# A 4-ary heap of events by (time, sequence), rows of ``hf`` and ``hi``: a row's children are four rows side by
# side (their times 64 bytes together) and the heap is half as deep as a binary one. Taking the top leaves a
# hole there (``cnt[HOLE]``) that the next event scheduled fills, sinking to its place: an event that is the next
# to take (a zero-delay step with nothing else due now, most of them) stays at the top at the cost of four
# comparisons, where refilling the top with the last row and then adding the event each walk the height of the heap.

@part
def _push(hf, hi, cnt, t: float, kind: int, a: int, b: int, v: float) -> None:
    """Schedule event ``kind`` at ``t``; it sorts after every event already at ``t`` (its sequence is the
    latest)."""
    _push_at(hf, hi, cnt, t, _take_seq(cnt), kind, a, b, v)


@part
def _take_seq(cnt) -> int:
    """The next sequence: an event's place among simultaneous ones, taken when it is decided."""
    cnt[SEQ] += 1
    return cnt[SEQ] - 1


@njit(cache=True)
def _push_at(hf, hi, cnt, t: float, seq: int, kind: int, a: int, b: int, v: float) -> None:
    """Schedule event ``kind`` at ``t`` with the sequence ``seq`` taken when it was decided (a deferred event: it
    sorts among the events at ``t`` where it would have, had it been scheduled then)."""
    if cnt[HOLE]:
        cnt[HOLE] = 0
        cnt[N_HEAP] += 1
        _sink(hf, hi, cnt[N_HEAP], t, seq, v, kind, a, b)
        return
    i = cnt[N_HEAP]
    cnt[N_HEAP] += 1
    while i > 0:
        parent = (i - 1) >> 2
        if not (t < hf[parent, 0] or (t == hf[parent, 0] and seq < hi[parent, 0])):
            break
        hf[i, 0], hf[i, 1] = hf[parent, 0], hf[parent, 1]
        hi[i, 0], hi[i, 1], hi[i, 2], hi[i, 3] = hi[parent, 0], hi[parent, 1], hi[parent, 2], hi[parent, 3]
        i = parent
    hf[i, 0], hf[i, 1] = t, v
    hi[i, 0], hi[i, 1], hi[i, 2], hi[i, 3] = seq, kind, a, b


@njit(cache=True)
def _sink(hf, hi, n: int, t: float, seq: int, v: float, kind: int, a: int, b: int) -> None:
    """Put an event in the hole at the top of a heap of ``n`` rows (the hole one of them), sinking it to its
    place."""
    i = 0
    while True:
        small = 4 * i + 1
        if small >= n:
            break
        t_small = hf[small, 0]
        for c in range(small + 1, min(small + 4, n)):  # the earliest of its (up to) four children
            if hf[c, 0] < t_small or (hf[c, 0] == t_small and hi[c, 0] < hi[small, 0]):
                small, t_small = c, hf[c, 0]
        if not (t_small < t or (t_small == t and hi[small, 0] < seq)):
            break
        hf[i, 0], hf[i, 1] = hf[small, 0], hf[small, 1]
        hi[i, 0], hi[i, 1], hi[i, 2], hi[i, 3] = hi[small, 0], hi[small, 1], hi[small, 2], hi[small, 3]
        i = small
    hf[i, 0], hf[i, 1] = t, v
    hi[i, 0], hi[i, 1], hi[i, 2], hi[i, 3] = seq, kind, a, b


@part
def _pop(hf, hi, cnt) -> None:
    """Take the top (read it before): a hole until an event fills it (``_push_at``) or ``_fill``."""
    cnt[N_HEAP] -= 1
    cnt[HOLE] = 1


@part
def _fill(hf, hi, cnt) -> None:
    """Fill the hole at the top, if any, with the last row."""
    if cnt[HOLE]:
        cnt[HOLE] = 0
        n = cnt[N_HEAP]
        if n > 0:
            _sink(hf, hi, n, hf[n, 0], hi[n, 0], hf[n, 1], hi[n, 1], hi[n, 2], hi[n, 3])


@part
def _schedule(w, t: float, kind: int, a: int, b: int, v: float) -> None:
    _push(w[W_HF], w[W_HI], w[W_CNT], t, kind, a, b, v)


# ---------------------------------------------------------------- logs

@part
def _nl(nl, cnt, kind: int, inst: int, a: float, b: float) -> None:
    k = cnt[N_NL]
    nl[k, 0], nl[k, 1], nl[k, 2], nl[k, 3] = kind, inst, a, b
    cnt[N_NL] = k + 1


@part
def _transfer(w, t: float, d: int, app: int, kind: int, up: int, down: int, packets: int, generated_s: float) -> None:
    xf, xi, cnt = w[W_XF], w[W_XI], w[W_CNT]
    k = cnt[N_X]
    xf[k, 0], xf[k, 1] = t, generated_s
    xi[k, XI_DEV], xi[k, XI_APP], xi[k, XI_KIND], xi[k, XI_UP], xi[k, XI_DOWN], xi[k, XI_PACKETS] = (
        d, app, kind, up, down, packets)
    cnt[N_X] = k + 1


@part
def _record(w, t: float, d: int, proc: int, owner: int, state: int) -> None:
    """A record of ``d``'s machine into the transition log."""
    trf, tri, cnt = w[W_TRF], w[W_TRI], w[W_CNT]
    n = cnt[N_TR]
    trf[n] = t
    tri[n, 0], tri[n, 1], tri[n, 2], tri[n, 3] = d, proc, owner, state
    cnt[N_TR] = n + 1


@part
def _log_recs(w):
    """The transition log as the radio pieces write records: (time, procedure, owner, state) columns."""
    tri = w[W_TRI]
    return w[W_TRF], column(tri, 1), column(tri, 2), column(tri, 3)


@part
def _cap_recs(w):
    """The capture buffer as the radio pieces write records."""
    capi = w[W_CAPI]
    return w[W_CAPF], column(capi, 0), column(capi, 1), column(capi, 2)


@part
def _cap0(w, d):
    """Where device ``d``'s captured records start in the capture buffer."""
    return d * (w[W_CAPF].size // w[W_DI].shape[0])


@part
def _chain(w):
    """The devices' chains of pending demotions (time, procedure, state), a row each."""
    di, df = w[W_DI], w[W_DF]
    return columns(df, F_CH_DUE, MAXCHAIN), columns(di, M_CH_PROC, MAXCHAIN), columns(di, M_CH_STATE, MAXCHAIN)


@part
def _save(w, d, restore: bool) -> None:
    """Copy device ``d``'s machine to its snapshot (or back, ``restore``)."""
    di, df = w[W_DI], w[W_DF]
    src_i, dst_i, src_f, dst_f = (M_STATE + SNAP_I, M_STATE, SNAP_F, 0) if restore else (M_STATE, M_STATE + SNAP_I, 0,
                                                                                        SNAP_F)
    for j in range(SNAP_I):
        di[d, dst_i + j] = di[d, src_i + j]
    for j in range(SNAP_F):
        df[d, dst_f + j] = df[d, src_f + j]


# ---------------------------------------------------------------- the loop

@njit(cache=True)
def _loop(spec, end_s, w, p):
    """Run events before ``end_s``; returns DONE_RUN or NEED_SPACE (a buffer is near full: grow it and call
    again)."""
    w, p, spec = lend(w), lend(p), lend((spec,))  # passed down the calls below as pointers (lend)
    hf, hi, cnt, di, ci = w[W_HF], w[W_HI], w[W_CNT], w[W_DI], w[W_CI]
    qf, qc, ei, ef, free, inst, tf = w[W_QF], w[W_QC], w[W_EI], w[W_EF], w[W_FREE], w[W_INST], w[W_TF]
    nl = w[W_NL]
    upkeep, max_attempts, margin_tr, margin_x = p[P_UPKEEP], p[P_MAX_ATTEMPTS], p[P_MARGIN_TR], p[P_MARGIN_X]
    while True:
        _fill(hf, hi, cnt)
        if cnt[N_HEAP] == 0:
            break
        if (cnt[N_TR] + margin_tr > w[W_TRF].size or cnt[N_X] + margin_x + cnt[HELD] > w[W_XF].shape[0]
                or cnt[N_HEAP] + 64 > hf.shape[0] or cnt[N_FREE] < 64 or cnt[N_NL] + 256 > nl.shape[0]
                or cnt[N_CALL] + 4 > w[W_CL].shape[0]):
            return NEED_SPACE
        now = hf[0, 0]
        if now >= end_s:
            return DONE_RUN
        v, seq, kind, a, b = hf[0, 1], hi[0, 0], hi[0, 1], hi[0, 2], hi[0, 3]
        _pop(hf, hi, cnt)
        if kind == SEND:
            _sched(spec, now, a, w, p, True, False)
        elif kind == RETRY:
            if di[a, D_ATTACHING] == A_RAN:  # a re-attach's next attempt after a reject (ControlledPhone.ran_outage)
                if di[a, D_ATTEMPTS] < max_attempts:
                    done = _attach(spec, now, a, p[P_NETWORK_APP], w, p) and _attached_job(spec, now, a, w, p)
                else:
                    cnt[FAILED_ATTACHES] += 1
                    di[a, D_ATTACHING] = A_NONE
                    done = True
            elif di[a, D_ATTEMPTS] < max_attempts:
                done = _attempt(spec, now, a, w, p)
            else:
                cnt[FAILED_SENDS] += 1  # the transfer is dropped
                done = _dropped(now, a, w, p)
            if done:
                _release(spec, now, a, w, p)
        elif kind == CALL:
            _call(now, a, w, p, True)
        elif kind == TCP:  # connection a's next TCP job asks for device b's lock
            _request(now, b, a, w)
        elif kind == GRANT:  # device a's lock goes to b (SCHEDULE, BEATS - a connection, a connection's TCP)
            if b == SCHEDULE:
                _sched(spec, now, a, w, p, False, True)
            elif b <= BEATS:
                _beats(spec, now, BEATS - b, w, p, False, True)
            elif b >= ci.shape[0]:  # an event's next step on it
                _step(spec, now, a, b - ci.shape[0], w, p)
            elif _tcp_job(spec, now, a, b, w, p):
                _unlock(now, a, w)
        elif kind == OUTCOME:  # device a's procedure was carried after waiting v (b < 0), or node type b rejected it
            if b < 0:
                di[a, D_HOP] += 1  # the next node on the route
                w[W_DF][a, F_WAIT] += v  # the attempt's total wait
                if _admit(spec, now, a, w, p) and _attached_job(spec, now, a, w, p):
                    _release(spec, now, a, w, p)
            elif _rejected(now, a, b, p[P_REJECT_WAIT_S], w, p):
                _release(spec, now, a, w, p)
        elif kind == CALLED:  # device a's call's offer was carried (b < 0), or node type b rejected it
            if b < 0:
                di[a, K_HOP] += 1
            else:
                di[a, K_REJECTING] = b
            _call(now, a, w, p, False)
        elif kind == BEAT:  # connection a's restarted heartbeat wakes (restart b: unless a later one replaced it)
            if ci[a, CI_BEAT_GEN] == b:
                _beats(spec, now, a, w, p, True, False)
        elif kind == UPDATE:  # connection a's app beats every v s from now on, keeping its phase (des._app_update)
            w[W_BT][ci[a, CI_BEAT], BT_INTERVAL_S] = v
            if ci[a, CI_OUTAGE] < 0:  # otherwise its reconnect restarts it
                _restart_beats(now, a, max(w[W_CF][a, CF_LAST_BEAT], now - v), w)
        elif kind == BACKOFF:  # connection a's client on device b waits by its policy before its next attempt
            _retry(now, b, a, w, p)
        elif kind == STEP:
            _request(now, a, b, w)
        elif kind == DIAL:
            _schedule(w, now + 0.0, TCP, a, b, 0.0)
        elif kind == TIMER:  # a's machine's timer due v (unless the machine's next is no longer at v)
            if di[a, D_TM_SEQ] == seq:
                di[a, D_TM_SEQ] = -1
            if di[a, D_TL_SEQ] >= 0:  # the deferred one in now, before its time
                _push_timer(w, a, w[W_DF][a, F_TL_T], di[a, D_TL_SEQ], w[W_DF][a, F_TL_V], p[P_END_S])
                di[a, D_TL_SEQ] = -1
            if _wake(w, a, upkeep) == v:
                _advance(now, a, w, p)
                _arm(now, a, w, p)
        elif kind == DONE:
            i, m = ei[a, q.EI_INSTANCE], ei[a, q.EI_MESSAGES]
            q.complete(qf, qc, ei, i, m, now)
            arrival, begun = ef[a, q.EF_ARRIVAL], ef[a, q.EF_START]
            wait = begun - arrival
            _nl(nl, cnt, NL_WAIT, i, arrival, wait)
            _nl(nl, cnt, NL_BUSY, i, begun, now)
            _nl(nl, cnt, NL_CARRIED, i, now, m)
            if wait:
                _nl(nl, cnt, NL_QUEUED, i, arrival, begun)
            nxt, cnt[N_FREE] = q.next_waiting(qc, ef, ei, free, cnt[N_FREE], i, now)
            if nxt >= 0:
                _push(hf, hi, cnt, now + ei[nxt, q.EI_MESSAGES] * tf[inst[i, I_TYPE], TF_SERVICE_S], DONE, nxt, 0,
                      0.0)
            who, owner = ei[a, q.EI_WHO], ei[a, q.EI_OWNER]
            free[cnt[N_FREE]] = a
            cnt[N_FREE] += 1
            _outcome(now, who, owner, True, wait, -1, w)
        else:  # GUARD: instance a's armed entry's guard time (unless it was served since); then the next one's
            e = qc[a, q.C_ARMED]
            qc[a, q.C_ARMED] = -1
            if ei[e, q.EI_GEN] == qc[a, q.C_ARMED_GEN] and ei[e, q.EI_LIVE]:
                q.expire(qf, qc, ei, e, now)
                _nl(nl, cnt, NL_REJECT, a, now, 0.0)
                _nl(nl, cnt, NL_QUEUED, a, ef[e, q.EF_ARRIVAL], now)
                _outcome(now, ei[e, q.EI_WHO], ei[e, q.EI_OWNER], False, 0.0, inst[a, I_TYPE], w)
            e, cnt[N_FREE] = q.oldest_waiting(qc, ef, ei, free, cnt[N_FREE], a)
            if e >= 0:
                _arm_guard(w, a, e)
    return DONE_RUN


@part
def _outcome(now, who, owner, accepted, wait, by_type, w):
    """A queued or served procedure's outcome reaches whoever waits for it, a zero delay later (as the SimPy node
    succeeds the event its process waits on); a load nobody waits for, rejected, signals nothing."""
    if who == BY_SEND:
        _schedule(w, now, OUTCOME, owner, -1 if accepted else by_type, wait)
    elif who == BY_CALL:
        _schedule(w, now, CALLED, owner, -1 if accepted else by_type, 0.0)
    elif not accepted:
        w[W_TRI][owner, 1] = -1


@njit(cache=True)
def _offer(now, d, proc, j, rank, reserved_ok, who, owner, mark, w):
    """Offer ``proc``'s messages at the ``j``-th limited node of its route to ``d``'s instance; returns the
    outcome (queue.REJECTED, SERVED, QUEUED)."""
    routes, ti, tf, cnt, nl = w[W_ROUTES], w[W_TI], w[W_TF], w[W_CNT], w[W_NL]
    typ = routes[proc, R_NODE + j]
    i = _instance(now, d, typ, w)
    m = routes[proc, R_NODE + routes.shape[1] // 2 + j]
    _nl(nl, cnt, NL_OFFER, i, now, m)
    outcome, e, cnt[N_FREE] = q.offer(w[W_QF], w[W_QC], w[W_EF], w[W_EI], w[W_FREE], cnt[N_FREE], i, m,
                                      rank if ti[typ, T_PRIORITY] else 0, reserved_ok, ti[typ, T_SERVERS],
                                      tf[typ, TF_ROOM], tf[typ, TF_UNRESERVED], now, who, owner, mark)
    if outcome == q.REJECTED:
        _nl(nl, cnt, NL_REJECT, i, now, 0.0)
    elif outcome == q.SERVED:
        _schedule(w, now + m * tf[typ, TF_SERVICE_S], DONE, e, 0, 0.0)
    elif tf[typ, TF_GUARD_S] != np.inf:  # its guard expiry's place among simultaneous events, taken now
        w[W_EI][e, q.EI_SEQ] = _take_seq(cnt)
        if w[W_QC][i, q.C_ARMED] < 0:
            _arm_guard(w, i, e)
    return outcome


@part
def _arm_guard(w, i, e):
    """Schedule the guard expiry of instance ``i``'s entry ``e``, the first of its waiting entries to expire (one
    expiry per instance is scheduled at a time: an entry's guard time is its arrival's plus its node's guard, so
    the waiting ones expire in the order they queued, and the next is scheduled when this one is due: where its
    own sequence puts it, exactly as if each were scheduled when it queued)."""
    qc, ei = w[W_QC], w[W_EI]
    qc[i, q.C_ARMED], qc[i, q.C_ARMED_GEN] = e, ei[e, q.EI_GEN]
    _push_at(w[W_HF], w[W_HI], w[W_CNT], w[W_EF][e, q.EF_ARRIVAL] + w[W_TF][w[W_INST][i, I_TYPE], TF_GUARD_S],
             ei[e, q.EI_SEQ], GUARD, i, 0, 0.0)


@part
def _instance(now, d, typ, w):
    """``d``'s instance of limited node ``typ``, created (its clock started) when first used."""
    ti, inst, qf, qc, cnt = w[W_TI], w[W_INST], w[W_QF], w[W_QC], w[W_CNT]
    per = ti[typ, T_PER]
    i = ti[typ, T_BASE] + (d // per if per > 0 else 0)
    if not qc[i, q.C_CREATED]:
        qc[i, q.C_CREATED] = 1
        qf[i, q.F_START] = qf[i, q.F_LAST] = now
        inst[i, I_ORDER] = cnt[N_CREATED]
        cnt[N_CREATED] += 1
    return i


@part
def _touch(now, d, proc, w):
    """Create every instance on ``proc``'s route (as ``ControlNetwork.route`` does when it is asked)."""
    routes = w[W_ROUTES]
    for j in range(routes[proc, R_HOPS]):
        _instance(now, d, routes[proc, R_NODE + j], w)


@njit(cache=True)
def _count_reject(now, d, code, w):
    """The reject's messages at every limited node on its route (``ControlNetwork.count_reject``)."""
    routes, qc = w[W_ROUTES], w[W_QC]
    _touch(now, d, code, w)
    hops = routes.shape[1] // 2
    for j in range(routes[code, R_HOPS]):
        qc[_instance(now, d, routes[code, R_NODE + j], w), q.C_REJECT_MESSAGES] += routes[code, R_NODE + hops + j]


@part
def _wake(w, d, upkeep):
    di, df = w[W_DI], w[W_DF]
    head = di[d, M_HEAD]
    due = df[d, F_CH_DUE + head] if head < di[d, M_SIZE] else np.inf
    for k in range(len(upkeep)):
        s, _, period = upkeep[k]
        if s == di[d, M_STATE]:
            return min(due, df[d, F_LAST] + period)
    return due


@part
def _arm(now, d, w, p):
    """Schedule ``d``'s machine's next timer (SimPy: ``ControlledPhone.arm``); when it surfaces it fires if the
    machine's next is still due then, else it is stale and skipped. Most are stale (each send pushes the tail's
    end on), so one is deferred, kept outside the heap until a timer of ``d`` already in the heap, due before it,
    surfaces: then it goes in with the sequence it took here (its place among simultaneous events, as if
    scheduled now). A deferred one that a later one replaces could only have fired if the machine's next were its
    due again when it surfaced; a rejected attempt's machine restored is the one way back to an earlier due, and
    that is the due of the timer scheduled last before the attempt, so a timer with the same due as the deferred
    one keeps the deferred one (it is first, and fires in its place). The timer of ``d`` scheduled last is known
    (``D_TM_SEQ``) until it surfaces; every other of its timers in the heap is due before it, or after it (a
    machine's next moved back): one deferred behind it is scheduled at the first to surface, in time."""
    di, df, cnt = w[W_DI], w[W_DF], w[W_CNT]
    due = _wake(w, d, p[P_UPKEEP])
    if due == np.inf:
        return
    t, seq = now + max(0.0, due - now), _take_seq(cnt)
    if di[d, D_TM_SEQ] >= 0 and t >= df[d, F_TM_T]:  # behind one in the heap (its sequence is earlier)
        if di[d, D_TL_SEQ] < 0 or df[d, F_TL_V] != due or t < df[d, F_TL_T]:
            di[d, D_TL_SEQ], df[d, F_TL_T], df[d, F_TL_V] = seq, t, due
        return
    _push_timer(w, d, t, seq, due, p[P_END_S])


@part
def _push_timer(w, d, t, seq, due, end_s):
    """A timer of ``d`` into the heap (``_arm``); one due at or after ``end_s`` would never surface, and stays out of it
    (it would be most of the heap: each promotion leaves the periodic update's timer of the machine before it behind),
    though it is the one of ``d`` scheduled last as if it were in."""
    di, df = w[W_DI], w[W_DF]
    if t < end_s:
        _push_at(w[W_HF], w[W_HI], w[W_CNT], t, seq, TIMER, d, 0, due)
    df[d, F_TM_T], di[d, D_TM_SEQ] = t, seq


@njit(cache=True)
def _advance(now, d, w, p):
    """Apply ``d``'s timers due by now; each new record is logged and loads the nodes (a demotion as the
    network's, a periodic update as the phone's ``mo-Signalling``)."""
    keeper, upkeep = p[P_KEEPER], p[P_UPKEEP]
    di, df, tri, cnt, routes = w[W_DI], w[W_DF], w[W_TRI], w[W_CNT], w[W_ROUTES]
    n0 = cnt[N_TR]
    n, di[d, M_STATE], di[d, M_HEAD], df[d, F_LAST] = fire(_log_recs(w), n0, di[d, M_OWNER], di[d, M_STATE],
                                                           _chain(w), d, di[d, M_HEAD], di[d, M_SIZE], now, False,
                                                           df[d, F_LAST], upkeep, keeper)
    tri[n0:n, 0] = d
    found = False
    if di[d, D_LOST] >= 0:
        n, found = _detached_updates(d, n0, n, w, p)
    cnt[N_TR] = n
    for k in range(n0, n):
        proc = tri[k, 1]
        if proc >= 0:
            rank = 5 if tri[k, 2] == keeper else 0  # mo-Signalling, network (CAUSES)
            _touch(now, d, proc, w)
            for j in range(routes[proc, R_HOPS]):
                if _offer(now, d, proc, j, rank, False, BY_LOAD, k, k, w) == q.REJECTED:
                    tri[k, 1] = -1
    if found:  # its attach until done, a process of its own (taking its first step at once)
        _core_reject(now, d, keeper, w, p)
        _schedule(w, now + 0.0, STEP, d, _who(w, p, 2, di[d, D_LOST]), 0.0)


@part
def _detached_updates(d, n0, n, w, p):
    """The periodic updates among ``d``'s new records ``n0:n`` while its core has lost its context: the core rejects
    the first as "implicitly detached" and the device attaches; none is logged (ControlledPhone._update_detached).
    Returns the records' new end and whether the device found out just now (its reject logged by the caller)."""
    tri, trf, di = w[W_TRI], w[W_TRF], w[W_DI]
    m, seen = n0, False
    for k in range(n0, n):
        if tri[k, 2] == p[P_KEEPER]:
            seen = True
            continue
        trf[m] = trf[k]
        for j in range(4):
            tri[m, j] = tri[k, j]
        m += 1
    found = seen and not di[d, D_KNOWN]
    if found:
        di[d, D_KNOWN] = 1
        w[W_OC][di[d, D_LOST], OC_IMPLICIT] += 1
    return m, found


@njit(cache=True)
def _sched(spec, now, d, w, p, woken, granted):
    """``d``'s schedule goes on: the sends due by now, one at a time, each asking for the lock (its heartbeats
    skipped while its app's client retries its server or beats on its own since), until one waits (``woken``: by
    the wake-up of its next send, which then goes, as SimPy's timeout resumes it; ``granted``: its next send's
    turn at the lock came)."""
    di, sf, si, ci = w[W_DI], w[W_SF], w[W_SI], w[W_CI]
    while di[d, D_NEXT] < di[d, D_SENDS_END]:
        k = di[d, D_NEXT]
        if not granted:
            t = sf[k, 0]
            if t > now and not woken:
                _schedule(w, now + (t - now), SEND, d, 0, 0.0)
                return
            woken = False
            c = si[k, SI_CONN]
            if si[k, SI_KIND] == HEARTBEAT and (ci[c, CI_OUTAGE] >= 0 or not ci[c, CI_SCHEDULED]):
                di[d, D_NEXT] += 1  # its app lost its server, or beats on its own since it came back: skipped
                continue
            _request(now, d, SCHEDULE, w)
            return
        granted = False
        if not _begin(spec, now, d, k, sf[k, 1], SCHEDULE, w, p):
            return
        _unlock(now, d, w)
        di[d, D_NEXT] += 1


@njit(cache=True)
def _beats(spec, now, c, w, p, woken, granted):
    """Connection ``c``'s restarted heartbeat goes on (``ControlledPhone._beats``): its beats one at a time, each
    asking for the lock when it falls due, until an outage takes the connection over (``woken``: by the wake-up of
    its next beat; ``granted``: its beat's turn at the lock came)."""
    ci, cf = w[W_CI], w[W_CF]
    d = ci[c, CI_DEV]
    if granted:
        if not _begin(spec, now, d, p[P_BEAT_SEND] + ci[c, CI_BEAT], cf[c, CF_BEAT_S], BEATS - c, w, p):
            return
        _unlock(now, d, w)
    if not woken and not _beat_due(now, c, w):
        return
    if ci[c, CI_OUTAGE] < 0:
        _request(now, d, BEATS - c, w)


@part
def _beat_due(now, c, w):
    """Connection ``c``'s restarted heartbeat's next beat: one interval after the last one's nominal time, scaled by
    1 + jitter x its draw (its device's draws, again from the first once used: ControlledPhone._beats); returns whether it
    is due at once (else its wake-up is scheduled, on the SimPy clock)."""
    ci, cf, bt = w[W_CI], w[W_CF], w[W_BT]
    b, k = ci[c, CI_BEAT], ci[c, CI_BEAT_K]
    interval_s, jitter = bt[b, BT_INTERVAL_S], bt[b, BT_JITTER]
    t = cf[c, CF_BEAT_S] + (interval_s * (1.0 + jitter * bt[b, BT_DRAWS + k % int(bt[b, BT_N])]) if jitter != 0.0
                            else interval_s)
    cf[c, CF_BEAT_S], ci[c, CI_BEAT_K] = t, k + 1
    if t > now:
        _schedule(w, now + (t - now), BEAT, c, ci[c, CI_BEAT_GEN], 0.0)
        return False
    return True


@njit(cache=True)
def _begin(spec, now, d, k, gen_s, by, w, p):
    """Send ``k`` of ``d``, generated at ``gen_s``, for ``by`` (its schedule or a restarted heartbeat), now
    (``ControlledPhone.send_gen``); returns whether it is done (False: it waits for the network)."""
    di, si, ci = w[W_DI], w[W_SI], w[W_CI]
    nat_s = _nat_s(p, now)
    conn = si[k, SI_CONN]
    up, down, incoming = si[k, SI_UP], si[k, SI_DOWN], si[k, SI_IN]
    outage = _outage_at(w, conn, now)
    if ci[conn, CI_OUTAGE] >= 0 or (incoming and outage >= 0) or now < w[W_DF][d, F_DOWN_UNTIL]:
        _hold(w, conn, k, gen_s)  # nothing reaches its server, or comes from it, until it (or the RAN) is back
        return True
    if ci[conn, CI_FAILED] >= 0:  # the app waits out its timeout: a heartbeat is skipped, a message held
        if si[k, SI_KIND] != HEARTBEAT:
            _hold(w, conn, k, gen_s)
        return True
    last = w[W_CF][conn, CF_LAST]  # -inf: lost with the device's IP address (a RAN outage)
    alive = last > -np.inf and (nat_s == np.inf or now - last <= nat_s)
    if not alive and incoming:
        _hold(w, conn, k, gen_s)
        return True
    di[d, D_BY], di[d, D_OUTAGE], w[W_DF][d, F_GEN] = by, outage, gen_s
    if not alive and p[P_RETRANSMIT] and last > -np.inf:  # nothing answers a connection the NAT dropped: TCP sends,
        # then retransmits (one lost with the IP address fails at once: the app reconnects on its new address)
        return _job(spec, now, d, J_FIRST, k, si[k, SI_APP], conn, up, 0, False, True, w, p)
    if not alive:
        up, down = _with_reconnect(ci, conn, up, down)
    return _job(spec, now, d, J_SEND, k, si[k, SI_APP], conn, up, down, incoming and alive, alive, w, p)


@part
def _nat_s(p, t):
    """The NAT timeout at ``t``: the network's, or the last ``nat_change``'s by then (one at ``t`` included: it
    was scheduled before any device's event, des._nat_change)."""
    at, val = p[P_NAT_AT], p[P_NAT_S]
    m = 0
    while m + 1 < at.size and at[m + 1] <= t:
        m += 1
    return val[m]


@part
def _restart_beats(now, c, from_s, w):
    """Connection ``c`` beats on its own from ``from_s`` (its next beat an interval later), replacing the schedule's
    heartbeats and any earlier restart (ControlledPhone.restart_beats); its first beat asks for the lock at once if
    it is due."""
    ci = w[W_CI]
    ci[c, CI_SCHEDULED] = 0
    ci[c, CI_BEAT_GEN] += 1
    w[W_CF][c, CF_BEAT_S], ci[c, CI_BEAT_K] = from_s, 0
    if _beat_due(now, c, w):
        _request(now, ci[c, CI_DEV], BEATS - c, w)


@part
def _outage_at(w, conn, t):
    """The outage of ``conn``'s server at ``t`` (-1: none; ``Connection.outage_at``)."""
    ci, of = w[W_CI], w[W_OF]
    for o in range(ci[conn, CI_OUT_FIRST], ci[conn, CI_OUT_END]):
        if of[o, OF_START_S] <= t < of[o, OF_END_S]:
            return o
    return -1


@part
def _with_reconnect(ci, conn, up, down):
    """Bytes up and down of a send after re-establishing ``conn``: the reconnect's and the held messages' with it."""
    return up + ci[conn, CI_R_UP] + ci[conn, CI_HELD_UP], down + ci[conn, CI_R_DOWN] + ci[conn, CI_HELD_DOWN]


@njit(cache=True)
def _ran_step(spec, now, d, o, w, p):
    """``d``'s RAN outage's next step has its lock (ControlledPhone.ran_outage): the node goes down (the radio and
    IP connections lost, no periodic update until the end), its return asked for at the end; or the node is back,
    and the device attaches again (holding its lock through the rejects' waits)."""
    di, df = w[W_DI], w[W_DF]
    end_s, bit = p[P_RAN_S][o, 1], np.int64(1) << o
    if not di[d, D_RAN_DOWN] & bit:
        di[d, D_RAN_DOWN] |= bit
        df[d, F_DOWN_UNTIL] = end_s
        _lose_connections(now, d, w, p)
        df[d, F_LAST] = end_s
        _unlock(now, d, w)
        _schedule(w, now + max(0.0, end_s - now), STEP, d, _who(w, p, 0, o), 0.0)
        return
    di[d, D_RAN_DOWN] &= ~bit
    df[d, F_DOWN_UNTIL] = 0.0
    di[d, D_ATTEMPTS], di[d, D_ATTACHING], di[d, D_BY] = 0, A_RAN, w[W_CI].shape[0]  # no send goes on after it
    if _attach(spec, now, d, p[P_NETWORK_APP], w, p) and _attached_job(spec, now, d, w, p):
        _release(spec, now, d, w, p)


@njit(cache=True)
def _step(spec, now, d, step, w, p):
    """An event's process on ``d`` has its lock: its RAN outage's next step (``step`` 0), core restart r's (1 + r:
    ControlledPhone.core_restart) or the attach that restart's lost context waits for (1 + restarts + r)."""
    n_r = p[P_RESTARTS].shape[0]
    n_o = p[P_RAN_S].shape[0]
    if step < n_o:
        _ran_step(spec, now, d, step, w, p)
    elif step < n_o + n_r:
        _restart_step(now, d, step - n_o, w, p)
    else:
        _wake_step(spec, now, d, step - n_o - n_r, w, p)


@part
def _who(w, p, kind, k):
    """Who asks for a device's lock for an event's step (STEP's ``b``): RAN outage ``k``'s (``kind`` 0), core restart
    ``k``'s (1) or the attach its lost context waits for (2)."""
    return w[W_CI].shape[0] + (0, p[P_RAN_S].shape[0], p[P_RAN_S].shape[0] + p[P_RESTARTS].shape[0])[kind] + k


@part
def _restart_step(now, d, r, w, p):
    """Core restart ``r`` takes ``d``'s context: its RRC and IP connections go (its update timer restarted if it
    was connected); it attaches when it next contacts the network, or (``immediate``) after its share of the
    spread."""
    di, df, rs = w[W_DI], w[W_DF], p[P_RESTARTS]
    if di[d, M_STATE] != p[P_IDLE]:
        df[d, F_LAST] = now
    _lose_connections(now, d, w, p)
    di[d, D_LOST], di[d, D_KNOWN], di[d, D_LOST_TRIES], di[d, D_LOST_DRAWS] = r, 0, 0, 0
    w[W_OC][r, OC_DEVICES] += 1
    _arm(now, d, w, p)
    _unlock(now, d, w)
    if rs[r, RS_IMMEDIATE]:
        di[d, D_KNOWN] = 1
        wait_s = _restart_draw(d, w, p) * rs[r, RS_SPREAD_S] if rs[r, RS_SPREAD_S] else 0.0
        _schedule(w, now + wait_s, STEP, d, _who(w, p, 2, r), 0.0)


@part
def _draw(d, col, stream, w, p):
    """``d``'s next draw of ``stream``, its draws so far counted in its column ``col`` (``keyed_uniform``)."""
    di = w[W_DI]
    k = di[d, col]
    di[d, col] = k + 1
    return keyed_uniform(p[P_SEED], stream, d + p[P_FIRST], k)


@part
def _restart_draw(d, w, p):
    """``d``'s next draw for the restart that lost its context (LostContext.uniform)."""
    return _draw(d, D_LOST_DRAWS, np.int64(p[P_RESTARTS][w[W_DI][d, D_LOST], RS_STREAM]), w, p)


@njit(cache=True)
def _wake_step(spec, now, d, r, w, p):
    """``d``'s wait for an attach is over and it has its lock (ControlledPhone._attach_until_done): nothing if it has
    attached meanwhile (or a later restart took over), again at the end of its RAN outage, else an attempt."""
    di, df = w[W_DI], w[W_DF]
    if di[d, D_LOST] != r:
        _unlock(now, d, w)
        return
    if now < df[d, F_DOWN_UNTIL]:
        _unlock(now, d, w)
        _schedule(w, now + (df[d, F_DOWN_UNTIL] - now), STEP, d, _who(w, p, 2, r), 0.0)
        return
    w[W_OC][r, OC_ATTEMPTS] += 1
    di[d, D_ATTACHING], di[d, D_BY] = A_WAKE, w[W_CI].shape[0]
    if _attach(spec, now, d, p[P_NETWORK_APP], w, p) and _attached_job(spec, now, d, w, p):
        _release(spec, now, d, w, p)


@njit(cache=True)
def _attached_job(spec, now, d, w, p):
    """``d``'s admission is over, every node having carried it: if it was an attach, the device is attached, and a
    radio job that found its context lost goes on (ControlledPhone._radio); returns whether the job is done."""
    di = w[W_DI]
    mode = di[d, D_ATTACHING]
    if mode == A_NONE:
        return True
    di[d, D_ATTACHING] = A_NONE
    if di[d, D_LOST] >= 0:
        if mode == A_RAN:  # the RAN outage's re-attach restores a context a core restart lost, too
            w[W_OC][di[d, D_LOST], OC_ATTEMPTS] += 1
        _reattached(now, d, w, p)
    if mode == A_IMPLICIT:
        return _attempt(spec, now, d, w, p)
    return True


@part
def _reattached(now, d, w, p):
    """``d`` has attached again: its core holds its context; its update timer restarts (ControlledPhone._attached)."""
    di, cnt = w[W_DI], w[W_CNT]
    r = di[d, D_LOST]
    w[W_OC][r, OC_REATTACHED] += 1
    w[W_RAF][cnt[N_REATTACH]], w[W_RAI][cnt[N_REATTACH]] = now - p[P_RESTARTS][r, RS_AT_S], r
    cnt[N_REATTACH] += 1
    di[d, D_LOST], di[d, D_KNOWN] = -1, 0
    w[W_DF][d, F_LAST] = now
    _arm(now, d, w, p)


@part
def _attach_wait(d, by_type, w, p):
    """How long ``d`` waits after its lost context's attach was rejected by node type ``by_type``
    (ControlledPhone._attach_once): the T3346 the core's reject carries under NAS back-off, else T3411, or T3402
    once the attempt counter reaches its limit."""
    di, rs, retry = w[W_DI], p[P_RESTARTS], p[P_ATTACH_RETRY]
    r = di[d, D_LOST]
    if rs[r, RS_BACKOFF] and not w[W_TI][by_type, T_RAN]:
        w[W_OC][r, OC_BACKOFF] += 1
        di[d, D_LOST_TRIES] = 0
        return rs[r, RS_T3346_MIN_S] + _restart_draw(d, w, p) * (rs[r, RS_T3346_MAX_S] - rs[r, RS_T3346_MIN_S])
    di[d, D_LOST_TRIES] += 1
    if di[d, D_LOST_TRIES] < retry[2]:
        return retry[0]
    di[d, D_LOST_TRIES] = 0
    return retry[1]


@njit(cache=True)
def _dropped(now, d, w, p):
    """``d``'s radio job goes nowhere (its attempts used up, or its device detached): a send's message waits for
    the reconnect if its core lost the device's context (a heartbeat is dropped: the next will do); TCP's timers go
    on after a lost retransmission, the attempt after a lost SYN; returns True (done)."""
    di, si = w[W_DI], w[W_SI]
    job, conn, k = di[d, D_JOB], di[d, D_CONN], di[d, D_SEND]
    if job == J_SEND and di[d, D_LOST] >= 0 and si[k, SI_KIND] != HEARTBEAT:  # ControlledPhone._detached_send
        _hold(w, conn, k, w[W_DF][d, F_GEN])
    elif job == J_RETX:
        w[W_CI][conn, CI_RETX] += 1
        _tcp_next(now, d, conn, w, p)
    elif job == J_SYN or job == J_BACK:
        _syn_next(now, d, conn, w, p)
    return True


@part
def _lose_connections(now, d, w, p):
    """``d`` loses its RRC connection (to idle, no signalling: a record without a procedure) and its IP
    connections, each to be re-established at its next send (ControlledPhone._release)."""
    di, df, cf, lo, conns = w[W_DI], w[W_DF], w[W_CF], p[P_DEV_CONN_LO], p[P_DEV_CONN]
    di[d, M_STATE], di[d, M_OWNER], df[d, F_READY] = p[P_IDLE], -1, now
    di[d, M_HEAD] = di[d, M_SIZE] = 0
    _record(w, now, d, -1, -1, p[P_IDLE])
    for j in range(lo[d], lo[d + 1]):
        cf[conns[j], CF_LAST] = -np.inf


@njit(cache=True)
def _attach(spec, now, d, owner, w, p):
    """An attempt of ``d``'s attach, ``owner``'s: its one procedure offered to the limited nodes on its route (as
    ControlledPhone._admit); returns whether the nodes carried it at once."""
    di, df, capf, capi = w[W_DI], w[W_DF], w[W_CAPF], w[W_CAPI]
    c0 = _cap0(w, d)
    capf[c0], capi[c0, 0], capi[c0, 1], capi[c0, 2] = now, p[P_ATTACH], owner, di[d, M_STATE]
    di[d, D_CAPTURED], di[d, D_ADMITTING], di[d, D_PROC], di[d, D_HOP] = 1, 1, 0, 0
    df[d, F_WAIT], df[d, F_START] = 0.0, now
    return _admit(spec, now, d, w, p)


@njit(cache=True)
def _job(spec, now, d, job, k, app, conn, up, down, incoming, alive, w, p):
    """``d`` takes its lock for radio job ``job`` of ``app`` carrying send ``k`` (-1: none) on ``conn`` and makes its
    first attempt; returns whether it is done (False: it waits for the network)."""
    di = w[W_DI]
    di[d, D_ATTEMPTS] = 0
    di[d, D_UP], di[d, D_DOWN], di[d, D_IN], di[d, D_ALIVE], di[d, D_APP] = up, down, incoming, alive, app
    di[d, D_JOB], di[d, D_SEND], di[d, D_CONN] = job, k, conn
    if di[d, D_LOST] >= 0:  # its core lost its context (ControlledPhone._radio)
        if di[d, D_KNOWN]:  # detached, its attach under way: nothing goes until it is done
            return _dropped(now, d, w, p)
        di[d, D_KNOWN] = 1  # the request is rejected ("implicitly detached"): it attaches first
        w[W_OC][di[d, D_LOST], OC_IMPLICIT] += 1
        _core_reject(now, d, app, w, p)
        w[W_OC][di[d, D_LOST], OC_ATTEMPTS] += 1
        di[d, D_ATTACHING] = A_IMPLICIT
        if not _attach(spec, now, d, p[P_NETWORK_APP], w, p):
            return False
        return _attached_job(spec, now, d, w, p)
    return _attempt(spec, now, d, w, p)


@part
def _core_reject(now, d, owner, w, p):
    """The core's service reject of ``owner``'s request from ``d``, asked by no limited node, logged in the state it
    stays in and counted at the nodes it exchanges messages at (ControlledPhone._log_reject with no node)."""
    _count_reject(now, d, p[P_SERVICE_REJECT], w)
    _record(w, now, d, p[P_SERVICE_REJECT], owner, w[W_DI][d, M_STATE])


@njit(cache=True)
def _tcp_job(spec, now, d, conn, w, p):
    """``conn``'s next TCP job gets ``d``'s lock: a retransmission of the earliest unacknowledged segment
    (``sim.population.tcp.unanswered``); after the last, the app's reconnect carrying the send and what it held, or,
    if its server is down by then, the client's retries by the outage's policy (``ControlledPhone._wait_out``); or
    a retrying client's SYN, the reconnect once the server is back (``ControlledPhone._reconnect``); returns whether
    it is done."""
    ci, si, cf = w[W_CI], w[W_SI], w[W_CF]
    w[W_DI][d, D_BY] = conn
    k = ci[conn, CI_FAILED]
    if k < 0:  # a SYN: unanswered until the server is back, then the reconnect, carrying what was held
        o = ci[conn, CI_OUTAGE]
        if now >= w[W_OF][o, OF_END_S]:
            up, down = _with_reconnect(ci, conn, 0, 0)
            return _job(spec, now, d, J_BACK, k, ci[conn, CI_APP], conn, up, down, False, False, w, p)
        return _job(spec, now, d, J_SYN, k, ci[conn, CI_APP], conn, w[W_OI][o, OI_SYN_UP], 0, False, True, w, p)
    if ci[conn, CI_RETX] < p[P_RTO_S].size:
        return _job(spec, now, d, J_RETX, k, si[k, SI_APP], conn, min(si[k, SI_UP], MSS_BYTES), 0, False, True, w, p)
    ci[conn, CI_FAILED] = -1  # the app stops waiting: its sends go on the new connection
    o = _outage_at(w, conn, now)
    ran_down = now < w[W_DF][d, F_DOWN_UNTIL]
    if o >= 0 or ran_down:  # its server, or its RAN node, is down by now: the send is held (a heartbeat dropped);
        if si[k, SI_KIND] != HEARTBEAT:  # with its server down (and the RAN up) the client retries
            _hold(w, conn, k, cf[conn, CF_FAILED_S])
        if not ran_down:
            ci[conn, CI_OUTAGE], ci[conn, CI_ATTEMPT] = o, 0
            _retry(now, d, conn, w, p)
        return True
    w[W_DF][d, F_GEN] = cf[conn, CF_FAILED_S]
    up, down = _with_reconnect(ci, conn, si[k, SI_UP], si[k, SI_DOWN])
    return _job(spec, now, d, J_REDIAL, k, si[k, SI_APP], conn, up, down, False, False, w, p)


@part
def _tcp_next(t, d, conn, w, p):
    """When ``conn``'s next TCP job asks for the lock: each retransmission its RTO after the transmission before
    (``network.tcp``), the reconnect the app's timeout after the first (as ``ControlledPhone._retransmit``); a send
    its server did not answer is followed, after that timeout, by the client's retries."""
    ci, rto = w[W_CI], p[P_RTO_S]
    n = ci[conn, CI_RETX]
    last = rto[n - 1] if n > 0 else 0.0
    if n < rto.size:
        _schedule(w, t + (rto[n] - last), TCP, conn, d, 0.0)
    elif ci[conn, CI_OUTAGE] >= 0:
        ci[conn, CI_FAILED] = -1
        _schedule(w, t + (p[P_WAIT_S] - last), BACKOFF, conn, d, 0.0)
    else:
        _schedule(w, t + (p[P_WAIT_S] - last), TCP, conn, d, 0.0)


@part
def _retry(now, d, conn, w, p):
    """The retrying client's next connect attempt (``ControlledPhone._reconnect``): its policy's wait from now
    (immediate: none; fixed: its interval; exponential: the initial wait doubled per attempt up to the longest, with
    jitter a uniform share of it), then its first SYN asks for the lock."""
    ci, of, oi = w[W_CI], w[W_OF], w[W_OI]
    o, attempt = ci[conn, CI_OUTAGE], ci[conn, CI_ATTEMPT]
    ci[conn, CI_ATTEMPT], ci[conn, CI_SYN] = attempt + 1, 0
    policy = oi[o, OI_POLICY]
    if policy == FIXED:
        _schedule(w, now + of[o, OF_INTERVAL_S], DIAL, conn, d, 0.0)
    elif policy == EXPONENTIAL:
        wait_s = min(of[o, OF_MAX_S], of[o, OF_INITIAL_S] * 2.0 ** attempt)
        _schedule(w, now + (wait_s * w[W_RJ][d, oi[o, OI_DRAWS] + attempt] if oi[o, OI_DRAWS] >= 0 else wait_s),
                  DIAL, conn, d, 0.0)
    else:
        _schedule(w, now + 0.0, TCP, conn, d, 0.0)


@part
def _syn_next(now, d, conn, w, p):
    """The attempt's SYN went (or was dropped): its retransmission when TCP's SYN timer expires, from when this job
    was over (``network.tcp``); after the last, the attempt fails at its timeout and the client tries again."""
    ci, of, oi = w[W_CI], w[W_OF], w[W_OI]
    o, k = ci[conn, CI_OUTAGE], ci[conn, CI_SYN] + 1
    ci[conn, CI_SYN] = k
    if k < oi[o, OI_SYNS]:
        _schedule(w, now + (of[o, OF_SYN_S + k] - of[o, OF_SYN_S + k - 1]), TCP, conn, d, 0.0)
    else:
        _schedule(w, now + (of[o, OF_FAIL_S] - of[o, OF_SYN_S + k - 1]), BACKOFF, conn, d, 0.0)


@part
def _request(now, d, who, w):
    """``who`` (SCHEDULE, BEATS - a connection or a connection's TCP) asks for ``d``'s lock: granted a zero delay
    later if it is free (as SimPy's Resource succeeds the request), else it waits behind those already waiting."""
    di = w[W_DI]
    if not di[d, D_LOCKED]:
        di[d, D_LOCKED] = 1
        _schedule(w, now, GRANT, d, who, 0.0)
        return
    width = di.shape[1] - D_QUEUE
    di[d, D_QUEUE + (di[d, D_QHEAD] + di[d, D_QLEN]) % width] = who
    di[d, D_QLEN] += 1


@part
def _unlock(now, d, w):
    """``d``'s lock goes to the first who waits for it, a zero delay later, or is free."""
    di = w[W_DI]
    if di[d, D_QLEN] == 0:
        di[d, D_LOCKED] = 0
        return
    who = di[d, D_QUEUE + di[d, D_QHEAD]]
    di[d, D_QHEAD] = (di[d, D_QHEAD] + 1) % (di.shape[1] - D_QUEUE)
    di[d, D_QLEN] -= 1
    _schedule(w, now, GRANT, d, who, 0.0)


@njit(cache=True)
def _release(spec, now, d, w, p):
    """``d``'s radio job is over (done or dropped): the lock goes on, then whoever asked for a send goes on behind
    those waiting (the schedule to its next send, a restarted heartbeat to its next beat), as SimPy's ``with`` block
    releases it before the process continues."""
    di = w[W_DI]
    _unlock(now, d, w)
    by = di[d, D_BY]
    if by == SCHEDULE:
        di[d, D_NEXT] += 1
        _sched(spec, now, d, w, p, False, False)
    elif by <= BEATS:
        _beats(spec, now, BEATS - by, w, p, False, False)


@njit(cache=True)
def _attempt(spec, now, d, w, p):
    """One attempt of ``d``'s current send: the machine tentatively, then its procedures to the nodes."""
    keeper, upkeep = p[P_KEEPER], p[P_UPKEEP]
    di, df = w[W_DI], w[W_DF]
    _advance(now, d, w, p)
    _save(w, d, False)
    recs, n0, chain = _cap_recs(w), _cap0(w, d), _chain(w)
    n, di[d, M_STATE], di[d, M_HEAD], tk, df[d, F_LAST] = settle(recs, n0, di[d, M_OWNER], di[d, M_STATE], chain, d,
                                                                 di[d, M_HEAD], di[d, M_SIZE], now, df[d, F_READY],
                                                                 df[d, F_LAST], upkeep, keeper)
    n, di[d, M_STATE], df[d, F_READY], di[d, M_OWNER], di[d, M_HEAD], di[d, M_SIZE], tk, di[d, M_PAGES] = transfer(
        recs, n, di[d, M_STATE], df[d, F_READY], di[d, M_OWNER], chain, d, di[d, M_HEAD], di[d, M_SIZE], tk,
        di[d, D_APP], di[d, D_UP], di[d, D_DOWN], di[d, D_IN], d + p[P_FIRST], di[d, M_PAGES], spec[0])
    di[d, D_CAPTURED] = n - n0
    di[d, D_ADMITTING] = 1
    di[d, D_PROC], di[d, D_HOP] = 0, 0
    df[d, F_WAIT] = 0.0
    df[d, F_START] = now  # the attempt's start
    wait_s = _hold_off(now, d, w, p) if di[d, D_CAPTURED] and p[P_CONTROLS].shape[0] else 0.0
    if wait_s < 0.0:  # barred: not an attempt; it tries again then
        di[d, D_ADMITTING] = 0
        _save(w, d, True)
        _arm(now, d, w, p)
        _schedule(w, now - wait_s, RETRY, d, 0, 0.0)
        return False
    if wait_s > 0.0:  # the core refuses its service request, no node asked
        _rejected(now, d, -1, wait_s, w, p)
        return False
    return _admit(spec, now, d, w, p)


@part
def _control(ov, kind, now):
    """The first overload control of ``kind`` in force at ``now`` (a row of ``ov``; -1: none:
    ControlNetwork.control_at)."""
    for o in range(ov.shape[0]):
        if ov[o, OV_KIND] == kind and ov[o, OV_START_S] <= now < ov[o, OV_END_S]:
            return o
    return -1


@part
def _hold_off(now, d, w, p):
    """Overload controls on ``d``'s promotion now (ControlledPhone._hold_off): -its wait if access is barred (by
    its own next draw), the extended wait if the core refuses it (one of its captured records promotes through
    the core), else 0."""
    ov, di, cnt = p[P_CONTROLS], w[W_DI], w[W_CNT]
    o = _control(ov, OV_BARRING, now)
    if o >= 0 and _draw(d, D_BARRING, BARRING_STREAM, w, p) < ov[o, OV_SHARE]:
        cnt[BARRED] += 1
        return -(0.7 + 0.6 * _draw(d, D_BARRING, BARRING_STREAM, w, p)) * ov[o, OV_BARRING_S]
    o = _control(ov, OV_OVERLOAD, now)
    if o >= 0:
        c0, promotion, capi = _cap0(w, d), p[P_CORE_PROMOTION], w[W_CAPI]
        for j in range(c0, c0 + di[d, D_CAPTURED]):
            if promotion[capi[j, 0]]:
                cnt[CORE_REJECTS] += 1
                return ov[o, OV_WAIT_S]
    return 0.0


@njit(cache=True)
def _admit(spec, now, d, w, p):
    """Offer the captured procedures, node by node; returns whether the send is done."""
    di, routes, capi = w[W_DI], w[W_ROUTES], w[W_CAPI]
    c0 = _cap0(w, d)
    incoming = di[d, D_IN]
    while di[d, D_PROC] < di[d, D_CAPTURED]:
        proc = capi[c0 + di[d, D_PROC], 0]
        hop = di[d, D_HOP]
        if hop == 0:
            _touch(now, d, proc, w)
        if hop < routes[proc, R_HOPS]:
            rank = 5 if di[d, D_ATTACHING] else (4 if incoming else 6)  # mo-Signalling, mt-Access, mo-Data
            if _offer(now, d, proc, hop, rank, False, BY_SEND, d, -1, w) == q.REJECTED:
                _schedule(w, now, OUTCOME, d, routes[proc, R_NODE + hop], 0.0)  # a zero delay later
            return False
        di[d, D_PROC] += 1
        di[d, D_HOP] = 0
    _admitted(now, d, w, p)
    return True


@part
def _admitted(now, d, w, p):
    """Every node carried the attempt: the promotion and what follows, later by the waits; the send is logged."""
    di, df, capf, capi, ci, si = w[W_DI], w[W_DF], w[W_CAPF], w[W_CAPI], w[W_CI], w[W_SI]
    di[d, D_ADMITTING] = 0
    wait = df[d, F_WAIT]
    if di[d, D_ATTACHING]:  # attached again: logged in the state it is in, later by the waits (_attached_job next)
        _record(w, df[d, F_START] + wait, d, p[P_ATTACH], capi[_cap0(w, d), 1], di[d, M_STATE])
        return
    if wait:  # Machine.delay
        df[d, F_READY] += wait
        for j in range(di[d, M_HEAD], di[d, M_SIZE]):
            df[d, F_CH_DUE + j] += wait
    c0 = _cap0(w, d)
    for j in range(c0, c0 + di[d, D_CAPTURED]):
        _record(w, capf[j] + wait, d, capi[j, 0], capi[j, 1], capi[j, 2])
    _arm(now, d, w, p)
    done_s = df[d, F_START] + wait
    job, k, conn, app = di[d, D_JOB], di[d, D_SEND], di[d, D_CONN], di[d, D_APP]
    if job == J_SYN:  # a SYN nothing answers: an attempt's first logged as its reconnect, each retransmission unanswered
        _transfer(w, done_s, d, app, RECONNECT if ci[conn, CI_SYN] == 0 else UNANSWERED, di[d, D_UP], 0, 1, done_s)
        _syn_next(now, d, conn, w, p)
        return
    if job == J_FIRST or job == J_RETX:  # what TCP sent that nothing answers
        up = di[d, D_UP]
        _transfer(w, done_s, d, app, UNANSWERED, up, 0, -(-up // MSS_BYTES) if job == J_FIRST else 1, done_s)
        if job == J_FIRST:  # the app waits out its timeout (ControlledPhone._wait_out)
            ci[conn, CI_FAILED], ci[conn, CI_RETX] = k, 0
            w[W_CF][conn, CF_FAILED_S] = df[d, F_GEN]
        else:
            ci[conn, CI_RETX] += 1
        _tcp_next(now, d, conn, w, p)  # from when the radio job is over (its service done)
        return
    if not di[d, D_ALIVE]:  # the reconnect and every held message went with it
        _transfer(w, done_s, d, ci[conn, CI_APP], RECONNECT, ci[conn, CI_R_UP], ci[conn, CI_R_DOWN],
                  ci[conn, CI_R_PACKETS], done_s)
        hlf, hli, cnt = w[W_HLF], w[W_HLI], w[W_CNT]
        e = ci[conn, CI_HELD_FIRST]
        while e >= 0:
            _transfer(w, done_s, d, hli[e, HI_APP], MESSAGE, hli[e, HI_UP], hli[e, HI_DOWN], hli[e, HI_PACKETS],
                      hlf[e])
            cnt[HELD] -= 1
            e = hli[e, HI_NEXT]
        ci[conn, CI_HELD_FIRST] = -1
        ci[conn, CI_HELD_UP] = ci[conn, CI_HELD_DOWN] = 0
    w[W_CF][conn, CF_LAST] = done_s
    if job == J_BACK:  # the client is back (no send of its own): its heartbeat restarts from the reconnect
        ci[conn, CI_OUTAGE], ci[conn, CI_SCHEDULED] = -1, 0
        if ci[conn, CI_BEAT] >= 0:  # its first beat behind those waiting for the lock this job holds
            _restart_beats(now, conn, done_s, w)
        return
    _transfer(w, done_s, d, app, si[k, SI_KIND], si[k, SI_UP], si[k, SI_DOWN], si[k, SI_PACKETS], df[d, F_GEN])
    if job == J_SEND and si[k, SI_KIND] == HEARTBEAT:
        w[W_CF][conn, CF_LAST_BEAT] = done_s
    if job == J_SEND and di[d, D_OUTAGE] >= 0:  # sent, but its server is down: nothing answers; TCP retransmits it
        ci[conn, CI_OUTAGE], ci[conn, CI_ATTEMPT] = di[d, D_OUTAGE], 0  # until the app's timeout, then the client
        ci[conn, CI_FAILED], ci[conn, CI_RETX] = k, 0  # retries (ControlledPhone._reconnect)
        _tcp_next(now, d, conn, w, p)


@njit(cache=True)
def _rejected(now, d, by_type, wait_s, w, p):
    """Node type ``by_type`` rejected ``d``'s attempt (-1: the core under overload, asked by no limited node): the
    machine as it was, the procedures carried before the rejected one exchanged, the reject logged; the device
    tries again ``wait_s`` later. An attach changed no machine: a RAN outage's is tried again the same way; a lost
    context's after its retry timer or back-off (ControlledPhone._attach_once), the radio job that found it out
    going nowhere. Returns whether the device's radio job is over (its lock to be released: not here, which would
    make the calls a cycle, and Numba's cache cannot load a cycle)."""
    di, cnt = w[W_DI], w[W_CNT]
    di[d, D_ADMITTING] = 0
    mode = di[d, D_ATTACHING]
    if mode == A_NONE:
        _save(w, d, True)
        _carried(w, d, di[d, D_PROC], di[d, M_STATE])
        _advance(now, d, w, p)
    code = p[P_RRC_REJECT] if by_type >= 0 and w[W_TI][by_type, T_RAN] else p[P_SERVICE_REJECT]
    _count_reject(now, d, code, w)
    _record(w, now, d, code, w[W_CAPI][_cap0(w, d), 1] if mode != A_NONE else di[d, D_APP], di[d, M_STATE])
    if mode == A_NONE or mode == A_RAN:
        cnt[RRC_REJECTS] += 1
        if mode == A_NONE:
            _arm(now, d, w, p)
        di[d, D_ATTEMPTS] += 1
        _schedule(w, now + wait_s, RETRY, d, 0, 0.0)
        return False
    r = di[d, D_LOST]
    w[W_OC][r, OC_REJECTED] += 1
    di[d, D_ATTACHING] = A_NONE
    next_s = _attach_wait(d, by_type, w, p)
    wake = _who(w, p, 2, r)
    _schedule(w, now + next_s, STEP, d, wake, 0.0)  # (implicit: its attach until done, a process of its own)
    if mode == A_IMPLICIT:
        _dropped(now, d, w, p)
    return True


@part
def _carried(w, d, count, state):
    """The first ``count`` of ``d``'s captured records into the log, in ``state`` (the machine as it was): the
    procedures the nodes carried of an attempt that then failed or never completed."""
    capf, capi = w[W_CAPF], w[W_CAPI]
    c0 = _cap0(w, d)
    for j in range(c0, c0 + count):
        _record(w, capf[j], d, capi[j, 0], capi[j, 1], state)


@part
def _hold(w, conn, k, gen_s):
    """Send ``k``'s message (generated at ``gen_s``) on a dropped connection waits for the reconnect."""
    hlf, hli, ci, si, cnt = w[W_HLF], w[W_HLI], w[W_CI], w[W_SI], w[W_CNT]
    e = cnt[HELD_NEXT]
    cnt[HELD_NEXT] = e + 1
    hli[e, HI_APP], hli[e, HI_UP], hli[e, HI_DOWN], hli[e, HI_PACKETS], hli[e, HI_NEXT] = (
        si[k, SI_APP], si[k, SI_UP], si[k, SI_DOWN], si[k, SI_PACKETS], -1)
    hlf[e] = gen_s
    if ci[conn, CI_HELD_FIRST] < 0:
        ci[conn, CI_HELD_FIRST] = e
    else:
        hli[ci[conn, CI_HELD_LAST], HI_NEXT] = e
    ci[conn, CI_HELD_LAST] = e
    ci[conn, CI_HELD_UP] += si[k, SI_UP]
    ci[conn, CI_HELD_DOWN] += si[k, SI_DOWN]
    cnt[HELD] += 1
    cnt[HELD_TOTAL] += 1


@njit(cache=True)
def _call(now, d, w, p, woken):
    """``d``'s calls and short messages go on (``sim.engine.des._calls``)."""
    di, kt, ktype, svc, routes, cl, cnt = w[W_DI], w[W_KT], w[W_KTYPE], w[W_SVC], w[W_ROUTES], w[W_CL], w[W_CNT]
    while True:
        k = di[d, K_NEXT]
        if not di[d, K_DECIDING]:  # between attempts
            if k >= di[d, K_END]:
                return
            t = kt[k]
            if t > now and not woken:
                _schedule(w, now + (t - now), CALL, d, 0, 0.0)
                return
            woken = False
            di[d, K_DECIDING], di[d, K_OFFER], di[d, K_HOP], di[d, K_CARRIED], di[d, K_REJECTING] = 1, 0, 0, 0, -1
        typ = ktype[k]
        leg, rank = svc[typ, V_LEG], svc[typ, V_RANK]
        rejected = di[d, K_REJECTING] >= 0
        while not rejected and di[d, K_OFFER] < svc[typ, V_OFFERS]:
            proc = svc[typ, V_OFFER + di[d, K_OFFER]]
            j = di[d, K_HOP]
            if j == 0:
                _touch(now, d, proc, w)
            if j < routes[proc, R_HOPS]:
                if _offer(now, d, proc, j, rank, rank == 3, BY_CALL, d, -1, w) == q.REJECTED:
                    _schedule(w, now, CALLED, d, routes[proc, R_NODE + j], 0.0)  # a zero delay later
                return
            di[d, K_OFFER] += 1
            di[d, K_HOP] = 0
            di[d, K_CARRIED] += 1
        exchanged = leg
        if rejected:
            exchanged = p[P_RRC_REJECT] if w[W_TI][di[d, K_REJECTING], T_RAN] else p[P_SERVICE_REJECT]
            _count_reject(now, d, exchanged, w)
        setup_s = now - kt[k]
        n = cnt[N_CALL]
        cl[n, 0], cl[n, 1] = kt[k], d
        cl[n, 2] = exchanged == leg and setup_s <= p[P_CALL_GUARD_S]
        cl[n, 3], cl[n, 4], cl[n, 5] = setup_s, exchanged, typ
        cl[n, 6], cl[n, 7] = di[d, K_CARRIED] if rejected else 0, 0
        cnt[N_CALL] = n + 1
        di[d, K_NEXT] += 1
        di[d, K_DECIDING] = 0


@njit(cache=True)
def _finish(end_s, w, p):
    """The run's end: admissions under way never complete (what the nodes carried was exchanged), calls still
    being decided are logged as undecided, every machine applies its timers due strictly before ``end_s``."""
    w, p = lend(w), lend(p)
    di, df, kt, ktype, svc, cl, cnt, tri = w[W_DI], w[W_DF], w[W_KT], w[W_KTYPE], w[W_SVC], w[W_CL], w[W_CNT], w[W_TRI]
    for d in range(di.shape[0]):
        if di[d, D_ADMITTING] and not di[d, D_ATTACHING]:  # (an attach under way was never pending)
            _save(w, d, True)
            _carried(w, d, di[d, D_PROC], di[d, M_STATE])
        if di[d, K_DECIDING]:
            k, n = di[d, K_NEXT], cnt[N_CALL]
            cl[n, 0], cl[n, 1], cl[n, 2], cl[n, 3] = kt[k], d, 0, -1.0
            cl[n, 4], cl[n, 5], cl[n, 6], cl[n, 7] = svc[ktype[k], V_LEG], ktype[k], di[d, K_CARRIED], 1
            cnt[N_CALL] = n + 1
    recs, chain = _log_recs(w), _chain(w)
    for d in range(di.shape[0]):
        n0 = cnt[N_TR]
        n, di[d, M_STATE], di[d, M_HEAD], df[d, F_LAST] = fire(recs, n0, di[d, M_OWNER], di[d, M_STATE], chain, d,
                                                               di[d, M_HEAD], di[d, M_SIZE], end_s, True,
                                                               df[d, F_LAST], p[P_UPKEEP], p[P_KEEPER])
        tri[n0:n, 0] = d
        found = False
        if di[d, D_LOST] >= 0:
            n, found = _detached_updates(d, n0, n, w, p)
        cnt[N_TR] = n
        if found:
            _core_reject(end_s, d, p[P_KEEPER], w, p)


@njit(cache=True)
def _start(w, p, paging_key, idle, u_lo, u_conn, u_t, u_v, ran, restart):
    """Each device's update timer's phase, first timer, app updates (``u_``: its connections' from ``u_lo[d]``),
    RAN outages (``ran[o, d]``: its node is the one outage o takes down), core restarts (``restart[r, d]``), call and
    send (as the SimPy engine builds them, device by device)."""
    w, p = lend(w), lend(p)
    di, df, kt, sf = w[W_DI], w[W_DF], w[W_KT], w[W_SF]
    for d in range(di.shape[0]):
        df[d, F_LAST] = start(paging_key, d + p[P_FIRST], p[P_UPKEEP], idle)
        _arm(0.0, d, w, p)
        for k in range(u_lo[d], u_lo[d + 1]):
            _schedule(w, u_t[k], UPDATE, u_conn[k], 0, u_v[k])
        for o in range(ran.shape[0]):
            if ran[o, d]:
                _schedule(w, p[P_RAN_S][o, 0], STEP, d, _who(w, p, 0, o), 0.0)
        for r in range(restart.shape[0]):
            if restart[r, d]:
                _schedule(w, p[P_RESTARTS][r, RS_AT_S], STEP, d, _who(w, p, 1, r), 0.0)
        if di[d, K_END] > di[d, K_NEXT]:
            _schedule(w, kt[di[d, K_NEXT]], CALL, d, 0, 0.0)
        if di[d, D_SENDS_END] > di[d, D_NEXT]:
            _schedule(w, sf[di[d, D_NEXT], 0], SEND, d, 0, 0.0)


def _served(event, rs: ResolvedScenario, lo: int, hi: int) -> np.ndarray:
    """Whether each device of ``[lo, hi)`` is served by the node instance a ``ran_outage`` or ``core_restart`` takes
    down (none if its radio has no such node, as the SimPy engine's builder skips the event)."""
    here = event.node in type(rs.profiles[rs.group_radio(0)]).NODES
    return np.broadcast_to(here & served_by(rs.scenario, event, np.arange(lo, hi)), (hi - lo,)).copy()


def _grow(a: np.ndarray, used: int, need: int) -> np.ndarray:
    if used + need <= a.shape[0]:
        return a
    out = np.empty((max(2 * a.shape[0], used + need), *a.shape[1:]), dtype=a.dtype)
    out[:used] = a[:used]
    return out


def run_closed(rs: ResolvedScenario, tables: ModelTables, devices: tuple[int, int] | None = None,
               sink: Callable[..., None] | None = None) -> LogArrays:
    """Simulate closed-loop ``rs`` (``rs.scenario.uncompiled()`` must be None) in compiled form: all its devices,
    or the range ``devices`` of them, one of its partitions (``Scenario.partitions``) or a union of some. With a
    ``sink`` (``Reducer.stream_transitions``), the transition records stream into it whenever their buffer holds
    ``TR_CHUNK_ROWS`` and ``TR_ROWS_PER_DEVICE`` a device (``_stream_transitions``); the log holds the rest."""
    scn = rs.scenario
    lo, hi = devices or (0, sum(g.devices for g in scn.groups))
    end_s = scn.simulation.duration_s
    radio = rs.group_radio(0)
    spec = tables.specs[radio]
    tcp = tcp_timing(scn.network.tcp)
    traffic = [app_traffic(a) for a in scn.apps]
    n_apps = len(scn.apps)
    i64 = np.int64
    # the server outages, by app in event order (a connection's are its app's: ControlledPhone.send_gen), and what
    # their clients do (Retry, TcpTiming.connect)
    outages = sorted((a, k) for k, e in enumerate(scn.events) if e.kind == "server_outage"
                     for a, app in enumerate(scn.apps) if app.name == e.app)
    connects = [tcp.connect(scn.events[k].retry.attempt_timeout_s) for _, k in outages]
    widths = [max_retries(scn.events[k]) for _, k in outages]  # retry jitter draws (none without jitter)
    of = np.zeros((len(outages), OF_SYN_S + max((len(syns) for syns, _ in connects), default=1)))
    oi = np.zeros((len(outages), OI_DRAWS + 1), dtype=i64)
    for o, ((_, k), (syns, fail_s), draw0) in enumerate(zip(outages, connects, np.cumsum([0, *widths]))):
        e, r = scn.events[k], scn.events[k].retry
        of[o, :OF_SYN_S] = e.start_s, e.end_s, r.interval_s, r.initial_s, r.max_s, fail_s
        of[o, OF_SYN_S:OF_SYN_S + len(syns)] = syns
        oi[o] = POLICY[r.policy], r.syn_up_bytes, len(syns), draw0 if widths[o] else -1
    out_bounds = np.searchsorted(np.array([a for a, _ in outages], dtype=i64), np.arange(n_apps + 2))
    # each app's updates (a fixed heartbeat's: des._Builder._events), in event order: (time, new interval)
    updates = [[(e.at_s, e.interval_s) for e in scn.events if e.kind == "heartbeat_change" and e.app == app.name]
               if app.heartbeat.policy == "fixed" else [] for app in scn.apps]
    # apps whose connections may restart their heartbeat: after a reconnect or an update (a fixed one;
    # ControlledPhone.restart_beats)
    beating = [a for a, app in enumerate(scn.apps)
               if app.heartbeat.policy == "fixed" and (out_bounds[a + 1] > out_bounds[a] or updates[a])]
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("dev", "t", "conn", "app", "kind", "up", "down", "pk", "in",
                                                         "k_dev", "k_t", "k_type", "c_app", "c_r", "c_last", "gen",
                                                         "c_dev", "c_beat")}
    beat_rows: list[np.ndarray] = []  # each restarted heartbeat's interval, jitter and draws (BT_)
    retry_draws: list[np.ndarray] = []  # each device's retry jitter draws, the outages' side by side
    n_conn = n_beat = 0
    for g, b, first, n in blocks(scn):
        if first + n <= lo or first >= hi:
            continue
        d = block_draws(scn, g, b, first, n)
        start_k, stop_k = max(lo - first, 0), min(hi - first, n)  # the block's devices in the range
        group = scn.groups[g]
        push = push_traffic(group)
        uses_push = push_users(scn, d)
        dev, times, streams, incoming, generated = open_loop_sends(scn, d, uses_push)
        mine = (dev >= start_k) & (dev < stop_k)
        dev, times, streams, incoming, generated = dev[mine], times[mine], streams[mine], incoming[mine], generated[mine]
        # a connection per device and app with its own, and the push channel (des._Builder.block)
        conn_of = np.full((n, n_apps + 1), -1, dtype=np.int64)
        for a in [*(a for a, app in enumerate(scn.apps) if app.connection == "own"), n_apps]:
            idx = np.flatnonzero(uses_push if a == n_apps else d.apps[a].installed)
            idx = idx[(idx >= start_k) & (idx < stop_k)]
            conn_of[idx, a] = n_conn + np.arange(idx.size)
            n_conn += idx.size
            rc = (push if a == n_apps else traffic[a]).reconnect
            cols["c_app"].append(np.full(idx.size, a))
            cols["c_dev"].append(idx + first - lo)
            if a in beating:
                hb = scn.apps[a].heartbeat
                cols["c_beat"].append(n_beat + np.arange(idx.size))
                n_beat += idx.size
                draws = d.apps[a].jitter[idx]
                beat_rows.append(np.column_stack((np.full(idx.size, hb.interval_s), np.full(idx.size, hb.jitter),
                                                  np.full(idx.size, draws.shape[1]), draws)
                                                 ).reshape(idx.size, BT_DRAWS + draws.shape[1]))
            else:
                cols["c_beat"].append(np.full(idx.size, -1))
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
        cols["dev"].append(dev + first - lo)
        cols["t"].append(times)
        cols["gen"].append(generated)
        cols["conn"].append(conn_of[dev, app_s])
        cols["app"].append(app_s)
        cols["kind"].append(kinds[streams])
        for key, field in (("up", "up_bytes"), ("down", "down_bytes"), ("pk", "packets")):
            cols[key].append(np.array([getattr(p, field) for p in pay], dtype=np.int64)[streams])
        cols["in"].append(incoming.astype(np.int64))
        k_dev = np.repeat(np.arange(n), np.diff(d.call_offsets))
        mine = (k_dev >= start_k) & (k_dev < stop_k)
        cols["k_dev"].append(k_dev[mine] + first - lo)
        cols["k_t"].append(d.call_times_s[mine])
        cols["k_type"].append(d.call_type[mine].astype(np.int64))
        retry_draws.append(np.concatenate([np.zeros((stop_k - start_k, 0)),
                                          *(d.retry_jitter[k][start_k:stop_k] for _, k in outages)], axis=1))
    c = {k: np.concatenate(v) if v else np.zeros(0) for k, v in cols.items()}
    del cols  # (each column is taken out of ``c`` where it goes into the tables: the run keeps one copy)
    D = hi - lo
    n_sends = c["t"].size
    ci = np.zeros((n_conn, CI_OUT_END + 1), dtype=i64)
    ci[:, CI_HELD_FIRST] = ci[:, CI_HELD_LAST] = ci[:, CI_FAILED] = ci[:, CI_OUTAGE] = -1
    ci[:, CI_APP], ci[:, CI_DEV], ci[:, CI_BEAT], ci[:, CI_SCHEDULED] = c["c_app"], c["c_dev"], c["c_beat"], 1
    ci[:, CI_R_UP:CI_R_PACKETS + 1] = c["c_r"].reshape(-1, 3)
    ci[:, CI_OUT_FIRST], ci[:, CI_OUT_END] = out_bounds[ci[:, CI_APP]], out_bounds[ci[:, CI_APP] + 1]
    cf = np.zeros((n_conn, CF_LAST_BEAT + 1))
    cf[:, CF_LAST] = cf[:, CF_LAST_BEAT] = c["c_last"]
    # each connection's updates, device by device (each one's in its apps' order, then in event order, as SimPy
    # starts their processes: des._Builder.block)
    u = [(j, a, ci[conns, CI_DEV], conns, t, v) for a in range(n_apps) if updates[a]
         for conns in [np.flatnonzero(ci[:, CI_APP] == a)] for j, (t, v) in enumerate(updates[a])]
    u_j, u_a, u_dev, u_conn, u_t, u_v = (np.concatenate([np.broadcast_to(x[f], x[3].shape) for x in u])
                                         if u else np.zeros(0, dtype=i64) for f in range(6))
    order = np.lexsort((u_j, u_a, u_dev))
    u_conn, u_t, u_v = u_conn[order].astype(i64), u_t[order].astype(np.float64), u_v[order].astype(np.float64)
    u_lo = np.searchsorted(u_dev[order], np.arange(D + 1))
    # each restarted heartbeat's send row after the schedule's (its connection, app and payload); its draws
    beat_conn = np.flatnonzero(ci[:, CI_BEAT] >= 0)
    beat_app = ci[beat_conn, CI_APP]
    hb_pay = np.array([[traffic[a].heartbeat.up_bytes, traffic[a].heartbeat.down_bytes, traffic[a].heartbeat.packets]
                       for a in range(n_apps)], dtype=i64).reshape(n_apps, 3)
    sf = np.zeros((n_sends + n_beat, 2))
    sf[:n_sends, 0], sf[:n_sends, 1] = c.pop("t"), c.pop("gen")
    si = np.zeros((n_sends + n_beat, SI_IN + 1), dtype=i64)
    for j, key in enumerate(("conn", "app", "kind", "up", "down", "pk", "in")):
        si[:n_sends, j] = c.pop(key)
    si[n_sends:, SI_CONN], si[n_sends:, SI_APP], si[n_sends:, SI_KIND] = beat_conn, beat_app, HEARTBEAT  # in CI_BEAT
    si[n_sends:, SI_UP:SI_PACKETS + 1] = hb_pay[beat_app]  # order
    bt = np.zeros((n_beat, BT_DRAWS + max((r.shape[1] - BT_DRAWS for r in beat_rows), default=0)))
    at = 0
    for r in beat_rows:
        bt[at:at + r.shape[0], :r.shape[1]] = r
        at += r.shape[0]
    rj = np.concatenate(retry_draws) if retry_draws else np.zeros((0, 0))
    # at most every send is held once, and each restarted heartbeat once an outage of its app
    n_held = max(1, n_sends + int((out_bounds[beat_app + 1] - out_bounds[beat_app]).sum()))
    hlf, hli = np.zeros(n_held), np.zeros((n_held, HI_NEXT + 1), dtype=i64)
    # calls: per service type its leg, admission class and offers (des._calls, des.SERVICE_CAUSE)
    offers = [tables.call_offers(radio, t) for t in SERVICE_TYPES]
    svc = np.full((len(SERVICE_TYPES), V_OFFER + max(1, max(len(o) for o in offers))), -1, dtype=i64)
    for k, (t, o) in enumerate(zip(SERVICE_TYPES, offers)):
        svc[k, :V_OFFER] = tables.call_legs(radio, t)[0], _RANK[SERVICE_CAUSE[t]], len(o)
        svc[k, V_OFFER:V_OFFER + len(o)] = o
    # the limited nodes: types, instances, routes (ControlNetwork)
    cp = scn.controlplane
    names = list(cp.nodes)
    cn = ControlNetwork(None, cp.nodes, tables.nodes, tables.routed, tables.is_promotion, [], scn.simulation.seed)
    hops = max(1, max(len(r) for r in cn.routes))
    routes = np.zeros((len(cn.routes), R_NODE + 2 * hops), dtype=i64)
    for proc, route in enumerate(cn.routes):
        routes[proc, R_HOPS] = len(route)
        for j, (name, m) in enumerate(route):
            routes[proc, R_NODE + j], routes[proc, R_NODE + hops + j] = names.index(name), m
    caps = [cp.nodes[name] for name in names]
    per = [1 if cap.devices_per_node is None else -(-D // cap.devices_per_node) for cap in caps]
    ti = np.array([(base, cap.devices_per_node or 0, cap.servers, cap.admission == "priority",
                    name in ControlNetwork.RAN_NODES)
                   for base, cap, name in zip(np.cumsum([0, *per])[:-1], caps, names)], dtype=i64).reshape(-1, 5)
    tf = np.array([(1.0 / cap.messages_per_s, np.inf if cap.queue_limit is None else float(cap.queue_limit),
                    np.inf if cap.guard_s is None else cap.guard_s,
                    np.inf if not cap.reserved_share else (1.0 - cap.reserved_share) * (cap.servers + cap.queue_limit))
                   for cap in caps]).reshape(-1, 4)
    I = int(sum(per))
    inst = np.zeros((I, 2), dtype=i64)
    inst[:, I_TYPE] = np.repeat(np.arange(len(names)), per)
    qf, qc, ef, ei, free = q.state(I, 1024 + 4 * I)
    # devices: their sends, calls, machines (the idle state, the update timer's phase), lock queues
    # at most each connection's TCP job and restarted heartbeat, the schedule, each RAN outage, each core restart and
    # its attach
    lock_q = 2 * n_apps + 2 + sum(e.kind == "ran_outage" for e in scn.events) + 2 * sum(
        e.kind == "core_restart" for e in scn.events)
    di = np.zeros((D, D_QUEUE + lock_q), dtype=i64)
    s_dev = c.pop("dev")
    di[:, D_NEXT], di[:, D_SENDS_END] = np.searchsorted(s_dev, np.arange(D)), np.searchsorted(s_dev, np.arange(1, D + 1))
    del s_dev
    di[:, K_NEXT], di[:, K_END] = np.searchsorted(c["k_dev"], np.arange(D)), np.searchsorted(c["k_dev"],
                                                                                             np.arange(1, D + 1))
    di[:, M_STATE], di[:, M_OWNER], di[:, D_TM_SEQ], di[:, D_TL_SEQ], di[:, D_LOST] = spec.idle, -1, -1, -1, -1
    df = np.zeros((D, F_WIDTH))
    df[:, F_CH_DUE:F_CH_DUE + MAXCHAIN] = np.inf
    chain = RADIOS[type(spec)].CHAIN
    repeats = max((getattr(spec, f)[2] for f in ("paging_area", "ran_paging_area") if hasattr(spec, f)), default=0)
    width = 4 + repeats  # each device's captured records of its attempt under way (_cap0)
    capf, capi = np.zeros(D * width), np.zeros((D * width, 3), dtype=i64)
    shortest = min((period for _, _, period in spec.upkeep), default=np.inf)
    upkept = 0 if shortest == np.inf else int(end_s / shortest) + 2
    margin_tr = 64 + 4 * (chain + upkept) + width
    trf, tri = np.zeros(D + 1024), np.zeros((D + 1024, 4), dtype=i64)
    tri[:D, 0], tri[:D, 1], tri[:D, 2], tri[:D, 3] = np.arange(D), -1, -1, spec.idle  # every device's first record
    cnt = np.zeros(HOLE + 1, dtype=i64)
    cnt[N_TR], cnt[N_FREE] = D, free.size
    heap = 4 * D + 1024 + u_conn.size + D * sum(e.kind in ("ran_outage", "core_restart") for e in scn.events)
    # the RAN outages, in event order: their devices, those of the instance each takes down, their start and end
    rans = [e for e in scn.events if e.kind == "ran_outage"]
    ran = np.array([_served(e, rs, lo, hi) for e in rans], dtype=np.bool_).reshape(len(rans), D)
    ran_s = np.array([(e.start_s, e.end_s) for e in rans], dtype=np.float64).reshape(-1, 2)
    # the core restarts, in event order: their devices, their parameters (RS_)
    restarts = [(k, e) for k, e in enumerate(scn.events) if e.kind == "core_restart"]
    restart = np.array([_served(e, rs, lo, hi) for _, e in restarts], dtype=np.bool_).reshape(len(restarts), D)
    rs_table = np.array([(e.at_s, e.spread_s, e.backoff, e.t3346_min_s, e.t3346_max_s, e.reattach == "immediate",
                          restart_stream(k)) for k, e in restarts], dtype=np.float64).reshape(-1, RS_STREAM + 1)
    by_dev = np.argsort(ci[:, CI_DEV], kind="stable")  # each device's connections (ControlledPhone._release)
    dev_conn_lo = np.searchsorted(ci[by_dev, CI_DEV], np.arange(D + 1))
    nat_at, nat_val = nat_timeouts(scn)
    w = [np.zeros((heap, 2)), np.zeros((heap, 4), dtype=i64), di, df, capf, capi, trf, tri, np.zeros((1024, 2)),
         np.zeros((1024, 6), dtype=i64), np.zeros((4096, 4)), np.zeros((1024, 8)), sf, si, cf, ci, hlf, hli,
         c["k_t"].astype(np.float64), c["k_type"].astype(i64), svc, routes, ti, tf, inst, qf, qc, ef, ei, free, of, oi,
         rj, bt, cnt]
    p = (spec.keeper, spec.upkeep, tables.procedures.index((radio, "rrc_reject")),
         tables.procedures.index((radio, "service_reject")), cp.reject_wait_s, cp.max_attempts,
         nat_val, scn.calls.setup_guard_s, margin_tr, 64, tcp.retransmit, np.array(tcp.unanswered_s, dtype=np.float64),
         tcp.wait_s, lo, n_sends, nat_at,
         np.array([(e.start_s, e.end_s, OV_OVERLOAD, e.extended_wait_s, 0.0, 0.0) if e.kind == "core_overload" else
                   (e.start_s, e.end_s, OV_BARRING, 0.0, e.barred_share, e.barring_time_s)
                   for e in scn.events if e.kind in ("core_overload", "access_barring")]).reshape(-1, 6),
         cn.core_promotion.astype(i64), scn.simulation.seed, ran_s, dev_conn_lo, by_dev.astype(i64), spec.idle,
         tables.procedures.index((radio, "attach")), n_apps + 1, rs_table,
         np.array(rs.profiles[radio].attach_retry(), dtype=np.float64), end_s)
    w += [np.zeros((len(restarts), OC_REATTACHED + 1), dtype=i64), np.zeros(D * len(restarts) + 1),
          np.zeros(D * len(restarts) + 1, dtype=i64)]
    _start(tuple(w), p, spec.paging_key, spec.idle, u_lo, u_conn, u_t, u_v, ran, restart)
    node_log = NodeLog(names, end_s, scn.simulation.bin_s)
    counts = TransferCounts(D, bin_edges(end_s, scn.simulation.bin_s).size - 1, scn.simulation.bin_s)
    if D >= GIVE_BACK_DEVICES:  # what the set-up freed: the loop grows only large buffers
        give_back_freed_memory()
    while _loop(spec, end_s, tuple(w), p) == NEED_SPACE:
        if sink is not None and cnt[N_TR] + margin_tr + 1 > w[W_TRF].size >= max(TR_CHUNK_ROWS, TR_ROWS_PER_DEVICE * D):
            _stream_transitions(w, lo, sink)
        if cnt[N_NL] + 257 > w[W_NL].shape[0] >= CHUNK_ROWS:  # the node log's buffer full: into its figures, emptied
            node_log.add(w[W_NL][:cnt[N_NL]], inst[:, I_TYPE])
            cnt[N_NL] = 0
        if cnt[N_X] + 65 + cnt[HELD] > w[W_XF].shape[0] >= CHUNK_ROWS:  # the transfers' buffer full: all but the
            _count_transfers(w, counts)  # delivered messages into their counts, the buffer left with those
        for k, need in ((W_TRF, margin_tr + 1), (W_TRI, margin_tr + 1), (W_XF, 65 + int(cnt[HELD])),
                        (W_XI, 65 + int(cnt[HELD])), (W_CL, 5), (W_NL, 257), (W_HF, 65), (W_HI, 65)):
            used = {W_TRF: N_TR, W_TRI: N_TR, W_XF: N_X, W_XI: N_X, W_CL: N_CALL, W_NL: N_NL, W_HF: N_HEAP,
                    W_HI: N_HEAP}[k]
            w[k] = _grow(w[k], int(cnt[used]), need)
        if cnt[N_FREE] < 64:  # twice the entries: the new ones free
            old = w[W_EF].shape[0]
            w[W_EF], w[W_EI] = _grow(w[W_EF], old, old), _grow(w[W_EI], old, old)
            w[W_EI][old:] = 0
            free = np.zeros(2 * old, dtype=i64)
            free[:old] = np.arange(2 * old - 1, old - 1, -1)
            free[old:old + cnt[N_FREE]] = w[W_FREE][:cnt[N_FREE]]
            w[W_FREE] = free
            cnt[N_FREE] += old
    for k in (W_TRF, W_TRI):
        w[k] = _grow(w[k], int(cnt[N_TR]), D * (chain + upkept + 2) + 1)
    w[W_CL] = _grow(w[W_CL], int(cnt[N_CALL]), D + 1)
    _finish(end_s, tuple(w), p)
    node_log.add(w[W_NL][:cnt[N_NL]], inst[:, I_TYPE])
    return _arrays(names, caps, w, node_log, counts, c["k_type"], end_s, lo, scn.events)


def _stream_transitions(w: list[np.ndarray], lo: int, sink: Callable[..., None]) -> None:
    """The transition records so far into ``sink``, each device's together in log (time) order, but each device's
    last one and one that a load waiting at a node may yet have rejected (``_outcome`` marks it), with the device's
    later ones: those are held (``Reducer.stream_transitions``) and stay in the buffer, in log order, the waiting
    loads pointing at their new rows."""
    cnt, ei = w[W_CNT], w[W_EI]
    n = int(cnt[N_TR])
    trf, tri = w[W_TRF][:n], w[W_TRI][:n]
    order = np.argsort(tri[:, 0], kind="stable")
    dev = tri[order, 0]
    first = np.append(True, dev[1:] != dev[:-1])  # a device's first record (sorted)
    pinned = np.append(first[1:], True)  # ... and its last
    loads = np.flatnonzero((ei[:, q.EI_LIVE] == 1) & (ei[:, q.EI_WHO] == BY_LOAD))
    at = np.empty(n, dtype=np.int64)
    at[order] = np.arange(n)  # each record's place in sorted order
    pinned[at[ei[loads, q.EI_OWNER]]] = True
    seen = np.cumsum(pinned)
    group = np.cumsum(first) - 1
    held = seen - (seen - pinned)[first][group] > 0  # from a device's first pinned record on
    sink(trf[order], dev + lo, tri[order, 1], tri[order, 2], tri[order, 3], held)
    keep = np.zeros(n, dtype=np.bool_)
    keep[order[held]] = True
    row = np.cumsum(keep) - 1  # each kept record's new row
    ei[loads, q.EI_OWNER] = ei[loads, q.EI_MARK] = row[ei[loads, q.EI_OWNER]]
    m = int(keep.sum())
    w[W_TRF][:m], w[W_TRI][:m] = trf[keep], tri[keep]
    cnt[N_TR] = m


def _count_transfers(w: list[np.ndarray], counts: TransferCounts) -> None:
    """The logged transfers other than delivered messages into ``counts``; the rest stay, in log order."""
    cnt = w[W_CNT]
    xf, xi = w[W_XF][:cnt[N_X]], w[W_XI][:cnt[N_X]]
    keep = delivered(xi[:, XI_KIND])
    gone = ~keep
    counts.add(xf[gone, 0], xi[gone, XI_DEV], xi[gone, 1:])
    n = int(keep.sum())
    w[W_XF][:n], w[W_XI][:n] = xf[keep], xi[keep]
    cnt[N_X] = n


def _outcomes(events, w) -> dict[int, RestartOutcome]:
    """What each core restart's devices did (by its index in ``events``), as the SimPy engine counts it."""
    oc, n = w[W_OC], int(w[W_CNT][N_REATTACH])
    delays, which = w[W_RAF][:n], w[W_RAI][:n]
    ks = [k for k, e in enumerate(events) if e.kind == "core_restart"]
    return {k: RestartOutcome(*(int(x) for x in oc[r]), reattach_s=delays[which == r].tolist()) for r, k in enumerate(ks)}


def _arrays(names, caps, w, node_log, counts, call_type, end_s, lo, scn_events) -> LogArrays:
    """The log and the nodes' statistics, as the SimPy engine returns them."""
    f, c, inst, cnt = w[W_QF], w[W_QC], w[W_INST], w[W_CNT]
    nodes = inst[:, I_TYPE]
    created = np.flatnonzero(c[:, q.C_CREATED])
    order = [int(i) for i in created[np.argsort(inst[created, I_ORDER], kind="stable")]]  # in creation order
    stats = {}
    for typ, (name, cap) in enumerate(zip(names, caps)):
        inst_t = [i for i in order if nodes[i] == typ]
        util = [(f[i, q.F_BUSY_AREA] + c[i, q.C_IN_SERVICE] * (end_s - f[i, q.F_LAST]))
                / (cap.servers * (end_s - f[i, q.F_START])) for i in inst_t]
        total = lambda col, inst_t=inst_t: int(c[inst_t, col].sum())
        stats[name] = {
            "instances": len(inst_t),
            "offered_messages": total(q.C_MSG_OFFERED), "carried_messages": total(q.C_MSG_CARRIED),
            "rejected_messages": total(q.C_MSG_REJECTED),
            "in_system_messages_at_end": total(q.C_MSG_SERVICE) + total(q.C_MSG_WAITING),
            "reject_messages": total(q.C_REJECT_MESSAGES),
            "offered_procedures": total(q.C_OFFERED), "carried_procedures": total(q.C_CARRIED),
            "rejected_procedures": total(q.C_REJECTED), "rejected": total(q.C_REJECTED),
            "in_system_at_end": total(q.C_WAITING) + total(q.C_IN_SERVICE),
            "utilization": float(np.mean(util)) if inst_t else 0.0,
            "utilization_max": float(max(util, default=0.0)),
        }
    controlplane = stats | {"rrc_rejects": int(cnt[RRC_REJECTS]), "failed_sends": int(cnt[FAILED_SENDS]), "barred": int(cnt[BARRED]),
                            "core_rejects": int(cnt[CORE_REJECTS]),
                            "failed_attaches": int(cnt[FAILED_ATTACHES])}
    n = cnt[N_TR]
    trf, tri = w[W_TRF][:n], w[W_TRI][:n]
    xf, xi = w[W_XF][:cnt[N_X]], w[W_XI][:cnt[N_X]]
    table, code = distinct_rows(xi[:, 1:])
    x_counts = None
    if counts.table:  # some were counted on the way (_count_transfers): their codes for all
        code = counts.codes(table)[code]
        table = np.array(counts.table, dtype=np.int64)
        x_counts = counts.per_device, counts.per_bin
    k = w[W_CL][:cnt[N_CALL]]
    i64 = np.int64
    return LogArrays(trf.copy(), tri[:, 0] + lo, tri[:, 1].copy(), tri[:, 2].copy(), tri[:, 3].copy(),
                     xf[:, 0].copy(), xi[:, 0] + lo, code.reshape(-1), table.reshape(-1, 5), int(cnt[HELD_TOTAL]),
                     controlplane=controlplane, node_log=node_log, x_generated_t=xf[:, 1].copy(),
                     call_t=k[:, 0].copy(), call_device=k[:, 1].astype(i64) + lo, call_ok=k[:, 2].astype(bool),
                     call_setup_s=k[:, 3].copy(), call_proc=k[:, 4].astype(i64), call_type=k[:, 5].astype(i64),
                     call_carried=k[:, 6].astype(i64), call_undecided=k[:, 7].astype(bool),
                     call_attempts=np.bincount(call_type.astype(i64), minlength=len(SERVICE_TYPES)),
                     x_counts=x_counts, restart_outcomes=_outcomes(scn_events, w))
