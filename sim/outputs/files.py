"""Write a run's results folder atomically: a folder either holds a complete run or is untouched."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sim.metrics.results import Results
from sim.outputs.folders import Layout, write_directory
from sim.outputs.run_page import write_run_page
from sim.outputs.tables import DEVICE_FILES, device_file, write_devices
from sim.scenario.schema import DeviceTable

# and the per-device table, as the scenario's outputs.devices asks (sim.outputs.tables)
FILES = ("summary.json", "timeseries.csv", "apps.csv", "scenario.resolved.toml")
RUN = Layout("run", ("summary.json", "scenario.resolved.toml"), (*FILES, *DEVICE_FILES, "plots/*.png", "report.html"))


def write_results(results: Results, resolved_toml: str, out_dir: Path,
                  plots: Callable[[Results, Path], list[Path]] | None = None, devices: DeviceTable = "auto") -> Path:
    """Write every output of a run into ``out_dir`` atomically (see :func:`write_directory`).

    ``devices`` is the run's ``outputs.devices``: the per-device table's format. ``summary.json``
    also names the table's file (``outputs.devices``). ``report.html``, written last, shows the
    answer and links the rest."""
    tables = results.tables
    summary = {**results.summary, "outputs": {"devices": device_file(devices, len(tables.devices))}}

    def fill(tmp: Path) -> None:
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        tables.timeseries.to_csv(tmp / "timeseries.csv")
        tables.apps.to_csv(tmp / "apps.csv")
        write_devices(tables.devices, tmp, devices)
        (tmp / "scenario.resolved.toml").write_text(resolved_toml, encoding="utf-8")
        if plots is not None:
            plots(results, tmp / "plots")
        write_run_page(results, summary, resolved_toml, tmp)

    return write_directory(out_dir, RUN, fill)
