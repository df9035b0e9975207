"""The array form of :class:`sim.radio.base.Machine`: the RRC machines of many devices at once.

Devices are rows. :meth:`Columns.step` carries one transfer for each of the first ``n`` rows
(the caller orders rows so that the devices with a k-th transfer come first) with the same
decisions, in the same order and with the same float arithmetic, as the scalar machine's
``data``: apply the demotions due at or before the transfer, wait for a promotion in
progress, promote if the state needs it, then replace the pending demotion chain. A chain is
at most ``CHAIN`` demotions, held as ``[slot, row]`` arrays with ``inf`` for an empty slot.
Records are written step by step (each device's in time order), each closing its device's
previous one: the metrics need not sort them to know how long each state lasted.
"""
from __future__ import annotations

import numpy as np

INF = np.inf
CODE = np.int16  # procedure, state and app codes


class Columns:
    """Per-row state, pending demotions and the record of what happened."""

    CHAIN = 1  # demotions pending at most
    PROMOTIONS = 2  # records a promotion makes at most (paging included)
    USES_BYTES = False  # whether promotions depend on the bytes a transfer carries

    def __init__(self, spec, device: np.ndarray, transfers: int):
        """``device``: the device code of each row; ``transfers``: how many :meth:`step` will carry."""
        n = device.size
        self.spec, self.device = spec, device
        self.state = np.full(n, spec.idle, dtype=CODE)
        self.ready = np.zeros(n)
        self.owner = np.full(n, -1, dtype=CODE)
        self.due = np.full((self.CHAIN, n), INF)
        self.due_proc = np.zeros((self.CHAIN, n), dtype=CODE)
        self.due_state = np.zeros((self.CHAIN, n), dtype=CODE)
        # records: (t, device, proc, owner, state) and until when the state lasts (the row's next
        # record); small integer types: fewer pages to touch
        self._size = n
        capacity = n * (1 + self.CHAIN) + transfers * (self.CHAIN + self.PROMOTIONS)  # pages are touched as used
        self._t, self._end = np.empty(capacity), np.empty(capacity)
        self._int = (np.empty(capacity, dtype=device.dtype), *(np.empty(capacity, dtype=CODE) for _ in range(3)))
        for column, first in zip((self._t, *self._int), (0.0, device, -1, -1, spec.idle)):  # initial states
            column[:n] = first
        self._last = np.arange(n)  # each row's latest record

    def record(self, mask: np.ndarray, t: np.ndarray, proc: np.ndarray | int, owner: np.ndarray,
               state: np.ndarray | int) -> None:
        """Record, for the rows (among the first ``mask.size``) where ``mask`` holds, procedure ``proc``."""
        rows = np.flatnonzero(mask)
        if not rows.size:
            return
        at, end = self._size, self._size + rows.size
        t = np.take(t, rows, out=self._t[at:end])
        for column, v in zip(self._int, (self.device, proc, owner, state)):
            if isinstance(v, np.ndarray):
                np.take(v, rows, out=column[at:end])
            else:
                column[at:end] = v
        self._end[self._last[rows]] = t
        self._last[rows] = np.arange(at, end)
        self._size = end

    def step(self, t: np.ndarray, app: np.ndarray, incoming: np.ndarray, up: np.ndarray | None,
             down: np.ndarray | None) -> np.ndarray:
        """Carry one transfer requested at ``t`` for each of the first ``t.size`` rows; returns delivery times.

        ``up`` and ``down`` (bytes) are needed only if :attr:`USES_BYTES`."""
        n = t.size
        state, owner = self.state[:n], self.owner[:n]
        for i in range(self.CHAIN):  # the timers that expired since the last transfer, in chain order
            due = self.due[i, :n]
            fired = due <= t
            if fired.any():
                self.record(fired, due, self.due_proc[i, :n], owner, self.due_state[i, :n])
                np.copyto(state, self.due_state[i, :n], where=fired)
        t = np.maximum(t, self.ready[:n])  # a transfer arriving during a promotion waits for it
        t = self.data(t, app, incoming, up, down)
        self.chain(t)
        return t

    def promote(self, mask: np.ndarray, t: np.ndarray, proc: int, state: int, app: np.ndarray, delay_s: float,
                incoming: np.ndarray | None = None, paging: int = -1) -> np.ndarray:
        """Run promotion ``proc`` where ``mask`` holds (after ``paging`` for incoming data, if given); returns the
        times after it."""
        n = t.size
        if not mask.any():
            return t
        if paging >= 0 and incoming.any():
            self.record(mask & incoming, t, paging, app, self.state[:n])
        self.record(mask, t, proc, app, state)
        np.copyto(self.state[:n], state, where=mask)  # copyto: a boolean-index assignment costs 5x more
        np.copyto(self.owner[:n], app, where=mask, casting="unsafe")
        t = np.where(mask, t + delay_s, t)
        np.copyto(self.ready[:n], t, where=mask)
        return t

    def finish(self, end_s: float) -> None:
        """Close the run: apply the demotions due strictly before ``end_s``."""
        for i in range(self.CHAIN):
            due = self.due[i]
            fired = due < end_s
            self.record(fired, due, self.due_proc[i], self.owner, self.due_state[i])

    def records(self, end_s: float) -> tuple[np.ndarray, ...]:
        """``(t, device, proc, owner, state, until)`` of every record, each device's in time order;
        ``until`` is the time of the device's next record, ``end_s`` for its last."""
        self._end[self._last] = end_s
        n = self._size
        return self._t[:n], *(column[:n] for column in self._int), self._end[:n]

    def data(self, t: np.ndarray, app: np.ndarray, incoming: np.ndarray, up: np.ndarray, down: np.ndarray
             ) -> np.ndarray:
        """The radio's promotions for transfers starting at ``t``; returns when each is delivered."""
        raise NotImplementedError

    def chain(self, t: np.ndarray) -> None:
        """Set the demotions that follow transfers delivered at ``t`` in the current state."""
        raise NotImplementedError
