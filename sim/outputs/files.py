"""Write a run's results folder atomically: a folder either holds a complete run or is untouched."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sim.metrics.results import Results
from sim.outputs.folders import Layout, write_directory

FILES = ("summary.json", "timeseries.csv", "apps.csv", "devices.csv", "scenario.resolved.toml")
RUN = Layout("run", ("summary.json", "scenario.resolved.toml"), (*FILES, "plots/*.png"))


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

    return write_directory(out_dir, RUN, fill)
