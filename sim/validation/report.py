"""The validation table as a terminal table, CSV, Markdown, and one PNG per curve.

Figures are built on an Agg canvas without pyplot, as in ``sim.outputs.plots``.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from rich import box
from rich.table import Table

from sim.outputs.folders import Layout, write_directory
from sim.outputs.plots import DPI
from sim.validation.runner import Validation
from sim.validation.table import Curve, Row

HEADERS = ("case", "quantity", "engine", "expected", "source", "simulated", "rel. error", "tolerance", "pass")
VALIDATION = Layout("validation", ("validation.csv", "validation.md"),
                    ("validation.csv", "validation.md", "plots/*.png"))
CSV_HEADERS = ("case", "quantity", "engine", "expected", "source", "simulated", "rel_error", "tolerance",
               "tolerance_basis", "passed")


def _num(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.6g}"


def _pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:.2g} %"


def cells(row: Row) -> tuple[str, ...]:
    """The row as printed: numbers to 6 significant digits, errors and tolerances in percent, the
    labels after the quantity (``collision_probability (model=2, devices=30000)``)."""
    tolerance = row.basis if math.isnan(row.tolerance) else f"{_pct(row.tolerance)} ({row.basis})"
    where = f" ({', '.join(f'{k}={v}' for k, v in row.labels)})" if row.labels else ""
    return (row.case, row.quantity + where, row.engine, _num(row.expected), row.source, _num(row.simulated),
            _pct(row.rel_error), tolerance, "pass" if row.passed else "FAIL")


def summary_line(validation: Validation) -> str:
    failed = sum(not r.passed for r in validation.rows)
    return (f"{len(validation.rows) - failed} of {len(validation.rows)} checks passed"
            f"{f', {failed} FAILED' if failed else ''} ({validation.wall_s:.0f} s)")


def rich_table(validation: Validation) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="signalsim validation", title_justify="left")
    for header in HEADERS:
        table.add_column(header, justify="right" if header in ("expected", "simulated", "rel. error") else "left",
                         overflow="fold")
    for row in validation.rows:
        text = cells(row)
        table.add_row(*text[:-1], text[-1] if row.passed else f"[bold red]{text[-1]}")
    return table


def markdown(validation: Validation) -> str:
    """The table in Markdown, for docs/validation.md."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in cells(r)) + " |" for r in validation.rows]
    return "\n".join(lines) + f"\n\n{summary_line(validation)}\n"


def write_validation(validation: Validation, out_dir: Path) -> Path:
    """``validation.csv`` (its label columns after the fixed ones), ``validation.md`` and
    ``plots/<case>.png``, written atomically."""

    # one column per label any row has (``model``, ``devices``), empty in the rows without it
    labels = list(dict.fromkeys(k for r in validation.rows for k, _ in r.labels))

    def fill(tmp: Path) -> None:
        with open(tmp / "validation.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow((*CSV_HEADERS, *labels))
            for r in validation.rows:
                where = dict(r.labels)
                writer.writerow([r.case, r.quantity, r.engine, r.expected, r.source, r.simulated, r.rel_error,
                                 r.tolerance, r.basis, r.passed, *(where.get(k, "") for k in labels)])
        (tmp / "validation.md").write_text(markdown(validation), encoding="utf-8")
        (tmp / "plots").mkdir()
        for curve in validation.curves:
            plot_curve(curve, tmp / "plots" / f"{curve.case}.png")

    return write_directory(out_dir, VALIDATION, fill)


def plot_curve(curve: Curve, path: Path) -> None:
    """Simulated points per engine over the closed-form line, with the case's marks."""
    fig = Figure(figsize=(8, 5), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(curve.theory_x, curve.theory_y, color="black", linewidth=1.2, label=curve.theory_label)
    for (engine, (xs, ys)), marker in zip(curve.points.items(), ("o", "x", "s")):
        ax.plot(xs, ys, linestyle="none", marker=marker, markersize=7, fillstyle="none", label=f"simulated ({engine})")
    for i, (x, label) in enumerate(curve.marks):  # labels on alternate sides: marks may stand close together
        ax.axvline(x, color="grey", linestyle=":", linewidth=1)
        ax.annotate(label, (x, 0.98), xycoords=("data", "axes fraction"), rotation=90, va="top",
                    ha="left" if i % 2 else "right", fontsize=8, color="grey")
    if curve.log_x:
        ax.set_xscale("log")
    ax.set(title=curve.title, xlabel=curve.x_label, ylabel=curve.y_label)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path, format="png")
