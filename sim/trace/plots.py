"""A trace's plots: the RRC state timeline under the packet train (ARO's diagnostic view), and
radio energy by state and by flow. Figures on an Agg canvas, as ``sim.outputs.plots``."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.outputs.plots import DPI, literal
from sim.trace.run import TraceRun

MAX_FLOWS_SHOWN = 12  # flows drawn in their own colour; the rest as "other flows"


def write_trace_plots(run: TraceRun, directory: Path) -> list[Path]:
    """Write ``timeline.png`` and ``energy.png`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, plot, size in (("timeline.png", _timeline, (11, 5)), ("energy.png", _energy, (11, 4.5))):
        fig = Figure(figsize=size, dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        try:
            plot(run, fig)
            fig.savefig(directory / name, format="png")
            written.append(directory / name)
        finally:
            fig.clear()
    return written


def _title(run: TraceRun) -> str:
    return literal(Path(str(run.summary["capture"].get("file", "capture"))).name) + f" on {run.summary['radio']}"


def _timeline(run: TraceRun, fig: Figure) -> None:
    packets, states = run.packets, run.states
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    flows = list(dict.fromkeys(packets.flow))
    for k, flow in enumerate(flows[:MAX_FLOWS_SHOWN]):
        mine = packets[packets.flow == flow]
        sign = np.where(mine.direction == "up", 1, -1)
        top.vlines(mine.t_s, 0, sign * mine.ip_bytes, color=f"C{k % 10}", lw=1.2, label=literal(flow))
    rest = packets[~packets.flow.isin(flows[:MAX_FLOWS_SHOWN])]
    if len(rest):
        top.vlines(rest.t_s, 0, np.where(rest.direction == "up", 1, -1) * rest.ip_bytes, color="grey", lw=1,
                   label=f"{len(flows) - MAX_FLOWS_SHOWN} other flows")
    top.axhline(0, color="black", lw=0.6)
    top.set_ylabel("IP bytes (up +, down -)")
    top.set_title(f"{_title(run)}: packets and the RRC state they meet")
    top.grid(alpha=0.3)
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", title="flow", title_fontsize="small")
    rows = {s: i for i, s in enumerate(run.state_names)}
    for i, state in enumerate(run.state_names):
        mine = states[states.state == state]
        steady = mine[mine.phase != "promotion"]
        bottom.broken_barh(list(zip(steady.start_s, steady.end_s - steady.start_s)), (i - 0.4, 0.8),
                           color=f"C{i}", label=state)
        promo = mine[mine.phase == "promotion"]
        if len(promo):
            bottom.broken_barh(list(zip(promo.start_s, promo.end_s - promo.start_s)), (i - 0.4, 0.8),
                               facecolor="white", edgecolor=f"C{i}", hatch="////", label=f"promotion to {state}")
    bottom.set_yticks(list(rows.values()), list(rows))
    bottom.set_ylim(-0.6, len(rows) - 0.4)
    bottom.set_xlabel("time since the first packet (s)")
    bottom.set_xlim(0, max(float(run.summary["end_s"]), 1e-3))
    bottom.grid(axis="x", alpha=0.3)
    bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")


def _energy(run: TraceRun, fig: Figure) -> None:
    energy, states = run.summary["energy"], run.states
    left, right = fig.subplots(1, 2)
    x = np.arange(len(run.state_names))
    promo = states.phase == "promotion"
    steady = [float(states.energy_j[~promo & (states.state == s)].sum()) for s in run.state_names]
    promoting = [float(states.energy_j[promo & (states.state == s)].sum()) for s in run.state_names]
    colors = [f"C{i}" for i in range(len(x))]
    left.bar(x, steady, color=colors)
    left.bar(x, promoting, bottom=steady, facecolor="white", edgecolor=colors, hatch="////",
             label="promotions to the state")
    left.legend(loc="upper left", fontsize="small")
    left.set_xticks(x, run.state_names)
    left.set_ylabel("radio energy (J)")
    left.set_title(f"by RRC state ({energy['radio_j']:.1f} J in all)")
    left.grid(axis="y", alpha=0.3)
    by_flow = sorted(energy["radio_j_by_flow"].items(), key=lambda kv: -kv[1])
    shown = by_flow[:MAX_FLOWS_SHOWN] + ([("other flows", sum(v for _, v in by_flow[MAX_FLOWS_SHOWN:]))]
                                         if len(by_flow) > MAX_FLOWS_SHOWN else [])
    right.barh(np.arange(len(shown)), [v for _, v in shown], color="tab:red")
    right.set_yticks(np.arange(len(shown)), [literal(k) for k, _ in shown], fontsize="small")
    right.invert_yaxis()
    right.set_xlabel("radio energy (J)")
    right.set_title("by flow (from its promotions to their releases)")
    right.grid(axis="x", alpha=0.3)
    fig.suptitle(f"{_title(run)}: where the radio energy goes")
