"""The compiled form of :class:`sim.controlplane.node.Node`: every limited node instance's queue as arrays.

The same decisions, in the same order and with the same float arithmetic as the SimPy node, for the
compiled closed-loop engine (``sim.engine.closed``): an offer is rejected at once (reserved share,
full waiting room), served at once (a free processor) or queued by admission class (``rank``:
first-in-first-out within a class, one linked list per class); a completion serves the next live
waiting procedure; a guard expiry takes a waiting one out of the queue (it stays in its list, emptied,
until it surfaces, as in the SimPy node's heap). What the caller must schedule (a completion, a guard
expiry) is returned, not scheduled here. Of the guard expiries only the first due is the caller's to
schedule, the instance's *armed* entry (``oldest_waiting``): the others are behind it, as they arrived later.

State, per instance ``i``: the counters and time integrals of the SimPy node, its armed entry, and the heads and
tails of its class lists (one row of ``c``, one of ``f``). Entries
(procedures in the node) live in a pool with a free list; an entry's ``gen`` grows each time it is
reused, so that a stale guard expiry is recognised and skipped.
"""
from __future__ import annotations

import numpy as np
from numba import njit

RANKS = 8  # admission classes (sim.controlplane.node.CAUSES)
REJECTED, SERVED, QUEUED = 0, 1, 2

part = njit(cache=True, inline="always")

# instance columns of the float state ``f`` and the integer state ``c``: counters, the entry whose guard expiry
# is scheduled and its ``gen`` then (C_ARMED -1: none), then each class list's head, then tail
F_START, F_LAST, F_QUEUE_AREA, F_BUSY_AREA = range(4)
(C_CREATED, C_IN_SERVICE, C_MSG_SERVICE, C_WAITING, C_MSG_WAITING, C_OFFERED, C_CARRIED, C_REJECTED, C_MSG_OFFERED,
 C_MSG_CARRIED, C_MSG_REJECTED, C_REJECT_MESSAGES, C_ARMED, C_ARMED_GEN) = range(14)
C_HEAD, C_TAIL = 14, 14 + RANKS
# entry columns: float ``ef`` (arrival, service start), integer ``ei`` (EI_SEQ: its guard expiry's sequence, which
# the caller sets: the place among simultaneous events it took when it queued)
EF_ARRIVAL, EF_START = range(2)
EI_INSTANCE, EI_MESSAGES, EI_LIVE, EI_NEXT, EI_GEN, EI_WHO, EI_OWNER, EI_MARK, EI_SEQ = range(9)


@part
def advance(f, c, i: int, now: float) -> None:
    """Add the time since instance ``i``'s last state change to its queue and busy-server integrals."""
    elapsed = now - f[i, F_LAST]
    if elapsed:
        f[i, F_QUEUE_AREA] += c[i, C_WAITING] * elapsed
        f[i, F_BUSY_AREA] += c[i, C_IN_SERVICE] * elapsed
        f[i, F_LAST] = now


@part
def new_entry(ef, ei, free, n_free: int) -> tuple[int, int]:
    """Take an entry from the pool's free list; returns it and the free list's new length."""
    n_free -= 1
    e = free[n_free]
    ei[e, EI_GEN] += 1
    return e, n_free


@part
def offer(f, c, ef, ei, free, n_free: int, i: int, messages: int, rank: int, reserved_ok: bool,
          servers: int, room: float, unreserved: float, now: float, who: int, owner: int, mark: int
          ) -> tuple[int, int, int]:
    """Offer ``messages`` of class ``rank`` to instance ``i`` now (``Node.offer``); returns REJECTED, SERVED
    or QUEUED, the entry (-1 if rejected) and the free list's length. ``who``, ``owner``, ``mark``: whose
    procedure it is, for the caller."""
    advance(f, c, i, now)
    c[i, C_OFFERED] += 1
    c[i, C_MSG_OFFERED] += messages
    in_system = c[i, C_WAITING] + c[i, C_IN_SERVICE]
    if (in_system >= unreserved and not reserved_ok) or (c[i, C_WAITING] >= room and c[i, C_IN_SERVICE] == servers):
        c[i, C_REJECTED] += 1
        c[i, C_MSG_REJECTED] += messages
        return REJECTED, -1, n_free
    e, n_free = new_entry(ef, ei, free, n_free)
    ef[e, EF_ARRIVAL] = now
    ei[e, EI_INSTANCE], ei[e, EI_MESSAGES], ei[e, EI_WHO], ei[e, EI_OWNER], ei[e, EI_MARK] = i, messages, who, owner, mark
    if c[i, C_IN_SERVICE] < servers:
        serve(c, ef, e, i, messages, now)
        return SERVED, e, n_free
    ei[e, EI_LIVE], ei[e, EI_NEXT] = 1, -1
    if c[i, C_TAIL + rank] < 0:
        c[i, C_HEAD + rank] = e
    else:
        ei[c[i, C_TAIL + rank], EI_NEXT] = e
    c[i, C_TAIL + rank] = e
    c[i, C_WAITING] += 1
    c[i, C_MSG_WAITING] += messages
    return QUEUED, e, n_free


@part
def serve(c, ef, e: int, i: int, messages: int, now: float) -> None:
    """Entry ``e`` starts service now; the caller schedules its completion ``messages x service`` later."""
    c[i, C_IN_SERVICE] += 1
    c[i, C_MSG_SERVICE] += messages
    ef[e, EF_START] = now


@part
def complete(f, c, ei, i: int, messages: int, now: float) -> None:
    """An entry of instance ``i`` completes service now (the caller logs it and frees the entry)."""
    advance(f, c, i, now)
    c[i, C_IN_SERVICE] -= 1
    c[i, C_MSG_SERVICE] -= messages
    c[i, C_CARRIED] += 1
    c[i, C_MSG_CARRIED] += messages


@part
def next_waiting(c, ef, ei, free, n_free: int, i: int, now: float) -> tuple[int, int]:
    """Serve instance ``i``'s next live waiting entry (lowest class first, in arrival order), dropping the
    emptied ones before it; returns it (-1: none) and the free list's length."""
    for rank in range(RANKS):
        e, n_free = _live_head(c, ei, free, n_free, i, rank)
        if e >= 0:
            c[i, C_HEAD + rank] = ei[e, EI_NEXT]
            if c[i, C_HEAD + rank] < 0:
                c[i, C_TAIL + rank] = -1
            ei[e, EI_LIVE] = 0
            c[i, C_WAITING] -= 1
            c[i, C_MSG_WAITING] -= ei[e, EI_MESSAGES]
            serve(c, ef, e, i, ei[e, EI_MESSAGES], now)
            return e, n_free
    return -1, n_free


@part
def oldest_waiting(c, ef, ei, free, n_free: int, i: int) -> tuple[int, int]:
    """Instance ``i``'s live waiting entry that queued first (its guard expires first: every class's guard is its
    node's; -1: none), dropping the emptied ones before it; returns it and the free list's length."""
    best = -1
    for rank in range(RANKS):
        e, n_free = _live_head(c, ei, free, n_free, i, rank)
        if e >= 0 and (best < 0 or ef[e, EF_ARRIVAL] < ef[best, EF_ARRIVAL]
                       or (ef[e, EF_ARRIVAL] == ef[best, EF_ARRIVAL] and ei[e, EI_SEQ] < ei[best, EI_SEQ])):
            best = e
    return best, n_free


@part
def _live_head(c, ei, free, n_free: int, i: int, rank: int) -> tuple[int, int]:
    """The first live entry of instance ``i``'s class ``rank`` (-1: none), the emptied ones before it dropped (gone
    at their guard time: back to the pool); returns it and the free list's length."""
    while c[i, C_HEAD + rank] >= 0:
        e = c[i, C_HEAD + rank]
        if ei[e, EI_LIVE]:
            return e, n_free
        c[i, C_HEAD + rank] = ei[e, EI_NEXT]
        if c[i, C_HEAD + rank] < 0:
            c[i, C_TAIL + rank] = -1
        free[n_free] = e
        n_free += 1
    return -1, n_free


@part
def expire(f, c, ei, e: int, now: float) -> None:
    """Live waiting entry ``e`` reaches its guard time: it leaves the queue, rejected (``Node._expire``)."""
    i = ei[e, EI_INSTANCE]
    advance(f, c, i, now)
    ei[e, EI_LIVE] = 0
    c[i, C_WAITING] -= 1
    c[i, C_MSG_WAITING] -= ei[e, EI_MESSAGES]
    c[i, C_REJECTED] += 1
    c[i, C_MSG_REJECTED] += ei[e, EI_MESSAGES]


def state(instances: int, entries: int) -> tuple[np.ndarray, ...]:
    """Empty queues: the float and integer state per instance (its class lists empty), the entry pool (float and
    integer columns) and its free list."""
    c = np.zeros((instances, C_TAIL + RANKS), dtype=np.int64)
    c[:, C_HEAD:] = c[:, C_ARMED] = -1
    return (np.zeros((instances, 4)), c, np.zeros((entries, 2)), np.zeros((entries, EI_SEQ + 1), dtype=np.int64),
            np.arange(entries - 1, -1, -1, dtype=np.int64))
