"""The compiled form of :class:`sim.controlplane.node.Node`: every limited node instance's queue as arrays.

The same decisions, in the same order and with the same float arithmetic as the SimPy node, for the
compiled closed-loop engine (``sim.engine.closed``): an offer is rejected at once (reserved share,
full waiting room), served at once (a free processor) or queued by admission class (``rank``:
first-in-first-out within a class, one linked list per class); a completion serves the next waiting
procedure. Guard expiries: every procedure of a class waits with the same guard time, first in first
out, so the class's head is always the first of it to expire; the instance needs one pending expiry,
the earliest of its heads' (:func:`first_expiry`), instead of one per waiting procedure (most of them
served before it: a timer that does nothing). When it falls due, :func:`expire_first` takes out the
head that reached its guard time, if it is still waiting. What the caller must schedule (a completion,
the next expiry) is returned, not scheduled here.

State, per instance ``i``: the counters and time integrals of the SimPy node, the heads and tails of its
class lists (one row of ``c``) and when its pending expiry falls due (``f``). Entries (procedures in the
node) live in a pool with a free list.
"""
from __future__ import annotations

import numpy as np
from numba import njit

RANKS = 8  # admission classes (sim.controlplane.node.CAUSES)
REJECTED, SERVED, QUEUED = 0, 1, 2

part = njit(cache=True, inline="always")

# instance columns of the float state ``f`` and the integer state ``c`` (then each class list's head, then tail)
F_START, F_LAST, F_QUEUE_AREA, F_BUSY_AREA, F_EXPIRY = range(5)
(C_CREATED, C_IN_SERVICE, C_MSG_SERVICE, C_WAITING, C_MSG_WAITING, C_OFFERED, C_CARRIED, C_REJECTED, C_MSG_OFFERED,
 C_MSG_CARRIED, C_MSG_REJECTED, C_REJECT_MESSAGES) = range(12)
C_HEAD, C_TAIL = 12, 12 + RANKS
# entry columns: float ``ef`` (arrival, service start), integer ``ei``
EF_ARRIVAL, EF_START = range(2)
EI_INSTANCE, EI_MESSAGES, EI_NEXT, EI_WHO, EI_OWNER, EI_MARK = range(6)


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
    return free[n_free], n_free


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
    ei[e, EI_NEXT] = -1
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
def _dequeue(c, ei, i: int, rank: int) -> int:
    """Take the head of instance ``i``'s class ``rank`` out of its list; returns it."""
    e = c[i, C_HEAD + rank]
    c[i, C_HEAD + rank] = ei[e, EI_NEXT]
    if c[i, C_HEAD + rank] < 0:
        c[i, C_TAIL + rank] = -1
    c[i, C_WAITING] -= 1
    c[i, C_MSG_WAITING] -= ei[e, EI_MESSAGES]
    return e


@part
def next_waiting(c, ef, ei, i: int, now: float) -> int:
    """Serve instance ``i``'s next waiting entry (lowest class first, in arrival order); returns it (-1: none)."""
    for rank in range(RANKS):
        if c[i, C_HEAD + rank] >= 0:
            e = _dequeue(c, ei, i, rank)
            serve(c, ef, e, i, ei[e, EI_MESSAGES], now)
            return e
    return -1


@part
def first_expiry(c, ef, i: int, guard_s: float) -> float:
    """When instance ``i``'s first waiting procedure reaches its guard time (``inf``: none waits)."""
    at = np.inf
    for rank in range(RANKS):
        e = c[i, C_HEAD + rank]
        if e >= 0:
            at = min(at, ef[e, EF_ARRIVAL] + guard_s)
    return at


@part
def expire_first(f, c, ef, ei, i: int, guard_s: float, now: float) -> int:
    """The waiting procedure of instance ``i`` that reached its guard time by now, the earliest arrived (ties:
    the lower class), leaves the queue, rejected (``Node._expire``); returns it (-1: none has)."""
    best, best_at = -1, np.inf
    for rank in range(RANKS):
        e = c[i, C_HEAD + rank]
        if e >= 0 and ef[e, EF_ARRIVAL] + guard_s <= now and ef[e, EF_ARRIVAL] < best_at:
            best, best_at = rank, ef[e, EF_ARRIVAL]
    if best < 0:
        return -1
    advance(f, c, i, now)
    e = _dequeue(c, ei, i, best)
    c[i, C_REJECTED] += 1
    c[i, C_MSG_REJECTED] += ei[e, EI_MESSAGES]
    return e


def state(instances: int, entries: int) -> tuple[np.ndarray, ...]:
    """Empty queues: the float and integer state per instance (its class lists empty), the entry pool (float and
    integer columns) and its free list."""
    c = np.zeros((instances, C_TAIL + RANKS), dtype=np.int64)
    c[:, C_HEAD:] = -1
    f = np.zeros((instances, F_EXPIRY + 1))
    f[:, F_EXPIRY] = np.inf
    return (f, c, np.zeros((entries, 2)), np.zeros((entries, EI_MARK + 1), dtype=np.int64),
            np.arange(entries - 1, -1, -1, dtype=np.int64))
