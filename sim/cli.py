"""The ``signalsim`` command line. Library errors become one-line messages and exit codes here."""
from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from concurrent.futures import Executor
from functools import cached_property
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, get_args

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from sim.cluster import ClusterError, connect
from sim.errors import ScenarioError
from sim.errors import printable
from sim.outputs.folders import Layout, OutputError, check_target
from sim.outputs.tables import CSV_MAX_DEVICES

# Each command imports what it runs when it runs (start-up, docs/performance.md): `signalsim --help`
# loads none of the engines, `run` neither SimPy (on the fast engine) nor matplotlib (with --no-plots).
if TYPE_CHECKING:
    from sim.scenario.schema import Scenario


class LazyChoice(click.Choice):
    """A ``click.Choice`` over values held by a module imported only once they are needed (the
    command's options parsed or its help shown), not when the command group is built."""

    def __init__(self, module: str, values: Callable[[Any], Iterable[str]]) -> None:
        self._module, self._values = module, values  # no super().__init__(): it would read the values now
        self.case_sensitive = True

    @cached_property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self._values(import_module(self._module)))


class LazyDefault:
    """An option's default held by a module imported once it is needed; the help shows its value."""

    def __init__(self, module: str, name: str) -> None:
        self._module, self._name = module, name

    def __call__(self) -> Any:
        return getattr(import_module(self._module), self._name)

    def __str__(self) -> str:
        return str(self())


EXIT_BAD_INPUT = 2
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2: a bare group's help
EXIT_INTERRUPTED, EXIT_TERMINATED = 128 + signal.SIGINT, 128 + signal.SIGTERM  # the shell's convention
SCHEDULER_HELP = ("Run on an existing Dask cluster: its scheduler's address (tcp://host:port) or scheduler file "
                  "(needs the dask extra).")


class Commands(click.Group):
    """The command group, run without click's standalone mode (which turns Ctrl-C into ``Aborted!``,
    exit 1, and usage errors into three lines): a usage error is one line, ``error: --seed: message``,
    exit 2; Ctrl-C is ``interrupted``, exit 130; SIGTERM (:class:`Terminated`) the same, exit 143.
    Commands' ``sys.exit`` codes pass through unchanged."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102 (click's own)
        if not kwargs.get("standalone_mode", True):
            return super().main(*args, **kwargs)
        try:
            code = super().main(*args, **{**kwargs, "standalone_mode": False})
        except (KeyboardInterrupt, click.Abort):  # click turns KeyboardInterrupt into Abort
            _interrupted(EXIT_INTERRUPTED)
        except Terminated:
            _interrupted(EXIT_TERMINATED)
        except click.ClickException as exc:
            _usage_error(exc)
        # click returns ctx.exit's code (--help, --version) or else the command's return value (None)
        sys.exit(code if isinstance(code, int) else 0)


def usage_line(exc: click.ClickException) -> str:
    """Where and what of a usage error: ``--seed: -1 is not in the range x>=0.``, on one line."""
    param = getattr(exc, "param", None)
    if isinstance(exc, click.BadOptionUsage) and not isinstance(exc, click.NoSuchOption):
        where, message = exc.option_name, exc.format_message()
    elif isinstance(exc, click.NoSuchOption):
        where, message = exc.option_name, "no such option" + (
            f" (did you mean {' or '.join(exc.possibilities)}?)" if exc.possibilities else "")
    elif param is not None:
        where = param.opts[0] if isinstance(param, click.Option) else param.human_readable_name
        message = exc.message if isinstance(exc, click.BadParameter) else exc.format_message()
    else:
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "signalsim"
        message = exc.format_message()
    return printable(f"{where}: {message}")


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="signalsim")
def cli() -> None:
    """Simulate the signalling load that IM heartbeats put on a mobile carrier's control plane."""


@cli.command()
@click.argument("scenario", required=False, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output directory [default: results/<scenario name>/].")
@click.option("--seed", type=click.IntRange(min=0), help="Replace simulation.seed.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario value, e.g. --set simulation.duration_s=600 (repeatable).")
@click.option("--engine", type=click.Choice(["auto", "des", "fast"]),
              help="Replace simulation.engine: des (SimPy, event by event), fast (vectorised: open loop and "
                   "feedback per device) or auto (fast unless the control plane pushes back).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes for a fast-engine run, split by device chunks (the results are identical).")
@click.option("--scheduler", metavar="ADDRESS", help=SCHEDULER_HELP + " Replaces --workers.")
@click.option("--devices", "device_table", type=LazyChoice("sim.scenario.schema", lambda m: get_args(m.DeviceTable)),
              help=f"Replace outputs.devices, the per-device table's format: auto (CSV up to {CSV_MAX_DEVICES:,} "
                   "devices, Parquet above), csv, parquet or none.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or terminal summary.")
def run(scenario: Path | None, out_dir: Path | None, seed: int | None, overrides: tuple[str, ...],
        engine: str | None, workers: int, scheduler: str | None, device_table: str | None, no_plots: bool,
        quiet: bool) -> None:
    """Run SCENARIO (default: scenarios/quickstart.toml) and write its results."""
    from sim.api import provenance, simulate, timed
    from sim.outputs.files import RUN, write_results
    from sim.outputs.report import render
    from sim.outputs.tables import device_file
    from sim.scenario import load_scenario
    from sim.scenario.budget import LONG_RUN_S, check

    err = Console(stderr=True)
    try:
        rs = load_scenario(scenario, overrides + ((f"simulation.engine={engine}",) if engine else ())
                           + ((f"outputs.devices={device_table}",) if device_table else ()), seed)
        budget = check(rs, workers)
    except ScenarioError as exc:
        _bad_input(exc)
    target = out_dir or Path("results") / rs.scenario.name
    _check_out(target, RUN)
    _started()
    with _executor(scheduler) as executor, \
            Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                     TimeElapsedColumn(), console=err, transient=True, disable=quiet or not err.is_terminal) as bar:
        # printed once the scheduler answered: a --scheduler refused is then the only line
        if budget.cost.seconds > LONG_RUN_S:
            click.echo(budget.summary_line(), err=True)
        if not quiet:
            click.echo(f"engine: {rs.engine} ({_why(rs.scenario)})", err=True)
        task = bar.add_task(f"simulating {rs.scenario.name}", total=1.0)
        results, wall_s = timed(lambda: simulate(rs, lambda done: bar.update(task, completed=done), workers,
                                                 executor))
    console = Console()
    with console.capture() as report:  # rendered before anything is written: a failure here replaces nothing
        if not quiet:
            render(results, console)
    plots = None
    if not no_plots:
        from sim.outputs.plots import write_plots as plots  # matplotlib is imported only to draw
    _write(target, lambda: write_results(results, rs.to_toml(provenance(wall_s)), target, plots,
                                         rs.scenario.outputs.devices))
    if not quiet:
        sys.stdout.write(report.get())
        n_devices = len(results.tables.devices)
        table = device_file(rs.scenario.outputs.devices, n_devices)
        hint = "; --devices csv for a spreadsheet" if table == "devices.parquet" else ""
        click.echo(f"per-device table: {table or 'not written'} ({n_devices:,} devices{hint})")
        click.echo(f"results written to {printable(str(target))}/ ({wall_s:.1f} s); the answer on one page: "
                   f"{printable(str(target / 'report.html'))}")


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write validation.csv, validation.md and a plot per curve here.")
@click.option("--engine", type=click.Choice(["both", "fast", "des"]), default="both", show_default=True,
              help="Engines to run the open-loop cases on.")
@click.option("--case", "cases", multiple=True, type=LazyChoice("sim.validation.cases", lambda m: m.CASES),
              help="Run only this case (repeatable).")
@click.option("--quick", is_flag=True, help="Smaller sizes (as in the test suite); tolerances widen with the variance.")
@click.option("--set", "overrides", multiple=True, metavar="RADIO.KEY=VALUE",
              help="Alter a profile parameter on the simulated side only, e.g. --set lte.tail_s=5: "
                   "expected values stay on the documented defaults (repeatable).")
def validate(out_dir: Path | None, engine: str, cases: tuple[str, ...], quick: bool,
             overrides: tuple[str, ...]) -> None:
    """Check the model against theory and published measurements; exit 0 only if every check passes."""
    from sim.validation import Settings, run_validation
    from sim.validation.report import VALIDATION, rich_table, summary_line, write_validation

    err = Console(stderr=True)
    if out_dir is not None:
        _check_out(out_dir, VALIDATION)
    settings = Settings(("fast", "des") if engine == "both" else (engine,), quick, overrides)
    _started()
    try:
        with err.status("validating") as status:
            validation = run_validation(settings, cases, lambda name: status.update(f"validating: {name}"))
    except ScenarioError as exc:
        _bad_input(exc)
    console = Console(width=None if sys.stdout.isatty() else 240)  # a file or pipe gets whole rows
    console.print(rich_table(validation))
    console.print(summary_line(validation))
    if out_dir is not None:
        try:
            write_validation(validation, out_dir)
        except OutputError as exc:
            _bad_output(exc)
        except OSError as exc:
            click.echo(f"error: {printable(str(out_dir))}: cannot write results: {exc.strerror or exc}", err=True)
            sys.exit(1)
        click.echo(f"written to {printable(str(out_dir))}/ (every check on one page: report.html)")
    sys.exit(0 if validation.passed else 1)


@cli.command()
@click.argument("sweep_file", metavar="SWEEP", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output directory [default: results/sweeps/<sweep file name>/]; rerunning into it resumes.")
@click.option("--workers", type=click.IntRange(min=1), default=lambda: _cores(), show_default="the core count",
              help="Local worker processes, one run each at a time.")
@click.option("--scheduler", metavar="ADDRESS", help=SCHEDULER_HELP + " Replaces --workers.")
@click.option("--keep-runs", is_flag=True, help="Also write each run's results folder under runs/<run id>/.")
@click.option("--csv", is_flag=True, help="Also write the table as results.csv.")
@click.option("--no-plots", is_flag=True, help="Skip the sweep plots.")
@click.option("--max-runs", type=click.IntRange(min=1), default=LazyDefault("sim.sweep.spec", "MAX_RUNS"),
              show_default=True,
              help="Refuse a sweep of more runs than this (counted from the axes before anything runs).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or closing line.")
def sweep(sweep_file: Path, out_dir: Path | None, workers: int, scheduler: str | None, keep_runs: bool, csv: bool,
          no_plots: bool, max_runs: int, quiet: bool) -> None:
    """Run every point of SWEEP (a sweep file: base scenario, axes, replications) into one table."""
    from sim.sweep import load_sweep, run_sweep
    from sim.sweep.runner import SWEEP

    try:
        spec = load_sweep(sweep_file, max_runs)
    except ScenarioError as exc:
        _bad_input(exc)
    target = out_dir or Path("results") / "sweeps" / sweep_file.stem
    _check_out(target, SWEEP)
    _started()
    err = Console(stderr=True)
    with _executor(scheduler) as executor, \
            Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"),
                     TimeRemainingColumn(), console=err, transient=True, disable=quiet or not err.is_terminal) as bar:
        task = bar.add_task(f"sweeping {sweep_file.stem}", total=None)
        try:
            report = run_sweep(spec, target, workers=workers, executor=executor, keep_runs=keep_runs, csv=csv,
                               plots=not no_plots, progress=lambda done, total: bar.update(task, completed=done,
                                                                                             total=total))
        except OutputError as exc:
            _bad_output(exc)
        except OSError as exc:
            click.echo(f"error: {printable(str(target))}: cannot write results: {exc.strerror or exc}", err=True)
            sys.exit(1)
    if not quiet:
        failed = f", {report.failed} failed (see the error column)" if report.failed else ""
        click.echo(f"{report.runs} runs: {report.ran} run now, {report.skipped} already done{failed}; "
                   f"table written to {report.table}, the report to {report.report}", err=True)


@cli.command()
@click.argument("capture", type=click.Path(path_type=Path))
@click.option("--radio", type=LazyChoice("sim.radio.profiles", lambda m: m.RADIOS), default="lte", show_default=True,
              help="The RRC profile to run.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a profile value as in a scenario, e.g. --set network.overrides.lte.tail_s=5 "
                   "(repeatable).")
@click.option("--device", metavar="ADDR", help="The device's address [default: the address in every packet, else "
                                                "the side that opened each connection].")
@click.option("--app", "app_flows", multiple=True, metavar="NAME=FLOW",
              help="Name the flows matching FLOW (ADDR:PORT/PROTO, parts may be * or left out) as app NAME "
                   "(repeatable).")
@click.option("--apps", "apps_file", type=click.Path(path_type=Path),
              help="A TOML file of NAME = \"FLOW\" (or a list of flows) lines, as --app.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output directory [default: results/trace-<capture name>/].")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--quiet", "-q", is_flag=True, help="No terminal summary.")
def trace(capture: Path, radio: str, overrides: tuple[str, ...], device: str | None, app_flows: tuple[str, ...],
          apps_file: Path | None, out_dir: Path | None, no_plots: bool, quiet: bool) -> None:
    """Run one device's packet capture (pcap or pcapng) through an RRC profile: states, signalling, energy."""
    from sim.trace.files import TRACE, default_folder, write_trace
    from sim.trace.report import render_trace
    from sim.trace.run import app_map, trace_capture

    target = out_dir or default_folder(capture)
    _check_out(target, TRACE)
    _started()
    try:
        result = trace_capture(capture, radio, overrides, device, app_map(app_flows, apps_file))
    except ScenarioError as exc:
        _bad_input(exc)
    console = Console()
    with console.capture() as report:  # rendered before anything is written: a failure here replaces nothing
        if not quiet:
            render_trace(result, console)
    _write(target, lambda: write_trace(result, target, plots=not no_plots))
    if not quiet:
        sys.stdout.write(report.get())
        click.echo(f"results written to {printable(str(target))}/")


def _bad_input(exc: ScenarioError) -> NoReturn:
    for problem in exc.problems:
        click.echo(f"error: {problem}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def _check_out(target: Path, layout: Layout) -> None:
    """Refuse a ``--out`` that signalsim may not write (not its own folder, not writable) before any work."""
    try:
        check_target(target, layout)
    except OutputError as exc:
        _bad_output(exc)


def _write(target: Path, write: Callable[[], object]) -> None:
    """Write a command's results folder; a folder it may not use is exit 2, a failed write exit 1, one line each."""
    try:
        write()
    except OutputError as exc:
        _bad_output(exc)
    except OSError as exc:
        click.echo(f"error: {printable(str(target))}: cannot write results: {exc.strerror or exc}", err=True)
        sys.exit(1)


def _bad_output(exc: OutputError) -> NoReturn:
    click.echo(f"error: {printable(str(exc))}", err=True)
    sys.exit(EXIT_BAD_INPUT)


@contextmanager
def _executor(scheduler: str | None) -> Iterator[Executor | None]:
    """A Dask cluster's executor for ``--scheduler``, else None (local processes)."""
    if scheduler is None:
        yield None
        return
    try:
        client = connect(scheduler)
    except ClusterError as exc:
        click.echo(f"error: --scheduler: {printable(str(exc))}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    with client:
        yield client.get_executor()


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _why(scenario: Scenario) -> str:
    """Why a run uses its engine, for the line that names it."""
    if scenario.simulation.engine != "auto":
        return "simulation.engine"
    closed = scenario.closed_loop()
    if closed and scenario.per_device_feedback():
        closed.append("feedback per device only")
    return "auto: " + ("; ".join(closed) if closed else "open loop")


class Terminated(BaseException):
    """SIGTERM (Slurm, ``docker stop``), raised in the main thread like Ctrl-C's KeyboardInterrupt so that
    ``finally`` and ``except BaseException`` cleanup runs: worker processes are killed, partial
    results folders removed. Not an Exception, so no ``except Exception`` swallows it."""


def _terminate(signum: int, frame: object) -> NoReturn:
    raise Terminated


def _usage_error(exc: click.ClickException) -> NoReturn:
    """A bad command line (click's UsageError and its kin) as one line, with click's exit code (2 for usage)."""
    if isinstance(exc, _NO_ARGS_IS_HELP):  # bare `signalsim`: the help, as click's standalone mode shows it
        exc.show()
    else:
        click.echo(f"error: {usage_line(exc)}", err=True)
    sys.exit(exc.exit_code)


def _interrupted(code: int) -> NoReturn:
    click.echo("interrupted", err=True)
    sys.exit(code)


def _started() -> None:
    """A command's start-up is over (its modules imported, its input read): under the console script, which
    starts with the collector off (:func:`main`), freeze what start-up made and collect from here on."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def main() -> None:
    """The console script (see :class:`Commands` for what it prints and exits with)."""
    signal.signal(signal.SIGTERM, _terminate)
    # Start-up makes some 120,000 objects that live as long as the process (modules, classes, pydantic's
    # validators) and next to no garbage: at CPython's default threshold of 700 allocations the collector
    # ran some 400 times while they were made, three times over all of them, 0.1-0.2 s of a quickstart run,
    # and at 10,000 still some 25 times, 35-45 ms (a quickstart run's 33 collections freed 1,230 objects).
    # So it is off until the command has started (:func:`_started`), which freezes them: no collection
    # scans them again. From there a young generation of 10,000 (a quickstart run makes some 55,000 more
    # objects as it simulates and writes); the SimPy engine turns it off for its run anyway.
    gc.disable()
    gc.set_threshold(10_000, 10, 10)
    try:
        cli(prog_name="signalsim")
    finally:
        # The interpreter's exit would sweep them all once more (0.15 s); frozen, the collector skips them.
        # The results are written and closed by now.
        gc.freeze()
