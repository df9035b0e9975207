"""Sweep plots: each main metric against each swept axis, the mean over replications with its
95 % confidence band, one line per value of a second axis.

Metrics plotted (``METRICS``): signalling messages per device-hour, promotions per device-hour,
radio energy per device-hour, and the call failure ratio where any run placed calls. The lines
split by the first other axis of a grid; axes beyond the second are pooled with the replications
(the title says so). In a zipped sweep the
axes move together, so there is one line. Failed runs are left out. Figures are built on an
Agg canvas, as ``sim.outputs.plots``.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.outputs.plots import DPI, literal
from sim.sweep.table import mean_ci

METRICS = {
    "signalling.messages_per_device_hour": "signalling messages per device-hour",
    "rrc.promotions_per_device_hour": "RRC promotions per device-hour",
    "energy.radio_j_per_device_hour": "radio energy per device-hour (J)",
    "calls.failure_ratio": "call failure ratio",  # plotted where any run placed calls
}
OPTIONAL = {"calls.failure_ratio": "calls.attempts"}  # a metric plotted only where this is nonzero
LOG_SPAN = 20  # a positive numeric axis spanning this factor or more is drawn on a log scale


def plot_name(metric: str, axis: str) -> str:
    """File name of the plot of ``metric`` against ``axis``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{metric}--{axis}").strip("_") + ".png"


def write_sweep_plots(table: pd.DataFrame, axes: list[str], directory: Path, zipped: bool = False) -> list[Path]:
    """One PNG per (metric, axis) into ``directory``; none when no run succeeded."""
    ok = table[table["status"] == "ok"] if "status" in table else table.iloc[0:0]
    metrics = [m for m in METRICS if m in ok and (m not in OPTIONAL or ok.get(OPTIONAL[m], pd.Series(0)).any())]
    if ok.empty or not metrics:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for metric in metrics:
        for axis in axes:
            others = [] if zipped else [a for a in axes if a != axis]
            fig = Figure(figsize=(8, 5), dpi=DPI, layout="constrained")
            FigureCanvasAgg(fig)
            try:
                _plot(fig.add_subplot(), ok, metric, axis, others[:1], others[1:])
                path = directory / plot_name(metric, axis)
                fig.savefig(path, format="png")
                written.append(path)
            finally:
                fig.clear()
    return written


def _plot(ax: Axes, ok: pd.DataFrame, metric: str, axis: str, line_by: list[str], pooled: list[str]) -> None:
    stats = mean_ci(ok, [axis, *line_by], metric)
    levels = list(dict.fromkeys(ok[axis]))
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in levels)
    position = {v: (float(v) if numeric else float(i)) for i, v in enumerate(levels)}
    lines = [(literal(f"{line_by[0]} = {value}"), stats[stats[line_by[0]] == value]) for value in
             dict.fromkeys(stats[line_by[0]])] if line_by else [(None, stats)]
    for label, line in lines:
        line = line.assign(x=line[axis].map(position)).sort_values("x")
        drawn = ax.plot(line["x"], line["mean"], marker="o", lw=1.5, label=label)
        ax.fill_between(line["x"], line["low"], line["high"], color=drawn[0].get_color(), alpha=0.2, lw=0)
    if not numeric:
        ax.set_xticks(list(position.values()), [literal(str(v)) for v in levels])
    elif min(position.values()) > 0 and max(position.values()) >= LOG_SPAN * min(position.values()):
        ax.set_xscale("log")
        ax.set_xticks(list(position.values()), [f"{v:g}" for v in levels])
        ax.minorticks_off()
    low_n, high_n = int(stats["n"].min()), int(stats["n"].max())
    runs = f"{low_n}" if low_n == high_n else f"{low_n}-{high_n}"
    title = f"{METRICS[metric]}: mean and 95 % CI, {runs} runs per point"
    if pooled:
        title += f"\n(pooled over {', '.join(pooled)})"
    ax.set_title(title, fontsize="medium")
    ax.set_xlabel(literal(axis))
    ax.set_ylabel(METRICS[metric])
    ax.set_ylim(bottom=min(0.0, float(np.nanmin(stats["low"]))))
    ax.grid(alpha=0.3)
    if line_by:
        ax.legend(fontsize="small")
