"""A result table writes the CSV pandas writes, byte for byte, and makes the DataFrame pandas makes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.metrics.table as table_module
from sim.metrics.table import Labelled, Table

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)  # commas, quotes, newlines


@st.composite
def tables(draw: st.DrawFn) -> tuple[Table, pd.DataFrame]:
    """A table of every kind of column a run's tables hold, and the DataFrame built directly."""
    n = draw(st.integers(0, 12))
    floats = draw(st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([-0.0, 1e-5, 1e16, 0.1]),
                           min_size=n, max_size=n))
    ints = draw(st.lists(st.integers(-2**63, 2**63 - 1), min_size=n, max_size=n))
    labels = draw(st.lists(TEXT, min_size=1, max_size=4, unique=True))
    codes = np.array(draw(st.lists(st.integers(0, len(labels) - 1), min_size=n, max_size=n)), dtype=np.int64)
    columns = {"f": np.array(floats, dtype=float), "i": np.array(ints, dtype=np.int64),
               "b": np.array([x > 0 for x in ints], dtype=bool), "label, \"quoted\"": Labelled(codes, labels)}
    frame = pd.DataFrame({"f": np.array(floats, dtype=float), "i": np.array(ints, dtype=np.int64),
                          "b": np.array([x > 0 for x in ints], dtype=bool),
                          "label, \"quoted\"": pd.Categorical.from_codes(codes, labels)})
    return Table(columns), frame


@settings(max_examples=200, deadline=None)
@given(tables())
def test_csv_and_frame_are_pandas(tmp_path_factory: pytest.TempPathFactory, made: tuple[Table, pd.DataFrame]) -> None:
    table, frame = made
    folder = tmp_path_factory.mktemp("csv")
    table.to_csv(folder / "mine.csv")
    frame.to_csv(folder / "pandas.csv", index=False)
    assert (folder / "mine.csv").read_bytes() == (folder / "pandas.csv").read_bytes()
    pd.testing.assert_frame_equal(table.frame(), frame, check_exact=True)
    assert len(table) == len(frame)


def test_rows_become_columns_as_pandas_makes_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_module, "CSV_ROWS", 2)  # several chunks
    rows = [{"app": name, "devices": k, "share": k / 3} for k, name in enumerate(["chat", "mail", "a,b", "os-push", "x"])]
    table, frame = Table.from_rows(rows), pd.DataFrame(rows)
    pd.testing.assert_frame_equal(table.frame(), frame, check_exact=True)
    table.to_csv(tmp_path / "mine.csv")
    frame.to_csv(tmp_path / "pandas.csv", index=False)
    assert (tmp_path / "mine.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
    assert list(table["app"]) == list(frame["app"])
    empty = Table.from_rows([])
    empty.to_csv(tmp_path / "empty.csv")
    pd.DataFrame([]).to_csv(tmp_path / "empty-pandas.csv", index=False)
    assert len(empty) == 0 and (tmp_path / "empty.csv").read_bytes() == (tmp_path / "empty-pandas.csv").read_bytes()
