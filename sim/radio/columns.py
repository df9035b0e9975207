"""The array form of :class:`sim.radio.base.Machine`: the RRC machines of many devices at once.

Devices are rows. :meth:`Columns.step` carries one transfer for each of the first ``n`` rows
(the caller orders rows so that the devices with a k-th transfer come first) with the same
decisions, in the same order and with the same float arithmetic, as the scalar machine's
``data``: apply the demotions due at or before the transfer, wait for a promotion in
progress, promote if the state needs it, then replace the pending demotion chain. A chain is
at most ``CHAIN`` demotions, held as ``[slot, row]`` arrays with ``inf`` for an empty slot.
Records are kept per step as arrays of rows and become one table, sorted by row, at the end.
"""
from __future__ import annotations

import numpy as np

INF = np.inf


class Columns:
    """Per-row state, pending demotions and the record of what happened."""

    CHAIN = 1

    def __init__(self, spec, n: int):
        self.spec = spec
        self.state = np.full(n, spec.idle, dtype=np.int64)
        self.ready = np.zeros(n)
        self.owner = np.full(n, -1, dtype=np.int64)
        self.due = np.full((self.CHAIN, n), INF)
        self.due_proc = np.zeros((self.CHAIN, n), dtype=np.int64)
        self.due_state = np.zeros((self.CHAIN, n), dtype=np.int64)
        rows = np.arange(n)
        self._records: list[tuple[np.ndarray, ...]] = [
            (rows, np.zeros(n), np.full(n, -1), np.full(n, -1), self.state.copy())]

    def record(self, mask: np.ndarray, t: np.ndarray, proc: np.ndarray | int, owner: np.ndarray,
               state: np.ndarray | int) -> None:
        """Record, for the rows (among the first ``mask.size``) where ``mask`` holds, procedure ``proc``."""
        rows = np.flatnonzero(mask)
        if rows.size:
            pick = (lambda v: v[rows] if isinstance(v, np.ndarray) else np.full(rows.size, v))
            self._records.append((rows, t[rows], pick(proc), owner[rows], pick(state)))

    def step(self, t: np.ndarray, app: np.ndarray, incoming: np.ndarray, up: np.ndarray, down: np.ndarray
             ) -> np.ndarray:
        """Carry one transfer requested at ``t`` for each of the first ``t.size`` rows; returns delivery times."""
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
        if paging >= 0:
            self.record(mask & incoming, t, paging, app, self.state[:n])
        self.record(mask, t, proc, app, state)
        self.state[:n][mask] = state
        self.owner[:n][mask] = app[mask]
        t = np.where(mask, t + delay_s, t)
        np.copyto(self.ready[:n], t, where=mask)
        return t

    def finish(self, end_s: float) -> None:
        """Close the run: apply the demotions due strictly before ``end_s``."""
        for i in range(self.CHAIN):
            due = self.due[i]
            fired = due < end_s
            self.record(fired, due, self.due_proc[i], self.owner, self.due_state[i])

    def records(self, device_of_row: np.ndarray) -> tuple[np.ndarray, ...]:
        """``(device, t, proc, owner, state)`` of every record, by device, each device's in time order."""
        rows, t, proc, owner, state = (np.concatenate(c) for c in zip(*self._records))
        device = device_of_row[rows]
        key = device.astype(np.uint16) if self.state.size <= 1 << 16 else device
        order = np.argsort(key, kind="stable")  # a radix sort for 16-bit keys
        return device[order], t[order], proc[order], owner[order], state[order]

    def data(self, t: np.ndarray, app: np.ndarray, incoming: np.ndarray, up: np.ndarray, down: np.ndarray
             ) -> np.ndarray:
        """The radio's promotions for transfers starting at ``t``; returns when each is delivered."""
        raise NotImplementedError

    def chain(self, t: np.ndarray) -> None:
        """Set the demotions that follow transfers delivered at ``t`` in the current state."""
        raise NotImplementedError
