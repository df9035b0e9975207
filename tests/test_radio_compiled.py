"""The compiled RRC machines' shared pieces (``sim.radio.compiled``).

Each kernel's results are checked record by record against the scalar machines through the
engines (``test_engines.py``); here, the row merge against a stable sort, and the binding of
each radio's piece to the one kernel.
"""
from __future__ import annotations

import inspect

import numpy as np
from hypothesis import given, settings
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
