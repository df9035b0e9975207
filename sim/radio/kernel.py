"""The compiled RRC machines: one kernel, compiled for each radio with that radio's ``transfer``.

:func:`rows` walks every row of a chunk's transfers (``sim.radio.compiled``); ``transfer`` is the radio's own
piece (``sim.radio.lte``, ``umts``, ``nr``): the one compiled form of its machine, which the closed loop's
engine steps too. A radio's ``Spec`` is a named tuple of scalars, passed whole.
"""
from __future__ import annotations

from collections.abc import Callable
from types import FunctionType, ModuleType

import numpy as np
from numba.extending import overload

from sim.radio import lte, nr, umts
from sim.radio.compiled import CODE, PROMOTIONS, borrow_all, fire, jit, merge, put, settle, space, start

RADIOS: dict[type, ModuleType] = {lte.Spec: lte, nr.Spec: nr, umts.Spec: umts}


def transfer(recs, n, state, ready, owner, chain, row, head, size, tk, app, up, down, incoming, device, pages, spec):
    """The ``transfer`` of ``spec``'s radio, for compiled code that serves every radio (``sim.engine.closed``):
    picked when Numba compiles the caller, a call (an inlined overload miscompiles)."""
    raise NotImplementedError("compiled only: called from Numba code")


@overload(transfer)
def _transfer(recs, n, state, ready, owner, chain, row, head, size, tk, app, up, down, incoming, device, pages, spec):
    piece = RADIOS[spec.instance_class].transfer
    return lambda recs, n, state, ready, owner, chain, row, head, size, tk, app, up, down, incoming, device, pages, \
        spec: piece(recs, n, state, ready, owner, chain, row, head, size, tk, app, up, down, incoming, device, pages,
                    spec)


def rows(t, runs, key, up, down, app_of_key, end_s, recs, per_row, device, spec, chain_len):
    """Every row's machine for ``spec``'s radio (compiled per radio: :data:`ROWS`): its records; returns how many.
    ``up``/``down``: bytes per transfer, empty when the radio's machine does not use them."""
    (heads, head_t, order), (due, due_proc, due_state) = space(runs, t, chain_len)
    recs, chain = borrow_all(recs), borrow_all((due, due_proc, due_state))
    upkeep, keeper, idle = spec.upkeep, spec.keeper, spec.idle
    n = 0
    for r in range(t.shape[0]):
        first, n = n, put(recs, n, 0.0, -1, -1, idle)
        state, ready, owner, head, size, pages = idle, 0.0, -1, 0, 0, 0
        last = start(spec.paging_key, device[r], upkeep, idle)
        for j in range(merge(t, r, runs, heads, head_t, order)):
            k = order[j]
            n, state, head, tk, last = settle(recs, n, owner, state, chain, 0, head, size, t[r, k], ready, last,
                                              upkeep, keeper)
            kk = key[r, k]
            up_bytes, down_bytes = (up[r, k], down[r, k]) if up.shape[0] else (0, 0)
            n, state, ready, owner, head, size, tk, pages = transfer(
                recs, n, state, ready, owner, chain, 0, head, size, tk, app_of_key[kk], up_bytes, down_bytes, kk & 1,
                device[r], pages, spec)
        n, state, head, last = fire(recs, n, owner, state, chain, 0, head, size, end_s, True, last, upkeep, keeper)
        per_row[r] = n - first
    return n


def _compiled(module: ModuleType) -> Callable:
    """:func:`rows` compiled for ``module``'s radio, its ``transfer`` bound in as a global (so Numba inlines it and
    caches the kernel on disk: a function passed as an argument defeats both, an overloaded one miscompiles)."""
    name = module.__name__.rsplit(".", 1)[1]
    f = FunctionType(rows.__code__, {**globals(), "transfer": module.transfer}, f"rows_{name}")
    f.__qualname__ = f.__name__  # the on-disk cache's file name
    f.__doc__ = rows.__doc__
    return jit(f)


#: the compiled kernel of each radio, by its spec's type
ROWS: dict[type, Callable] = {spec_type: _compiled(module) for spec_type, module in RADIOS.items()}


def run_rows(spec: tuple, t: np.ndarray, runs: tuple[int, ...], key: np.ndarray, up: np.ndarray | None,
             down: np.ndarray | None, app_of_key: np.ndarray, device: np.ndarray, end_s: float
             ) -> tuple[np.ndarray, ...]:
    """Every row's machine; ``(t, device, proc, owner, state)`` of every record, each device's in time order.

    ``t``: transfer times, each row in ``runs`` (widths of column ranges, in time order but for
    ``inf`` entries); ``up``/``down``: bytes per transfer, for the radios whose promotions depend on
    them (``None`` otherwise)."""
    chain = RADIOS[type(spec)].CHAIN  # the radio's longest chain of pending demotions
    rows_n = t.shape[0]
    most_repeats = max((getattr(spec, f)[2] for f in spec._fields if f.endswith("paging_area")), default=0)
    # periodic updates: a row's states with upkeep last at most end_s between them, and the idle timer's
    # phase (sim.radio.compiled.start) adds at most one update
    shortest = min((period for _, _, period in spec.upkeep), default=np.inf)
    upkept = 0 if shortest == np.inf else int(end_s / shortest) + 2
    capacity = rows_n * (1 + chain + upkept) + int(np.isfinite(t).sum()) * (chain + PROMOTIONS + most_repeats)
    recs = (np.empty(capacity), *(np.empty(capacity, dtype=CODE) for _ in range(3)))
    none = np.zeros((0, 0), dtype=np.int64)
    per_row = np.zeros(rows_n, dtype=np.int64)
    up, down = (none if b is None else b for b in (up, down))
    n = ROWS[type(spec)](t, np.cumsum((0, *runs)), key, up, down, app_of_key, end_s, recs, per_row, device, spec,
                         chain)
    rec_t, proc, owner, state = (r[:n] for r in recs)
    return rec_t, np.repeat(device, per_row), proc, owner, state
