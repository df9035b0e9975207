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
from sim.outputs import headline, html
from sim.outputs.plots import DPI
from sim.validation.runner import Validation
from sim.validation.table import Curve, Row

HEADERS = ("case", "quantity", "engine", "expected", "source", "simulated", "rel. error", "tolerance", "pass")
VALIDATION = Layout("validation", ("validation.csv", "validation.md"),
                    ("validation.csv", "validation.md", "plots/*.png", "report.html"))
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
    """``validation.csv`` (its label columns after the fixed ones), ``validation.md``,
    ``plots/<case>.png`` and ``report.html``, written atomically."""

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
        html.write_page(validation_page(validation, tmp), tmp / "report.html")

    return write_directory(out_dir, VALIDATION, fill)


def validation_page(validation: Validation, folder: Path) -> html.Page:
    """The page of a validation whose plots are in ``folder/plots``: how many checks passed, then
    every check with its expected value and source, failures marked, then the curves."""
    rows = validation.rows
    failed = [i for i, r in enumerate(rows) if not r.passed]
    cases, failed_cases = (list(dict.fromkeys(rows[i].case for i in among)) for among in (range(len(rows)), failed))
    passed = len(rows) - len(failed)
    facts = (headline.Fact("checks", headline.Figure((), passed, f"{passed} of {len(rows)}"), "checks passed",
                           (("cases run: {}", headline.Figure((), len(cases), str(len(cases)))),)),
             headline.Fact("failed", headline.Figure((), len(failed), str(len(failed))), "checks failed",
                           (("in {}", headline.Figure((), None, ", ".join(failed_cases))),) if failed else ()))
    numeric = tuple(h in ("expected", "simulated", "rel. error") for h in HEADERS)
    table = html.Table(HEADERS, tuple(cells(r) for r in rows), numeric, failed=frozenset(failed))
    images = tuple(html.Image.read(folder / "plots" / f"{c.case}.png", c.title, folder) for c in validation.curves)
    sections = (html.Section("Every check", (
        "Each quantity simulated against a value the code did not produce: a closed form, a hand count or a "
        "published measurement (source), within a tolerance derived from the variance. docs/validation.md "
        "derives each.",), (table,)),
        html.Section("Curves", ("Simulated points per engine over the closed form.",), images=images))
    return html.Page("validation", "signalsim validation", summary_line(validation), facts, sections,
                     files=html.folder_files(folder))


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
