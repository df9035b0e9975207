"""Run a sweep's runs on local worker processes or an executor (a Dask client's), keeping each
finished run as soon as it finishes, and assemble the table and plots from what is kept.

Resuming: runs whose record (``points/<run id>.json``) says ``ok`` are skipped; failed runs are
tried again (their error may have been passing, e.g. a lost worker). A run's record is written
only after its run folder (``--keep-runs``), so a record always means the run is complete.
"""
from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, as_completed
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.api import provenance, simulate
from sim.errors import ScenarioError
from sim.metrics import Results
from sim.outputs.files import RUN, write_results
from sim.outputs.folders import Layout, prepare_folder
from sim.outputs.html import write_page
from sim.scenario import resolve
from sim.scenario.schema import DeviceTable
from sim.sweep.points import Run, expand
from sim.sweep.spec import Sweep
from sim.sweep.store import PointStore, Record, write_atomic
from sim.sweep.table import build_table, flatten
from sim.workers import process_pool

TABLE = "results.parquet"
TRADEOFF = "tradeoff.csv"  # with a [tradeoff]: sim.sweep.tradeoff
SWEEP = Layout("sweep", ("points",), (TABLE, "results.csv", "report.html", f".{TABLE}.*.tmp", ".results.csv.*.tmp",
                                     ".report.html.*.tmp", "points/*.json", "points/.*.tmp", "plots/*.png",
                                     TRADEOFF, f".{TRADEOFF}.*.tmp", "plots/.*.png.*.tmp"),
               children=(("runs", RUN),))
Kept = tuple[Results, str, DeviceTable] | None  # a run's results, resolved scenario and device table, when kept


@dataclass(frozen=True)
class SweepReport:
    """What one ``run_sweep`` call did."""

    runs: int  # in the sweep
    ran: int  # run by this call
    skipped: int  # already finished in the output directory
    failed: int  # in the table, failed
    table: Path
    plots: list[Path]
    report: Path  # report.html


def execute(base_data: dict[str, Any], source: str, run: Run, keep: bool) -> tuple[Record, Kept]:
    """Validate and simulate one run; an impossible value or an engine error becomes a failed record."""
    start = time.perf_counter()
    try:
        rs = resolve(copy.deepcopy(base_data), source, run.overrides, run.seed)
        results = simulate(rs)
    except ScenarioError as exc:
        return _failed(run, "; ".join(str(p) for p in exc.problems), time.perf_counter() - start), None
    except Exception as exc:  # one failed point must not stop the sweep; its error is recorded
        return _failed(run, f"{type(exc).__name__}: {exc}", time.perf_counter() - start), None
    wall_s = time.perf_counter() - start
    record = {"run_id": run.run_id, "status": "ok", "error": "", "wall_time_s": round(wall_s, 3),
              "metrics": flatten(results.summary)}
    return record, (results, rs.to_toml(provenance(wall_s)), rs.scenario.outputs.devices) if keep else None


def _failed(run: Run, error: str, wall_s: float) -> Record:
    return {"run_id": run.run_id, "status": "failed", "error": error, "wall_time_s": round(wall_s, 3), "metrics": {}}


def run_sweep(sweep: Sweep, out_dir: str | Path, *, workers: int = 1, executor: Executor | None = None,
              keep_runs: bool = False, csv: bool = False, plots: bool = True,
              progress: Callable[[int, int], None] | None = None) -> SweepReport:
    """Run every unfinished run of ``sweep`` into ``out_dir`` and write ``results.parquet`` (and
    ``results.csv`` with ``csv``), ``plots/`` and ``report.html``.

    ``executor`` (e.g. ``client.get_executor()`` of a Dask client) runs them if given; else
    ``workers`` > 1 local processes, or this process. ``progress(done, total)`` after each run."""
    out_dir = prepare_folder(out_dir, SWEEP)
    store = PointStore(out_dir)
    store.open()
    runs = expand(sweep)
    finished = {i for i, r in store.load({r.run_id for r in runs}).items() if r["status"] == "ok"}
    todo = list({r.run_id: r for r in runs if r.run_id not in finished}.values())
    done = len(runs) - len(todo)
    if progress is not None:
        progress(done, len(runs))
    with ExitStack() as stack:
        if executor is None and workers > 1 and len(todo) > 1:
            executor = stack.enter_context(process_pool(min(workers, len(todo)), "sim.sweep.runner"))
        for record, kept in _results(executor, sweep, todo, keep_runs):
            if kept is not None:
                results, resolved_toml, devices = kept
                write_results(results, resolved_toml, out_dir / "runs" / record["run_id"], devices=devices)
            store.save(record)
            done += 1
            if progress is not None:
                progress(done, len(runs))
    table = build_table(runs, store.load({r.run_id for r in runs}))
    path = write_atomic(out_dir / TABLE, lambda tmp: table.to_parquet(tmp, index=False))
    if csv:
        write_atomic(out_dir / "results.csv", lambda tmp: table.to_csv(tmp, index=False))
    # the plots and the page are this process's last step: imported here, matplotlib stays out of the
    # workers, whose forkserver preloads this module
    from sim.sweep.page import sweep_page
    from sim.sweep.plots import write_sweep_plots
    from sim.sweep.tradeoff import PLOT, tradeoff_table, write_tradeoff_plot

    axes = [axis.column for axis in sweep.spec.axes]
    written = write_sweep_plots(table, axes, out_dir / "plots", zipped=sweep.spec.mode == "zip") if plots else []
    trade = sweep.spec.tradeoff
    if trade is not None:
        frame = tradeoff_table(table, trade)
        write_atomic(out_dir / TRADEOFF, lambda tmp: frame.to_csv(tmp, index=False))
        if plots and not frame.empty:
            (out_dir / "plots").mkdir(exist_ok=True)
            written.append(write_atomic(out_dir / "plots" / PLOT,
                                        lambda tmp: write_tradeoff_plot(frame, trade, tmp)))
    page = write_atomic(out_dir / "report.html",
                        lambda tmp: write_page(sweep_page(sweep, table, written, out_dir), tmp))
    return SweepReport(len(runs), len(todo), len(runs) - len(todo), int((table["status"] == "failed").sum()),
                       path, written, page)


def _results(executor: Executor | None, sweep: Sweep, todo: list[Run], keep: bool) -> Iterator[tuple[Record, Kept]]:
    """(record, kept) of each run, in the order they finish; a run whose worker was lost is failed."""
    source = str(sweep.base_path)
    if executor is None:
        for run in todo:
            yield execute(sweep.base_data, source, run, keep)
        return
    futures: dict[Future[tuple[Record, Kept]], Run] = {
        executor.submit(execute, sweep.base_data, source, run, keep): run for run in todo}
    for future in as_completed(futures):
        try:
            yield future.result()
        except Exception as exc:  # the worker died (out of memory, killed): record it, go on
            yield _failed(futures[future], f"{type(exc).__name__}: {exc}", 0.0), None
