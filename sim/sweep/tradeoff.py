"""A sweep's trade-off (``[tradeoff]`` in the sweep file): what each case of an axis of cases saves
against a baseline case, and what it costs in delivery delay and battery life.

Per value of ``by`` (or once, without it) and per case, means over the case's finished runs:
signalling messages per device-hour and the share saved against the baseline's; the busiest node
(the highest mean peak per second over the nodes) and its peak, saved likewise; the p95 delivery
delay of heartbeats and messages, and the p95, mean and share delayed beyond the threshold of the
users' messages alone (``summary.json`` ``delivery``, ``delivery.by_kind.messages``: an OS deferring a
heartbeat keeps no user waiting); the battery life. The plot shows the messages' p95. A case that changes nothing where it is run (a UMTS timer on an NR network) has the
baseline's figures: it stays in the table and is left out of the plot's series.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.outputs.plots import DPI, literal
from sim.sweep.spec import Tradeoff

PEAK = "signalling.peak_per_s."
MESSAGES = "delivery.by_kind.messages."  # the users' messages, not the heartbeats
MEANS = {"messages_per_device_hour": "signalling.messages_per_device_hour", "delivery_p95_s": "delivery.p95_s",
         "message_p95_s": f"{MESSAGES}p95_s", "message_mean_s": f"{MESSAGES}mean_s",
         "message_share_delayed": f"{MESSAGES}share_delayed", "battery_life_h": "battery.life_h"}
LABEL_GAP, LABEL_OFFSET = 0.03, 1.15  # labels: the least gap, a share of the height; to the right, a factor in delay
DELAY_FLOOR_S = 0.01  # the plot's delay axis is logarithmic: a p95 below this (a radio always connected) shows here
PLOT = "tradeoff.png"  # in the sweep's plots/


def tradeoff_table(table: pd.DataFrame, trade: Tradeoff) -> pd.DataFrame:
    """One row per (``by`` value,) case, in the sweep's point order (see the module docstring)."""
    ok = table[table["status"] == "ok"] if "status" in table else table.iloc[0:0]
    by = [trade.by] if trade.by else []
    peaks = [c for c in ok if c.startswith(PEAK)]
    rows = []
    for key, group in ok.groupby([*by, trade.axis], sort=False):
        node_peaks = group[peaks].astype(float).mean()  # per node over the runs (NaN: a node of another radio)
        busiest = str(node_peaks.idxmax())
        rows.append(dict(zip([*by, trade.axis], key)) | {"runs": len(group)}
                    | {name: float(group[col].astype(float).mean()) for name, col in MEANS.items()}
                    | {"busiest_node": busiest[len(PEAK):], "busiest_peak_per_s": float(node_peaks.max())})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    base = frame[frame[trade.axis] == trade.baseline].set_index(by or [trade.axis])
    at = (lambda col: frame[by[0]].map(base[col])) if by else (lambda col: float(base[col].iloc[0]))
    frame["signalling_saved"] = 1.0 - frame["messages_per_device_hour"] / at("messages_per_device_hour")
    frame["peak_saved"] = 1.0 - frame["busiest_peak_per_s"] / at("busiest_peak_per_s")
    return frame[[*by, trade.axis, "runs", "messages_per_device_hour", "signalling_saved", "busiest_node",
                  "busiest_peak_per_s", "peak_saved", "delivery_p95_s", "message_p95_s", "message_mean_s",
                  "message_share_delayed", "battery_life_h"]]


def write_tradeoff_plot(frame: pd.DataFrame, trade: Tradeoff, path: Path) -> Path | None:
    """Signalling saved against the messages' p95 delivery delay, a series per ``by`` value, each point named
    with its battery life; None when no run finished."""
    if frame.empty:
        return None
    fig = Figure(figsize=(11, 7), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    try:
        ax = fig.add_subplot()
        labels: list[tuple[float, float, str, Any]] = []  # x, y, text, colour
        series = list(dict.fromkeys(frame[trade.by])) if trade.by else [None]
        for k, value in enumerate(series):
            rows = frame[frame[trade.by] == value] if trade.by else frame
            base = rows[rows[trade.axis] == trade.baseline]
            same = ((rows["messages_per_device_hour"] == base["messages_per_device_hour"].iloc[0])
                    & (rows["delivery_p95_s"] == base["delivery_p95_s"].iloc[0]) & (rows[trade.axis] != trade.baseline))
            rows = rows[~same]
            x = np.maximum(rows["message_p95_s"].to_numpy(), DELAY_FLOOR_S)
            y = 100.0 * rows["signalling_saved"].to_numpy()
            drawn = ax.scatter(x, y, s=40, marker="os^Dv"[k % 5], label=literal(str(value)) if trade.by else None,
                               zorder=3)
            labels += [(xi, yi, literal(f"{case} ({life:.0f} h)"), drawn.get_facecolor()[0])
                       for case, xi, yi, life in zip(rows[trade.axis], x, y, rows["battery_life_h"])]
        ys = [y for _, y, _, _ in labels]
        for (xi, yi, text, colour), at in zip(labels, _spread(labels, LABEL_GAP * (max(ys) - min(ys) or 1.0))):
            ax.annotate(text, (xi, yi), xytext=(xi * LABEL_OFFSET, at), textcoords="data", fontsize="x-small",
                        color=colour, va="center",
                        arrowprops={"arrowstyle": "-", "lw": 0.4, "color": colour} if at != yi else None)
        ax.axhline(0.0, color="grey", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel(f"p95 delivery delay of the users' messages (s, log scale; below {DELAY_FLOOR_S:g} s "
                      "shown there)")
        ax.set_ylabel(f"signalling saved against {literal(trade.baseline)} (% of messages per device-hour)")
        ax.set_title("What each case saves and what it costs: battery life in brackets", fontsize="medium")
        ax.grid(alpha=0.3)
        if trade.by:
            ax.legend(title=literal(trade.by), fontsize="small")
        fig.savefig(path, format="png")
    finally:
        fig.clear()
    return path


def _spread(labels: list[tuple[float, float, str, Any]], gap: float) -> list[float]:
    """Each label's height: its point's, pushed up until labels beside one another (their points within a
    quarter decade of delay) are ``gap`` apart."""
    out = [y for _, y, _, _ in labels]
    clusters: dict[int, list[int]] = {}
    for i, (x, _, _, _) in enumerate(labels):
        clusters.setdefault(round(4.0 * math.log10(x)), []).append(i)
    for members in clusters.values():
        last = -math.inf
        for i in sorted(members, key=lambda i: out[i]):
            out[i] = max(out[i], last + gap)
            last = out[i]
    return out
