"""Transfers counted as a compiled closed loop logs them, so that its log need not keep them.

A log's transfers are rows ``(device, app, kind, up bytes, down bytes, packets)`` at a time; the metrics
count them per device and per bin by *code*, a row of the distinct ``(app, kind, up, down, packets)``
(``LogArrays.x_table``), then multiply the counts out (``sim.metrics.reduce``). Only heartbeats and
messages need each row (their delivery delays, ``sim.metrics.delivery``); the rest (a reconnect, an
unanswered transmission: a storm's SYNs, millions) need only those counts. A :class:`TransferCounts` takes
such rows a chunk at a time and keeps the counts, with the codes they are by, so any split of the log gives
the counts of the whole.
"""
from __future__ import annotations

import numpy as np

from sim.engine.log import HEARTBEAT, MESSAGE
from sim.metrics import tally


def delivered(kind: np.ndarray) -> np.ndarray:
    """Which transfers of ``kind`` each are delivered messages, whose delays the metrics follow."""
    return (kind == HEARTBEAT) | (kind == MESSAGE)


class TransferCounts:
    """Per device and per bin, how many transfers of each code (``table``: each code's row)."""

    def __init__(self, n_dev: int, n_bins: int, bin_s: float) -> None:
        self.bin_s = bin_s
        self.table: list[tuple[int, ...]] = []
        self._code: dict[tuple[int, ...], int] = {}
        self.per_device = np.zeros((n_dev, 0), dtype=np.int64)
        self.per_bin = np.zeros((n_bins, 0), dtype=np.int64)

    def codes(self, table: np.ndarray) -> np.ndarray:
        """The code of each row of ``table`` (the new ones added, with no transfer counted yet)."""
        out = np.empty(table.shape[0], dtype=np.int64)
        for k, row in enumerate(map(tuple, table.tolist())):
            out[k] = self._code.setdefault(row, len(self.table))
            if out[k] == len(self.table):
                self.table.append(row)
        new = len(self.table) - self.per_device.shape[1]
        if new:
            self.per_device = np.pad(self.per_device, ((0, 0), (0, new)))
            self.per_bin = np.pad(self.per_bin, ((0, 0), (0, new)))
        return out

    def add(self, t: np.ndarray, dev: np.ndarray, rows: np.ndarray) -> None:
        """Count transfers at ``t`` of ``dev`` (0 .. n_dev - 1), each of a row ``(app, kind, up, down, packets)``."""
        table, code = distinct_rows(rows)
        code = self.codes(table)[code]  # (first: it widens the counts by any new code)
        tally.count_transfers(self.per_device, self.per_bin, t, dev, code, self.bin_s)


def distinct_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0, return_inverse=True)`` of a 2-D integer array, by one key per row: each column's
    rank among its distinct values, combined (numpy's row-wise unique sorts the rows as records, ten times as
    slow on the millions of transfers a storm logs)."""
    key, size = np.zeros(rows.shape[0], dtype=np.int64), 1
    for j in range(rows.shape[1]):
        values, rank = _ranks(rows[:, j])
        size *= values
        if size >= 2**62:  # the combined ranks would not fit one key
            table, code = np.unique(rows, axis=0, return_inverse=True)
            return table, code.reshape(-1)
        key = key * values + rank
    size, code = _ranks(key)
    table = np.empty((size, rows.shape[1]), dtype=rows.dtype)
    table[code] = rows  # the rows of one code are equal: any of them
    return table, code


def _ranks(a: np.ndarray) -> tuple[int, np.ndarray]:
    """How many distinct values ``a`` holds and each element's rank among them: by a table over the range of
    values where it is short (an integer column of a log: a few distinct values, no sort), else by sorting."""
    if a.size == 0:
        return 0, np.zeros(0, dtype=np.int64)
    low = int(a.min())
    span = int(a.max()) - low + 1
    if span > 4 * a.size + 65536:
        values, rank = np.unique(a, return_inverse=True)
        return values.size, rank.reshape(-1).astype(np.int64)
    seen = np.zeros(span, dtype=np.int64)
    seen[a - low] = 1
    np.cumsum(seen, out=seen)
    return int(seen[-1]), seen[a - low] - 1
