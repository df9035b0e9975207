"""A sweep's ``report.html``: the range each metric spans over the points, the plots, and the
table of points with their axes (the mean and 95 % confidence interval over the replications)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.outputs.headline import Fact, Figure, integer, percent
from sim.outputs.html import Image, Page, Section, Table, folder_files
from sim.sweep.plots import METRICS, OPTIONAL
from sim.sweep.spec import Sweep
from sim.sweep.table import mean_ci
from sim.sweep.tradeoff import PLOT as TRADEOFF_PLOT, tradeoff_table

MAX_ROWS = 1000  # points shown in the table; results.parquet has them all
HEADLINE = ("signalling.messages_per_device_hour", "calls.failure_ratio")  # metrics whose range the page opens with


def sweep_page(sweep: Sweep, table: pd.DataFrame, plots: list[Path], folder: Path) -> Page:
    """The page of a sweep whose table is ``table`` and whose plots (in ``folder``) are ``plots``."""
    spec = sweep.spec
    axes = [axis.column for axis in spec.axes]
    ok = table[table["status"] == "ok"] if len(table) else table
    failed = table[table["status"] == "failed"] if len(table) else table
    metrics = [m for m in METRICS if m in ok and (m not in OPTIONAL or ok.get(OPTIONAL[m], pd.Series(0)).any())]
    means = {m: mean_ci(ok, axes, m) for m in metrics} if len(ok) else {}
    name = Path(sweep.source).stem
    subtitle = (f"{spec.points():,} points × {spec.replications} replications of {sweep.base.scenario.name} "
                f"({spec.mode}, seed {spec.seed}): {len(table):,} runs, {len(failed):,} failed")
    runs = Fact("runs", Figure((), len(ok), integer(len(ok))), "runs finished",
                (("{} failed", Figure((), len(failed), integer(len(failed)))),))
    trade_plots = [p for p in plots if p.name == TRADEOFF_PLOT]
    plots = [p for p in plots if p.name != TRADEOFF_PLOT]
    sections = [
        Section("Axes", (), (Table(("axis", "sets", "values"), tuple(
            (axis.column, ", ".join(axis.paths()), ", ".join(str(v) for v in axis.levels())) for axis in spec.axes)),)),
        *_tradeoff(sweep, table, trade_plots, folder),
        Section("Plots", ("Each metric against each axis: the mean over the replications of each point and its "
                          "95 % confidence band, one line per value of the next axis.",),
                images=tuple(Image.read(p, p.stem.replace("--", " against "), folder) for p in plots))
        if plots else Section("Plots", ("Not written (--no-plots, or no run finished).",)),
        _points(axes, metrics, means),
        *_failures(failed),
        Section("Sweep file", (f"{sweep.source}, base scenario {sweep.base_path}.",),
                preformatted=Path(sweep.source).read_text(encoding="utf-8"), folded=True),
    ]
    told = [m for m in metrics if m in HEADLINE]
    return Page("sweep", name, subtitle, (runs, *(f for m in told for f in _extremes(m, axes, means[m]))),
                tuple(sections), files=folder_files(folder))


def _extremes(metric: str, axes: list[str], stats: pd.DataFrame) -> list[Fact]:
    """The points with the lowest and the highest mean of ``metric``."""
    if stats.empty:
        return []
    facts = []
    for word, row in (("lowest", stats.loc[stats["mean"].idxmin()]), ("highest", stats.loc[stats["mean"].idxmax()])):
        where = ", ".join(f"{a} = {row[a]}" for a in axes)
        facts.append(Fact(f"{word}:{metric}", Figure((), float(row["mean"]), _value(metric, row["mean"])),
                          f"{word} mean {METRICS[metric]}", (("at {}", Figure((), None, where)),)))
    return facts


def _points(axes: list[str], metrics: list[str], means: dict[str, pd.DataFrame]) -> Section:
    if not metrics:
        return Section("Results by point", ("No run finished.",))
    first = means[metrics[0]]
    rows = []
    for k in range(min(len(first), MAX_ROWS)):
        cells = [str(first.iloc[k][a]) for a in axes] + [integer(first.iloc[k]["n"])]
        for m in metrics:
            r = means[m].iloc[k]
            cells.append(f"{_value(m, r['mean'])} ({_value(m, r['low'])} – {_value(m, r['high'])})"
                         if r["n"] > 1 else _value(m, r["mean"]))
        rows.append(tuple(cells))
    more = f" The first {MAX_ROWS:,} of {len(first):,} points; results.parquet has every run." \
        if len(first) > MAX_ROWS else " results.parquet has every run."
    return Section("Results by point", ("Per point: the finished runs, and each metric's mean over them with its "
                                        "95 % confidence interval (Student t)." + more,),
                   (Table((*axes, "runs", *(METRICS[m] for m in metrics)), tuple(rows),
                          (False,) * len(axes) + (True,) * (1 + len(metrics))),))


def _tradeoff(sweep: Sweep, table: pd.DataFrame, plots: list[Path], folder: Path) -> list[Section]:
    """With a ``[tradeoff]``: each case's savings against the baseline and its costs (``tradeoff.csv``), and
    its plot (``plots``, in ``folder``)."""
    trade = sweep.spec.tradeoff
    frame = tradeoff_table(table, trade) if trade is not None else pd.DataFrame()
    if frame.empty:
        return []
    by = [trade.by] if trade.by else []
    rows = tuple((*(str(r[c]) for c in [*by, trade.axis]), f"{r['messages_per_device_hour']:.1f}",
                  percent(r["signalling_saved"]), f"{r['busiest_node']} {r['busiest_peak_per_s']:.3g}",
                  percent(r["peak_saved"]), _value("", r["delivery_p95_s"]), _value("", r["message_p95_s"]),
                  percent(r["message_share_delayed"]), f"{r['battery_life_h']:.1f}") for _, r in frame.iterrows())
    columns = (*by, trade.axis, "messages per device-hour", "saved", "busiest node's peak per s", "peak saved",
               "p95 delivery delay (s)", "messages' p95 (s)", "messages delayed", "battery life (h)")
    return [Section("Trade-off", (f"Each case against {trade.baseline}" + (f" at the same {trade.by}" if by else "")
                                  + ": signalling saved, and what it costs in delivery delay and battery life "
                                  "(means over the replications; tradeoff.csv).",),
                    (Table(columns, rows, (False,) * (len(by) + 1) + (True,) * 8),),
                    images=tuple(Image.read(p, "signalling saved against the messages' p95 delivery delay", folder)
                                 for p in plots))]


def _failures(failed: pd.DataFrame) -> list[Section]:
    if failed.empty:
        return []
    rows = tuple((str(r.point), str(r.replication), str(r.run_id), str(r.error)) for r in failed.itertuples())
    return [Section("Failed runs", ("Rerunning the sweep into this folder tries them again.",),
                    (Table(("point", "replication", "run id", "error"), rows[:MAX_ROWS],
                           failed=frozenset(range(min(len(rows), MAX_ROWS)))),))]


def _value(metric: str, value: float) -> str:
    if metric == "calls.failure_ratio":
        return percent(value)
    return f"{float(value):,.0f}" if abs(float(value)) >= 1000 else f"{float(value):.4g}"
