"""The sweep file format: a base scenario, axes of values for dotted parameters, replications.

A sweep file is TOML, parsed and validated, never executed::

    base = "../quickstart.toml"             # relative to the sweep file
    set = ["groups[0].devices=200"]         # overrides applied to every run (optional)
    mode = "grid"                           # "grid" (every combination) or "zip" (axes in step)
    replications = 3                        # runs per point, seeds derived from `seed`
    seed = 2026

    [[axes]]
    path = "apps[0].heartbeat.interval_s"   # any dotted path `signalsim run --set` takes
    values = [120.0, 270.0, 600.0]          # or range = {start, stop, step}, or linspace = {start, stop, num}

    [[axes]]
    name = "policy"                         # an axis of named cases, each a set of overrides
    cases.fixed = { "apps[0].heartbeat.policy" = "fixed" }
    cases.adaptive = { "apps[0].heartbeat.policy" = "adaptive" }

Two kinds of problem, told apart up front: a *malformed* sweep (bad TOML, an unknown key, a
base scenario that does not load, an axis path the base scenario does not have) raises
:class:`sim.errors.ScenarioError` before anything runs; an *impossible value* at a valid path
(a negative interval, text where a number goes) is found when that point's scenario is
validated, and is recorded as that point's failure while the rest of the sweep runs. An axis
path is valid when the base scenario, with every default filled in and its radios' profiles
written in full (``scenario.resolved.toml``), has a value there.
"""
from __future__ import annotations

import copy
import hashlib
import math
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.errors import Problem, ScenarioError
from sim.scenario import ResolvedScenario, resolve
from sim.metrics.results import SUMMARY_KEYS
from sim.radio.profiles import RADIOS, builtin_profile_data
from sim.scenario.loader import read_toml, validation_problems

Scalar = bool | int | float | str
Finite = Annotated[float, Field(allow_inf_nan=False)]
MAX_RUNS = 10_000  # runs a sweep may have unless --max-runs raises it: ~3 h at a second each on 2 cores
META_COLUMNS = ("point", "replication", "seed", "run_id", "status", "error", "wall_time_s")
_INDEX = re.compile(r"\[(\d+)\]")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Range(_Model):
    """``start``, ``start + step``, ... up to ``stop`` (included when it falls on the grid)."""

    start: Finite
    stop: Finite
    step: Annotated[float, Field(gt=0.0, allow_inf_nan=False)]

    @model_validator(mode="after")
    def _ordered(self) -> "Range":
        if self.stop < self.start:
            raise ValueError("stop must not be below start")
        if not math.isfinite((self.stop - self.start) / self.step):  # else size() cannot count it
            raise ValueError("(stop - start) / step overflows: use values closer together")
        return self

    def size(self) -> int:
        return math.floor((self.stop - self.start) / self.step + 1e-9) + 1

    def values(self) -> list[float]:
        return [_tidy(self.start + i * self.step) for i in range(self.size())]


class Linspace(_Model):
    """``num`` evenly spaced values from ``start`` to ``stop``, both included."""

    start: Finite
    stop: Finite
    num: Annotated[int, Field(ge=1)]

    @model_validator(mode="after")
    def _finite(self) -> "Linspace":
        if not math.isfinite(self.stop - self.start):  # else the values are inf and nan
            raise ValueError("stop - start overflows: use values closer together")
        return self

    def size(self) -> int:
        return self.num

    def values(self) -> list[float]:
        if self.num == 1:
            return [_tidy(self.start)]
        return [_tidy(self.start + i * (self.stop - self.start) / (self.num - 1)) for i in range(self.num)]


class Axis(_Model):
    path: Annotated[str, Field(min_length=1)] | None = None
    name: Annotated[str, Field(min_length=1)] | None = None  # the table column; default: path
    values: Annotated[list[Scalar], Field(min_length=1)] | None = None
    range: Range | None = None
    linspace: Linspace | None = None
    cases: Annotated[dict[str, dict[str, Scalar]], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "Axis":
        given = [k for k in ("values", "range", "linspace", "cases") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of values, range, linspace or cases")
        if self.cases is None and self.path is None:
            raise ValueError("path is required (the dotted parameter the axis sets)")
        if self.cases is not None and (self.path is not None or self.name is None):
            raise ValueError("an axis of cases has a name and no path (each case lists its paths)")
        return self

    @property
    def column(self) -> str:
        return self.name or self.path or ""

    def size(self) -> int:
        """How many levels the axis has, without listing them."""
        source = self.range or self.linspace
        return source.size() if source is not None else len(self.cases or self.values or [])

    def levels(self) -> list[Scalar]:
        """The axis's values as they appear in the table (case names for cases)."""
        if self.cases is not None:
            return list(self.cases)
        source = self.range or self.linspace
        return [*source.values()] if source is not None else list(self.values or [])

    def overrides(self, level: Scalar) -> list[str]:
        """``--set`` items for one value of the axis."""
        if self.cases is not None:
            return [_set_item(path, value) for path, value in self.cases[str(level)].items()]
        return [_set_item(self.path or "", level)]

    def paths(self) -> list[str]:
        if self.cases is not None:
            return list(dict.fromkeys(p for case in self.cases.values() for p in case))
        return [self.path or ""]


class Tradeoff(_Model):
    """What each case of an axis of cases saves against a baseline case and what it costs
    (``sim.sweep.tradeoff``): ``axis`` the cases' axis, ``baseline`` one of its cases, ``by`` another axis
    whose every value has its own baseline and series (a network, say)."""

    axis: Annotated[str, Field(min_length=1)]
    baseline: Annotated[str, Field(min_length=1)]
    by: Annotated[str, Field(min_length=1)] | None = None


class SweepFile(_Model):
    base: Annotated[str, Field(min_length=1)]
    set: list[str] = []
    mode: Literal["grid", "zip"] = "grid"
    replications: Annotated[int, Field(ge=1)] = 1
    seed: Annotated[int, Field(ge=0)] = 1
    axes: Annotated[list[Axis], Field(min_length=1)]
    tradeoff: Tradeoff | None = None

    def points(self) -> int:
        """Parameter combinations, counted from the axes' sizes (nothing is expanded)."""
        sizes = [axis.size() for axis in self.axes]
        return min(sizes) if self.mode == "zip" else math.prod(sizes)


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: its file, the base scenario data and the resolved base (fixed overrides applied)."""

    spec: SweepFile
    source: str
    base_path: Path
    base_data: dict[str, Any]  # the base scenario file's TOML, as parsed (overrides are applied per run)
    base: ResolvedScenario

    @property
    def base_digest(self) -> str:
        """Fingerprint of the base scenario's content: part of every run's id."""
        return hashlib.sha256(tomli_w.dumps(self.base_data).encode()).hexdigest()


def load_sweep(path: str | Path, max_runs: int = MAX_RUNS) -> Sweep:
    """Read and validate a sweep file and its base scenario; raises :class:`ScenarioError` listing every problem.

    A sweep of more than ``max_runs`` runs is refused before anything is expanded."""
    file = Path(path)
    source = str(file)
    data = read_toml(file)
    try:
        spec = SweepFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(validation_problems(source, exc)) from None
    runs = spec.points() * spec.replications
    if runs > max_runs:
        raise ScenarioError([Problem(source, "axes" if spec.points() > max_runs else "replications",
                                     f"{runs:,} runs, more than the {max_runs:,} allowed (--max-runs N raises it)")])
    base_path = file.parent / spec.base
    base_data = read_toml(base_path, source, "base")
    base = resolve(copy.deepcopy(base_data), str(base_path), spec.set)
    problems = _axis_problems(source, spec, base)
    if problems:
        raise ScenarioError(problems)
    return Sweep(spec, source, base_path, base_data, base)


def _axis_problems(source: str, spec: SweepFile, base: ResolvedScenario) -> list[Problem]:
    full = base.scenario.model_dump(mode="python", exclude={"provenance"})
    _absent_tables(base.scenario, full)
    # every radio's profile: an axis may set one a case switches the network to
    full["network"]["overrides"] = {r: builtin_profile_data(r) for r in RADIOS} | {
        r: p.model_dump() for r, p in base.profiles.items()}
    problems = []
    columns = [axis.column for axis in spec.axes]
    for i, axis in enumerate(spec.axes):
        where = f"axes[{i}]"
        if columns.index(axis.column) != i:
            problems.append(Problem(source, f"{where}.name", f"duplicate axis {axis.column!r}"))
        if axis.column in META_COLUMNS or axis.column.split(".")[0] in SUMMARY_KEYS:
            problems.append(Problem(source, f"{where}.name", f"{axis.column!r} is a reserved column name (the table "
                                    "has a column of that name or under it): give the axis a name"))
        levels = axis.levels()
        if axis.cases is None and len(set(levels)) < len(levels):
            kind = "range" if axis.range else "linspace" if axis.linspace else "values"
            problems.append(Problem(source, f"{where}.{kind}",
                                    "repeated values (a step below the numbers' resolution, or start = stop)"))
        if any(isinstance(v, float) and not math.isfinite(v) for v in _values(axis)):
            # as range and linspace: no run could use it, and nan is no table key
            problems.append(Problem(source, f"{where}.{'cases' if axis.cases else 'values'}",
                                    "finite numbers only (not nan or inf)"))
        kinds = {"number" if isinstance(v, (int, float)) and not isinstance(v, bool) else type(v).__name__
                 for v in levels}
        if len(kinds) > 1:  # one type per table column
            problems.append(Problem(source, f"{where}.values",
                                    f"values of one type, not {' and '.join(sorted(kinds))}"))
        field = "path" if axis.cases is None else "cases"
        for path in axis.paths():
            if path == "simulation.seed":
                problems.append(Problem(source, f"{where}.{field}", "seeds come from the sweep's seed and "
                                        "replications, not from an axis"))
            elif _get(full, path) is _MISSING:
                problems.append(Problem(source, f"{where}.{field}", f"{path!r}: no such parameter in the base "
                                        f"scenario {spec.base}"))
            elif isinstance(_get(full, path), (dict, list)):  # an axis sets one value; this would replace a table
                problems.append(Problem(source, f"{where}.{field}", f"{path!r} is a table or list, not one value: "
                                        "name a key inside it"))
    if spec.mode == "zip" and len({len(axis.levels()) for axis in spec.axes}) > 1:
        problems.append(Problem(source, "axes", "mode = \"zip\" needs axes of the same length"))
    return problems + _tradeoff_problems(source, spec)


def _tradeoff_problems(source: str, spec: SweepFile) -> list[Problem]:
    """A ``[tradeoff]`` must name an axis of cases, one of its cases and, for ``by``, another axis of a grid."""
    trade = spec.tradeoff
    if trade is None:
        return []
    axes = {axis.column: axis for axis in spec.axes}
    problems = []
    cases = axes.get(trade.axis)
    if cases is None or cases.cases is None:
        problems.append(Problem(source, "tradeoff.axis", f"{trade.axis!r} is not an axis of cases"))
    elif trade.baseline not in cases.cases:
        problems.append(Problem(source, "tradeoff.baseline", f"{trade.baseline!r} is not a case of {trade.axis!r}"))
    if trade.by is not None and (trade.by not in axes or trade.by == trade.axis):
        problems.append(Problem(source, "tradeoff.by", f"{trade.by!r} is not another axis"))
    elif trade.by is not None and spec.mode != "grid":
        problems.append(Problem(source, "tradeoff.by", "needs mode = \"grid\" (a baseline at every value)"))
    return problems


_MISSING = object()


def _absent_tables(model: BaseModel, dump: dict[str, Any]) -> None:
    """Fill into ``dump`` (``model``'s) the defaults of its optional tables that are absent (a group's
    ``doze``), recursively, so that an axis may set a key inside one (the loader creates it)."""
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            _absent_tables(value, dump[name])
        elif isinstance(value, list):
            for item, sub in zip(value, dump[name]):
                if isinstance(item, BaseModel):
                    _absent_tables(item, sub)
        elif value is None:
            table = next((a for a in typing.get_args(field.annotation) if isinstance(a, type)
                          and issubclass(a, BaseModel)), None)
            if table is not None:
                try:
                    dump[name] = table().model_dump(mode="python")
                except ValidationError:  # a table with required keys: not settable key by key
                    pass


def _get(data: Any, path: str) -> Any:
    """The value at dotted ``path`` in ``data``, else :data:`_MISSING`."""
    node = data
    for part in _INDEX.sub(r".\1", path).split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return _MISSING
    return node


def _values(axis: Axis) -> list[Scalar]:
    """Every value the axis sets (each case's, for an axis of cases)."""
    if axis.cases is not None:
        return [v for case in axis.cases.values() for v in case.values()]
    return axis.levels()


def _set_item(path: str, value: Scalar) -> str:
    """``path=value`` with the value written as TOML, as ``--set`` reads it back."""
    return f"{path}={tomli_w.dumps({'v': value}).split('=', 1)[1].strip()}"


def _tidy(value: float) -> float:
    """Round away float noise from ``start + i * step`` (0.1 * 3 = 0.30000000000000004 -> 0.3)."""
    return float(f"{value:.12g}")


