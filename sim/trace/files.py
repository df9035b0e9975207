"""Write a trace's results folder as a run's is written: marked as signalsim's, swapped in atomically."""
from __future__ import annotations

import json
import re
from pathlib import Path

from sim.outputs.folders import Layout, write_directory
from sim.outputs.html import write_page
from sim.trace.page import trace_page
from sim.trace.run import TraceRun

FILES = ("summary.json", "packets.csv", "states.csv")
TRACE = Layout("trace", ("summary.json", "packets.csv"), (*FILES, "plots/*.png", "report.html"))


def default_folder(capture: str | Path) -> Path:
    """``results/trace-<capture name>/``, the name cut to a safe folder name (letters, digits, ``._-``)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(capture).stem).strip("._") or "capture"
    return Path("results") / f"trace-{stem[:90]}"


def write_trace(run: TraceRun, out_dir: Path, plots: bool = True) -> Path:
    """Write ``summary.json``, ``packets.csv``, ``states.csv``, (``plots``) ``plots/*.png`` and ``report.html``
    into ``out_dir``."""

    def fill(tmp: Path) -> None:
        (tmp / "summary.json").write_text(json.dumps(run.summary, indent=2) + "\n", encoding="utf-8")
        run.packets.to_csv(tmp / "packets.csv", index=False)
        run.states.to_csv(tmp / "states.csv", index=False)
        if plots:  # matplotlib is imported only to draw
            from sim.trace.plots import write_trace_plots
            write_trace_plots(run, tmp / "plots")
        write_page(trace_page(run, tmp), tmp / "report.html")

    return write_directory(out_dir, TRACE, fill)
