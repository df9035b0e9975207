"""PNG plots of a run: signalling over time, RRC occupancy, per-app shares and the Lorenz curve.

Figures are built as ``matplotlib.figure.Figure`` objects on an Agg canvas (no pyplot), so
plotting keeps no global state and is safe in threads and worker processes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.errors import printable

DPI = 120
TOP_SHARES = ("1", "5", "10", "20")  # summary concentration.top_share points to annotate
MAX_LORENZ_POINTS = 2000


class PlotResults(Protocol):
    """What the plots read from a run's results (``sim.metrics.Results`` fits)."""

    @property
    def summary(self) -> dict[str, Any]: ...
    @property
    def timeseries(self) -> pd.DataFrame: ...
    @property
    def apps(self) -> pd.DataFrame: ...
    @property
    def devices(self) -> pd.DataFrame: ...
    @property
    def nodes(self) -> list[str]: ...
    @property
    def states(self) -> list[str]: ...


def write_plots(results: PlotResults, directory: Path) -> list[Path]:
    """Write ``signalling.png``, ``rrc_states.png``, ``apps.png`` and ``lorenz.png`` into ``directory``;
    with capacity-limited nodes also ``load.png``, and with voice calls ``calls.png``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    plotters = {"signalling.png": _signalling, "rrc_states.png": _rrc_states,
                "apps.png": _apps, "lorenz.png": _lorenz}
    if any(c.startswith("capacity_") for c in results.timeseries.columns):
        plotters["load.png"] = _load
    if results.summary.get("calls", {}).get("attempts"):
        plotters["calls.png"] = _calls
    written = []
    for name, plot in plotters.items():
        fig = Figure(figsize=(9, 5), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        try:
            ax = fig.add_subplot()
            plot(results, ax)
            if name in ("signalling.png", "load.png", "calls.png"):
                _mark_events(results, ax)
            path = directory / name
            fig.savefig(path, format="png")
            written.append(path)
        finally:
            fig.clear()
    return written


def _scenario(results: PlotResults) -> str:
    return str(results.summary.get("scenario", "")) or "run"


def _time_axis(ts: pd.DataFrame) -> tuple[np.ndarray, str]:
    """Bin mid-points in a readable unit, and the axis label."""
    start = ts["t_start_s"].to_numpy(dtype=float)
    end = ts["t_end_s"].to_numpy(dtype=float)
    mid = (start + end) / 2
    span = float(end.max() - start.min()) if len(ts) else 0.0
    if span >= 6 * 3600:
        return mid / 3600, "time (h)"
    if span >= 600:
        return mid / 60, "time (min)"
    return mid, "time (s)"


def _empty(ax: Axes, text: str, x: float = 0.5, y: float = 0.5) -> None:
    ax.text(x, y, text, ha="center", va="center", transform=ax.transAxes, color="grey")


def _signalling(results: PlotResults, ax: Axes) -> None:
    ts = results.timeseries
    ax.set_title(f"{_scenario(results)}: signalling load by network node")
    ax.set_ylabel("signalling messages / s")
    if ts.empty:
        ax.set_xlabel("time (s)")
        _empty(ax, "no time bins")
        return
    x, xlabel = _time_axis(ts)
    ax.set_xlabel(xlabel)
    width = (ts["t_end_s"] - ts["t_start_s"]).to_numpy(dtype=float)
    width = np.where(width > 0, width, np.nan)
    for node in results.nodes:
        column = f"messages_{node}"
        if column in ts:
            ax.plot(x, ts[column].to_numpy(dtype=float) / width, lw=1.2, label=node)
    ax.plot(x, ts["messages_total"].to_numpy(dtype=float) / width, color="black", lw=2, label="total")
    ax.set_ylim(bottom=0)
    ax.set_xlim(float(x.min()), float(x.max()) if len(x) > 1 else float(x.min()) + 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")


def _rrc_states(results: PlotResults, ax: Axes) -> None:
    ts = results.timeseries
    ax.set_title(f"{_scenario(results)}: RRC state occupancy")
    ax.set_ylabel("devices")
    columns = [(s, f"devices_{s}") for s in results.states if f"devices_{s}" in ts]
    if ts.empty or not columns:
        ax.set_xlabel("time (s)")
        _empty(ax, "no RRC state data")
        return
    x, xlabel = _time_axis(ts)
    ax.set_xlabel(xlabel)
    ax.stackplot(x, [ts[c].to_numpy(dtype=float) for _, c in columns],
                 labels=[s for s, _ in columns], alpha=0.85)
    ax.set_ylim(bottom=0)
    ax.set_xlim(float(x.min()), float(x.max()) if len(x) > 1 else float(x.min()) + 1)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()  # top state of the stack first
    ax.legend(handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small",
              title="RRC state\n(bin average)", title_fontsize="small")


def _apps(results: PlotResults, ax: Axes) -> None:
    apps = results.apps
    ax.set_title(f"{_scenario(results)}: share of signalling vs share of data per app")
    ax.set_ylabel("share of network total (%)")
    if apps.empty:
        _empty(ax, "no apps")
        return
    apps = apps.sort_values("signalling_share", ascending=False, kind="stable")
    names = [f"{a}\n(OS push)" if a == "os-push" else literal(str(a)) for a in apps["app"]]
    x = np.arange(len(apps))
    w = 0.38
    sig = 100 * apps["signalling_share"].to_numpy(dtype=float)
    data = 100 * apps["bytes_share"].to_numpy(dtype=float)
    for offset, values, label, color in ((-w / 2, sig, "signalling messages", "tab:red"),
                                         (w / 2, data, "bytes", "tab:blue")):
        bars = ax.bar(x + offset, values, w, label=label, color=color)
        ax.bar_label(bars, fmt="%.1f%%", fontsize="small", padding=2)
    ax.set_xticks(x, names)
    ax.set_xlim(-0.6, len(apps) - 0.4)
    ax.set_ylim(0, max(float(np.nanmax(np.r_[sig, data, 0.0])) * 1.3, 1.0))  # room for the legend
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper right")


def _lorenz(results: PlotResults, ax: Axes) -> None:
    conc = results.summary.get("concentration", {})
    gini = conc.get("gini")
    ax.set_title(f"{_scenario(results)}: concentration of signalling over devices")
    ax.set_xlabel("share of devices, most signalling first (%)")
    ax.set_ylabel("cumulative share of signalling (%)")
    ax.plot([0, 100], [0, 100], color="grey", ls="--", lw=1, label="equal load")
    counts = (results.devices["signalling_messages"].to_numpy(dtype=float)
              if "signalling_messages" in results.devices else np.zeros(0))
    total = float(counts.sum())
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 102)
    ax.grid(alpha=0.3)
    if len(counts) == 0 or total <= 0:
        _empty(ax, "no signalling", 0.3, 0.7)
        ax.legend(loc="lower right")
        return
    share, cum = (100 * v for v in _lorenz_points(counts))
    label = "devices" if gini is None else f"devices (Gini {float(gini):.3f})"
    ax.plot(share, cum, color="tab:red", lw=2, label=label)
    markers = iter("osD^")
    for key in TOP_SHARES:  # labelled in the legend: the lower right, under the diagonal, is always free
        value = conc.get("top_share", {}).get(key)
        if value is not None:
            ax.plot(float(key), 100 * float(value), next(markers), ms=7, mec="black", ls="none",
                    label=f"top {key}% of devices: {100 * float(value):.1f}%")
    ax.legend(loc="lower right")


def _lorenz_points(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most MAX_LORENZ_POINTS points of the Lorenz curve (devices most first; the curve is smooth
    at that density), without building the whole curve: 10^7 devices cost a sort and a cumsum."""
    n = counts.size
    cum = np.cumsum(np.sort(counts)[::-1])
    keep = np.unique(np.linspace(0, n, min(n + 1, MAX_LORENZ_POINTS)).astype(int))  # devices before each point
    return keep / n, np.where(keep > 0, cum[np.maximum(keep - 1, 0)], 0.0) / cum[-1]


def _load(results: PlotResults, ax: Axes) -> None:
    """Offered signalling per second at each capacity-limited node against its capacity."""
    ts = results.timeseries
    x, xlabel = _time_axis(ts)
    seconds = (ts["t_end_s"] - ts["t_start_s"]).to_numpy(dtype=float)
    names = [c.removeprefix("capacity_") for c in ts.columns if c.startswith("capacity_")]
    for k, name in enumerate(names):
        color = f"C{k}"
        ax.plot(x, ts[f"offered_{name}"] / seconds, color=color, lw=1.5, label=f"{name}: offered")
        ax.plot(x, ts[f"carried_{name}"] / seconds, color=color, lw=1, alpha=0.6, label=f"{name}: carried")
        ax.plot(x, ts[f"capacity_{name}"] / seconds, color=color, lw=1.5, ls="--", label=f"{name}: capacity")
    ax.set_title(f"{_scenario(results)}: signalling load against capacity")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("messages / s")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _calls(results: PlotResults, ax: Axes) -> None:
    """Share of voice call attempts that failed, per bin."""
    ts = results.timeseries
    x, xlabel = _time_axis(ts)
    attempts = ts["call_attempts"].to_numpy(dtype=float)
    ratio = np.divide(ts["call_failures"].to_numpy(dtype=float), attempts, out=np.zeros_like(attempts),
                      where=attempts > 0)
    ax.bar(x, 100 * ratio, width=float(np.diff(x).min()) * 0.9 if len(x) > 1 else 1.0, color="tab:red",
           label="failed call attempts")
    total = results.summary["calls"]
    ax.set_title(f"{_scenario(results)}: voice call failures "
                 f"({total['failed']:,} of {total['attempts']:,}, {100 * total['failure_ratio']:.1f}%)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("failed calls (% of attempts in the bin)")
    ax.set_ylim(0, max(5.0, 100 * float(ratio.max()) * 1.15))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")


def _mark_events(results: PlotResults, ax: Axes) -> None:
    """Shade each server outage and mark each mid-run change, in the plot's time unit."""
    ts = results.timeseries
    x, _ = _time_axis(ts)
    mid = ((ts["t_start_s"] + ts["t_end_s"]) / 2).to_numpy(dtype=float)
    scale = float(x[-1] / mid[-1]) if len(mid) and mid[-1] else 1.0
    events = results.summary.get("events", [])
    for event in events:
        if event["kind"] == "server_outage":
            retry = event["retry"]["policy"] + (" + jitter" if event["retry"]["jitter"] else "")
            ax.axvspan(event["start_s"] * scale, event["end_s"] * scale, color="grey", alpha=0.15,
                       label=f"{event['app']} server outage ({retry} retry)")
        elif "start_s" in event:  # an overload control or a RAN outage
            what = {"access_barring": lambda e: f"access barring ({100 * e['barred_share']:.0f}%)",
                    "core_overload": lambda e: "core overload",
                    "ran_outage": lambda e: f"{e['node']} outage"}[event["kind"]](event)
            ax.axvspan(event["start_s"] * scale, event["end_s"] * scale, color="tab:orange", alpha=0.12, label=what)
        else:
            what = {"heartbeat_change": lambda e: f"{e['app']} heartbeat -> {e['interval_s']:g} s",
                    "nat_change": lambda e: f"NAT timeout -> {e['nat_timeout_s']} s",
                    "core_restart": lambda e: f"{e['node']} restart ({e['reattach'].replace('_', '-')} re-attach"
                                              f"{', T3346 back-off' if e['backoff'] else ''})"}[event["kind"]](event)
            ax.axvline(event["at_s"] * scale, color="grey", ls=":", lw=1.5, label=what)
    if events:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))


def literal(name: str) -> str:
    """A user's name (app, axis, case) as plot text that shows as typed: escapes written out, and
    ``$`` escaped so matplotlib does not read it as mathtext."""
    return printable(name).replace("$", r"\$")
