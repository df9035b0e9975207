"""Write a run's results directory atomically: a directory either holds a complete run or is untouched."""
from __future__ import annotations

import json
import shutil
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

from sim.metrics.results import Results
from sim.outputs.tables import device_file, write_devices

# and the per-device table, as the scenario's outputs.devices asks (sim.outputs.tables)
FILES = ("summary.json", "timeseries.csv", "apps.csv", "scenario.resolved.toml")


def write_results(results: Results, resolved_toml: str, out_dir: Path,
                  plots: Callable[[Results, Path], list[Path]] | None = None) -> Path:
    """Write every output of a run into ``out_dir`` atomically (see :func:`write_directory`).

    The per-device table follows ``outputs.devices`` of ``resolved_toml`` (the run's resolved
    scenario), so the directory always matches the scenario file written into it."""
    choice = tomllib.loads(resolved_toml).get("outputs", {}).get("devices", "auto")
    summary = {**results.summary, "outputs": {"devices": device_file(choice, len(results.devices))}}

    def fill(tmp: Path) -> None:
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        results.timeseries.to_csv(tmp / "timeseries.csv", index=False)
        results.apps.to_csv(tmp / "apps.csv", index=False)
        write_devices(results.devices, tmp, choice)
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
