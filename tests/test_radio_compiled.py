"""The compiled RRC machines' shared pieces (``sim.radio.compiled``).

Each kernel's results are checked record by record against the scalar machines through the
engines (``test_engines.py``); here, the row merge against a stable sort, and the binding of
each radio's piece to the one kernel.
"""
from __future__ import annotations

import inspect
import sys

import numpy as np
from hypothesis import given, settings
from numba import njit
from hypothesis import strategies as st

from sim.radio import compiled, kernel, tables

# times on a coarse grid, so ties within and across runs are common; None: no transfer (inf)
run = st.lists(st.one_of(st.none(), st.integers(0, 6).map(float)), max_size=7)


@settings(max_examples=300, deadline=None)
@given(st.lists(run, min_size=1, max_size=5))
def test_merge_orders_a_row_like_a_stable_sort(runs: list[list[float | None]]) -> None:
    """Runs in time order but for holes (inf), merged: the columns a stable argsort of the row gives."""
    cols: list[float] = []
    for r in runs:  # each run sorted, its holes scattered where the strategy put them
        finite = iter(sorted(x for x in r if x is not None))
        cols += [np.inf if x is None else next(finite) for x in r]
    row = np.array(cols, dtype=float).reshape(1, -1)
    bounds = np.cumsum([0] + [len(r) for r in runs])
    heads, head_t, order = np.empty(bounds.size, dtype=np.int64), np.empty(bounds.size), np.empty(row.size + 1,
                                                                                                dtype=np.int64)
    m = compiled.merge(row, 0, bounds, heads, head_t, order)
    expected = np.argsort(row[0], kind="stable")
    expected = expected[np.isfinite(row[0, expected])]
    np.testing.assert_array_equal(order[:m], expected)


def test_every_radio_has_a_transfer_piece_with_one_signature() -> None:
    """The kernel (``sim.radio.kernel``) is compiled per radio with the radio's ``transfer``: every radio module is
    registered, its spec a named tuple, and every piece takes the same parameters, in order."""
    assert set(kernel.RADIOS.values()) == set(tables.MODULES.values()) and set(kernel.ROWS) == set(kernel.RADIOS)
    signatures = {m.__name__: list(inspect.signature(m.transfer.py_func).parameters) for m in kernel.RADIOS.values()}
    assert len({tuple(p) for p in signatures.values()}) == 1, signatures
    for spec_type in kernel.RADIOS:
        assert issubclass(spec_type, tuple) and spec_type._fields


@njit
def _lent_sum(w) -> float:
    """A callee that reads and writes through a lent tuple."""
    a, b, x, pair = w[0], w[1], w[2], w[3]
    a[0] += 1.0
    b[1, 0] = 7
    return a.sum() + b.sum() + x + pair[0].sum() + pair[1]


@njit
def _lender(a, b, x, pair) -> tuple[float, float]:
    w = compiled.lend((a, b, x, pair))
    return _lent_sum(w), _lent_sum(w)


def test_a_lent_tuple_reads_and_writes_its_members_and_keeps_no_reference() -> None:
    """``lend``: a callee sees each member (arrays, a float, a nested tuple) and writes into the caller's arrays;
    no reference to an array is left behind."""
    a, b, c = np.arange(3.0), np.zeros((2, 2), dtype=np.int64), np.ones(4)
    refs = [sys.getrefcount(x) for x in (a, b, c)]
    first, second = _lender(a, b, 0.5, (c, 2.5))
    assert (first, second) == (4.0 + 7 + 0.5 + 4.0 + 2.5, 5.0 + 7 + 0.5 + 4.0 + 2.5)
    assert a.tolist() == [2.0, 1.0, 2.0] and b.tolist() == [[0, 0], [7, 0]]
    assert [sys.getrefcount(x) for x in (a, b, c)] == refs
