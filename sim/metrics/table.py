"""A result table as named numpy columns: a pandas DataFrame only when one is asked for, CSV without pandas.

A run's tables are made of numpy arrays; importing pandas would be a fifth of a short run's start-up
(docs/performance.md), so :class:`Table` keeps the columns and builds the DataFrame on demand, and
writes the CSV file pandas would write (``DataFrame.to_csv(index=False)``), byte for byte.
"""
from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

CSV_ROWS = 100_000  # rows formatted at a time: the text of a chunk, not of the whole table, is held


@dataclass(frozen=True)
class Labelled:
    """A text column as codes into its labels: a pandas Categorical in the DataFrame."""

    codes: np.ndarray
    labels: Sequence[str]

    def values(self, rows: slice = slice(None)) -> np.ndarray:
        """The label of each of ``rows`` (an object array)."""
        return np.asarray(self.labels, dtype=object)[self.codes[rows]]


class Table:
    """Named columns of equal length, in order: numpy arrays, or :class:`Labelled` text."""

    def __init__(self, columns: Mapping[str, np.ndarray | Labelled]) -> None:
        self.columns = dict(columns)

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]]) -> Table:
        """A table of dicts that share their keys (the first row's give the columns)."""
        return cls({k: np.array([r[k] for r in rows]) for k in rows[0]} if rows else {})

    def __len__(self) -> int:
        column = next(iter(self.columns.values()), np.zeros(0))
        return len(column.codes if isinstance(column, Labelled) else column)

    def __getitem__(self, name: str) -> np.ndarray:
        column = self.columns[name]
        return column.values() if isinstance(column, Labelled) else column

    def frame(self) -> pd.DataFrame:
        """The table as a pandas DataFrame (Labelled columns categorical)."""
        import pandas as pd

        return pd.DataFrame({name: pd.Categorical.from_codes(c.codes, c.labels) if isinstance(c, Labelled) else c
                             for name, c in self.columns.items()})

    def to_csv(self, path: Path) -> None:
        """Write the table as ``DataFrame.to_csv(path, index=False)`` does: a header, then each row; floats
        as numpy writes them (``astype(str)``), missing ones empty."""
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(self.columns)
            for start in range(0, len(self), CSV_ROWS):
                writer.writerows(zip(*self._text(slice(start, start + CSV_ROWS))))

    def _text(self, rows: slice) -> Iterator[list[Any]]:
        """Each column's ``rows`` as the csv module writes them."""
        for column in self.columns.values():
            if isinstance(column, Labelled):
                yield column.values(rows).tolist()
                continue
            part = column[rows]
            if part.dtype.kind == "f":
                text = part.astype(str).astype(object)
                text[np.isnan(part)] = ""
                yield text.tolist()
            else:
                yield part.tolist()
