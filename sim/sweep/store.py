"""A sweep's finished runs on disk: one small JSON file per run, ``points/<run id>.json``.

Every file is written to a temporary name in the same directory and renamed into place
(``os.replace`` is atomic on POSIX), so a file named ``<id>.json`` is always complete: a process
killed mid-write leaves only a hidden ``.*.tmp`` file, which is never read and is removed on the
next run. Atomicity covers a killed process; surviving a power cut would also need fsync.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Record = dict[str, Any]  # run_id, status ("ok" | "failed"), error, wall_time_s, metrics


class _Record(BaseModel):
    """What a point file must hold to count as a finished run (anything else runs again)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    run_id: str
    status: Literal["ok", "failed"]
    error: str
    wall_time_s: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    metrics: dict[str, bool | int | float | str | None]

    @model_validator(mode="after")
    def _ok_has_metrics(self) -> "_Record":
        if self.status == "ok" and not self.metrics:
            raise ValueError("a finished run has metrics")
        return self


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write`` on a temporary sibling of ``path``, then rename it to ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


class PointStore:
    """The ``points/`` folder of a sweep's output directory."""

    def __init__(self, out_dir: Path):
        self.directory = Path(out_dir) / "points"

    def open(self) -> None:
        """Create the folder and remove temporary files a killed run left behind."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for leftover in self.directory.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)

    def load(self, run_ids: set[str]) -> dict[str, Record]:
        """The stored records of these runs (runs without a file, or with one that is not a complete
        record, e.g. damaged or edited by hand, are absent: they run again)."""
        out = {}
        for path in self.directory.glob("*.json"):
            if path.stem in run_ids:
                try:
                    record = _Record.model_validate_json(path.read_bytes()).model_dump()
                except (OSError, ValidationError):
                    continue
                if record["run_id"] == path.stem:
                    out[path.stem] = record
        return out

    def save(self, record: Record) -> Path:
        text = json.dumps(record, indent=1) + "\n"
        return write_atomic(self.directory / f"{record['run_id']}.json",
                            lambda tmp: tmp.write_text(text, encoding="utf-8"))
