"""The compiled RRC machines' shared pieces (``sim.radio.compiled``).

Each kernel's results are checked record by record against the scalar machines through the
engines (``test_engines.py``); here, the row merge against a stable sort, and the binding of
profile specs to kernel parameters.
"""
from __future__ import annotations

import inspect
from dataclasses import fields

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.radio import compiled, lte, nr, umts

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


def test_every_kernel_takes_its_spec_fields_in_order() -> None:
    """``run_rows`` passes a spec positionally (``astuple``): the kernel's trailing parameters must be
    the spec's fields, in order."""
    for module in (lte, nr, umts):
        params = list(inspect.signature(module.rows.py_func).parameters)
        names = [f.name for f in fields(module.Spec)]
        assert params[-len(names):] == names, module.__name__
        assert params[:-len(names)] == ["t", "runs", "key", "up", "down", "app_of_key", "end_s", "recs", "per_row",
                                         "device"]
