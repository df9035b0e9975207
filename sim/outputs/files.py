"""Write a run's results directory atomically: a directory either holds a complete run or is untouched."""
from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from sim.metrics.results import Results

FILES = ("summary.json", "timeseries.csv", "apps.csv", "devices.csv", "scenario.resolved.toml")


def write_results(results: Results, resolved_toml: str, out_dir: Path,
                  plots: Callable[[Results, Path], list[Path]] | None = None) -> Path:
    """Write every output of a run into ``out_dir`` atomically (see :func:`write_directory`)."""

    def fill(tmp: Path) -> None:
        (tmp / "summary.json").write_text(json.dumps(results.summary, indent=2) + "\n", encoding="utf-8")
        results.timeseries.to_csv(tmp / "timeseries.csv", index=False)
        results.apps.to_csv(tmp / "apps.csv", index=False)
        results.devices.to_csv(tmp / "devices.csv", index=False)
        (tmp / "scenario.resolved.toml").write_text(resolved_toml, encoding="utf-8")
        if plots is not None:
            plots(results, tmp / "plots")

    return write_directory(out_dir, fill)


def write_directory(out_dir: Path, fill: Callable[[Path], None]) -> Path:
    """Let ``fill`` write into a fresh sibling directory, then swap it in for ``out_dir``.

    An earlier directory at ``out_dir`` is replaced only once the new one is complete; if
    anything fails, the partial directory is removed and ``out_dir`` is left as it was.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        fill(tmp)
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{tmp.name.rsplit('-', 1)[-1]}")
            out_dir.rename(old)
        tmp.rename(out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
