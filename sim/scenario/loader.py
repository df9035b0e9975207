"""Read a scenario file, apply command-line overrides, validate everything, resolve profiles.

All problems are collected and raised together as one :class:`ScenarioError`, before any
simulation starts. Scenario files are data: they are parsed as TOML, never executed.
"""
from __future__ import annotations

import bisect
import math
import os
import re
import stat
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from sim.errors import Problem, ScenarioError
from sim.radio.profiles import PROFILE_MODELS, Profile, builtin_profile_data, merge
from sim.scenario.budget import check
from sim.scenario.schema import EVENT_KINDS, FOLDER_PATTERN, LABEL_PATTERN, OUTAGE_NODES, PSEUDO_APPS, Scenario

DEFAULT_SCENARIO = "quickstart.toml"
MAX_FILE_BYTES = 1 << 20  # a scenario or sweep file: 1 MiB is thousands of groups and apps
MAX_DEPTH = 16  # tables and arrays nested in a scenario; the deepest real one (a profile override) is 5


@dataclass(frozen=True)
class ResolvedScenario:
    """A validated scenario with the RRC profile of every radio it uses."""

    scenario: Scenario
    profiles: dict[str, Profile]
    source: str

    @property
    def radios(self) -> list[str]:
        """Radios in use, in order of first use by a group."""
        out: list[str] = []
        for group in self.scenario.groups:
            radio = group.radio or self.scenario.network.radio
            if radio not in out:
                out.append(radio)
        return out

    @property
    def engine(self) -> str:
        """The engine that runs it: ``simulation.engine``, with "auto" made "fast" for an open loop, for feedback
        per device alone (``Scenario.per_device_feedback``) and for a closed loop the compiled closed loop
        models (``Scenario.uncompiled``)."""
        chosen = self.scenario.simulation.engine
        if chosen == "auto":
            return "des" if self.scenario.uncompiled() else "fast"
        return chosen

    def group_radio(self, index: int) -> str:
        return self.scenario.groups[index].radio or self.scenario.network.radio

    def to_data(self, provenance: dict[str, Any] | None = None) -> dict[str, Any]:
        """Every default filled in, profiles written out in full: a file that reruns this run."""
        data = self.scenario.model_dump(mode="python", exclude_none=True, exclude={"provenance"})
        data["network"]["overrides"] = {r: self.profiles[r].model_dump() for r in self.radios}
        for group in data["groups"]:
            group.setdefault("radio", self.scenario.network.radio)
        if provenance:
            data["provenance"] = provenance
        return data

    def to_toml(self, provenance: dict[str, Any] | None = None) -> str:
        return tomli_w.dumps(self.to_data(provenance))


def default_scenario_path() -> Path:
    """``scenarios/quickstart.toml`` in the working directory if present, else the embedded copy."""
    local = Path("scenarios") / DEFAULT_SCENARIO
    if local.is_file():
        return local
    return Path(str(resources.files("sim.data").joinpath(DEFAULT_SCENARIO)))


def load_scenario(path: str | Path | None = None, overrides: Sequence[str] = (),
                  seed: int | None = None) -> ResolvedScenario:
    """Load, override, validate and resolve a scenario file.

    ``overrides`` are ``dotted.path=value`` strings (values parsed as TOML, else taken as text);
    ``seed`` replaces ``simulation.seed``. Raises :class:`ScenarioError` listing every problem.
    """
    file = Path(path) if path is not None else default_scenario_path()
    data = read_toml(file)
    return resolve(data, str(file), overrides, seed)


def read_toml(file: Path, source: str | None = None, where: str = "") -> dict[str, Any]:
    """Parse a scenario or sweep file; every way it can be unusable is one :class:`ScenarioError`.

    Only regular files of at most :data:`MAX_FILE_BYTES` are read (not a directory, a FIFO or
    ``/dev/zero``); text that is not UTF-8 is reported with the offset of its first bad byte;
    nesting deeper than :data:`MAX_DEPTH` is reported, not crashed on. ``source`` and ``where``
    name the problem's file and field (default: the file itself)."""
    source = source if source is not None else str(file)

    def problem(message: str) -> ScenarioError:
        return ScenarioError([Problem(source, where, message)])

    raw = read_regular(file, MAX_FILE_BYTES, problem)
    if len(raw) > MAX_FILE_BYTES:
        raise problem(f"larger than {MAX_FILE_BYTES // 1024} KiB: not a scenario")
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise problem(f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} (save the file as UTF-8)"
                      ) from None
    data = parse_toml(text, problem)
    deep = _too_deep(data)
    if deep is not None:
        raise ScenarioError([Problem(source, deep, f"nested more than {MAX_DEPTH} levels deep")])
    return data


def read_regular(file: str | Path, limit: int, problem: Callable[[str], ScenarioError]) -> bytes:
    """At most ``limit`` + 1 bytes of ``file``, which must be a regular file (not a folder, a FIFO or
    ``/dev/zero``); what makes it unreadable is raised as ``problem(message)``."""
    try:
        with open(file, "rb", opener=lambda p, flags: os.open(p, flags | os.O_NONBLOCK)) as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise problem("not a regular file" + (" (a folder)" if stat.S_ISDIR(info.st_mode) else ""))
            return handle.read(limit + 1)
    except IsADirectoryError:
        raise problem("not a regular file (a folder)") from None
    except OSError as exc:
        raise problem(f"cannot read file: {exc.strerror or exc}") from None
    except ValueError:  # a NUL character in the path (a sweep's base is any TOML string): open() refuses it
        raise problem("cannot read file: its name holds a NUL character") from None


def parse_toml(text: str, problem: Callable[[str], ScenarioError]) -> dict[str, Any]:
    """``tomllib.loads``, its errors (deep nesting included) raised as ``problem(message)``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise problem(f"malformed TOML: {exc}") from None
    except RecursionError:
        raise problem(f"malformed TOML: nested more than {MAX_DEPTH} levels deep") from None


def _too_deep(data: Any) -> str | None:
    """The dotted path of the first value nested deeper than :data:`MAX_DEPTH`, else None."""
    todo: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while todo:
        node, loc = todo.pop()
        if len(loc) > MAX_DEPTH:
            return format_path(loc)
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        todo.extend((value, (*loc, key)) for key, value in items)
    return None


def resolve(data: dict[str, Any], source: str, overrides: Sequence[str] = (),
            seed: int | None = None) -> ResolvedScenario:
    """Validate already-parsed scenario data (see :func:`load_scenario`)."""
    problems = [p for item in overrides for p in _apply_override(data, item)]
    if seed is not None:
        data.setdefault("simulation", {})["seed"] = seed
    if problems:
        raise ScenarioError(problems)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(validation_problems(source, exc)) from None
    used = {scenario.network.radio} | {g.radio for g in scenario.groups if g.radio}
    problems = _reference_problems(source, scenario, [n for r in sorted(used) for n in PROFILE_MODELS[r].NODES])
    profiles: dict[str, Profile] = {}
    for radio in sorted(used | set(scenario.network.overrides)):
        merged = merge(builtin_profile_data(radio), scenario.network.overrides.get(radio, {}))
        try:
            profile = PROFILE_MODELS[radio].model_validate(merged)
        except ValidationError as exc:
            problems += validation_problems(source, exc, ("network", "overrides", radio))
            continue
        if radio in used:
            profiles[radio] = profile
    known_nodes = [n for r in sorted(used) for n in PROFILE_MODELS[r].NODES]
    defaults = tomllib.loads(resources.files("sim.profiles").joinpath("controlplane.toml").read_text("utf-8"))
    for node, cap in scenario.controlplane.nodes.items():
        if node not in known_nodes:
            problems.append(Problem(source, f"controlplane.nodes.{node}",
                                    f"unknown node {node!r} (nodes of the radios in use: {', '.join(known_nodes)})"))
            continue
        filled = {k: v for k, v in defaults.get(node, {}).items() if getattr(cap, k) is None}
        scenario.controlplane.nodes[node] = cap = cap.model_copy(update=filled)
        if cap.messages_per_s is None:
            problems.append(Problem(source, f"controlplane.nodes.{node}.messages_per_s",
                                    f"required: the reference has no capacity figure for {node}"))
    problems += _instance_problems(source, scenario)
    problems += _trace_problems(source, scenario)
    if problems:
        raise ScenarioError(problems)
    resolved = ResolvedScenario(scenario, profiles, source)
    check(resolved)  # refuse what cannot fit this machine or finish, on every path to an engine
    return resolved


def _reference_problems(source: str, scenario: Scenario, known_nodes: list[str]) -> list[Problem]:
    names = {a.name: i for i, a in reversed(list(enumerate(scenario.apps)))}  # name -> first index
    problems = []
    for i, name in enumerate(a.name for a in scenario.apps):
        if name in PSEUDO_APPS:
            problems.append(Problem(source, f"apps[{i}].name", f"{name!r} is a reserved name"))
        elif names[name] != i:
            problems.append(Problem(source, f"apps[{i}].name", f"duplicate app name {name!r}"))
    groups = {g.name: i for i, g in reversed(list(enumerate(scenario.groups)))}
    for i, group in enumerate(scenario.groups):
        if groups[group.name] != i:
            problems.append(Problem(source, f"groups[{i}].name", f"duplicate group name {group.name!r}"))
        for installed in group.apps:
            if installed not in names:
                known = ", ".join(list(names)[:10]) + (", ..." if len(names) > 10 else "") or "none defined"
                problems.append(Problem(source, f"groups[{i}].apps.{installed}",
                                        f"unknown app {installed!r} (apps: {known})"))
    apps = {a.name: a for a in scenario.apps}
    duration_s = scenario.simulation.duration_s
    for i, event in enumerate(scenario.events):
        where = f"events[{i}]"
        end_key = "at_s" if hasattr(event, "at_s") else "end_s"
        end_s = getattr(event, end_key)
        if end_s > duration_s or (end_key == "at_s" and end_s == duration_s):
            problems.append(Problem(source, f"{where}.{end_key}", "event falls after the run (simulation.duration_s)"))
        if end_key == "end_s" and event.end_s <= event.start_s:
            problems.append(Problem(source, f"{where}.end_s", "end_s must be after start_s"))
        kinds = OUTAGE_NODES.get(event.kind)
        if kinds is not None and event.node not in kinds[1]:
            problems.append(Problem(source, f"{where}.node", f"unknown {kinds[0]} node {event.node!r} "
                                    f"({', '.join(kinds[1][:-1])} or {kinds[1][-1]})"))
        elif kinds is not None and event.node not in known_nodes:
            problems.append(Problem(source, f"{where}.node", f"no group uses a radio with node {event.node!r}"))
        if event.kind == "core_restart" and event.t3346_min_s > event.t3346_max_s:
            problems.append(Problem(source, f"{where}.t3346_min_s", "must not exceed t3346_max_s"))
        if not hasattr(event, "app"):
            continue
        app = apps.get(event.app)
        if app is None:
            problems.append(Problem(source, f"{where}.app", f"unknown app {event.app!r}"))
        elif event.kind == "server_outage" and (app.connection != "own" or app.heartbeat.policy == "adaptive"):
            problems.append(Problem(source, f"{where}.app", "server outages are modelled for apps with their own "
                                    "connection and a fixed heartbeat or none"))
        elif event.kind == "heartbeat_change" and (app.connection != "own" or app.heartbeat.policy != "fixed"):
            problems.append(Problem(source, f"{where}.app", "heartbeat changes are modelled for apps with their "
                                    "own connection and a fixed heartbeat"))
    missing = scenario.uncompiled()
    if scenario.simulation.engine == "fast" and missing:
        problems.append(Problem(source, "simulation.engine", f"the fast engine does not model {missing} in a closed "
                                f"loop ({' and '.join(scenario.closed_loop())}): use \"des\" or \"auto\""))
    outages = [(e.app, e.start_s, e.end_s, i) for i, e in enumerate(scenario.events) if e.kind == "server_outage"]
    for (a1, _, end1, _), (a2, start2, _, j) in zip(sorted(outages), sorted(outages)[1:]):
        if a1 == a2 and start2 < end1:
            problems.append(Problem(source, f"events[{j}].start_s", "overlaps another outage of the same app"))
    return problems


def _trace_problems(source: str, scenario: Scenario) -> list[Problem]:
    """Apps replaying a capture: its path made absolute (relative to the scenario file, so that the resolved
    scenario reruns from anywhere), the capture and its flow readable, and the open loop."""
    problems = []
    for i, app in enumerate(scenario.apps):
        if app.traffic is None:
            continue
        # here, and only for a replay: sim.trace reads scenario files for its own options, and dpkt loads
        from sim.trace.replay import load_pattern
        where = f"apps[{i}].traffic"
        path = Path(app.traffic.trace)
        if not path.is_absolute():
            path = Path(source).parent / path
        app.traffic.trace = os.path.abspath(path)
        try:
            load_pattern(app.traffic.trace, app.traffic.flow)
        except ScenarioError as exc:
            problems += [Problem(source, f"{where}.trace", f"{p.source}: {p.message}") for p in exc.problems]
        if scenario.closed_loop():
            problems.append(Problem(source, where, "a replayed capture runs in the open loop only (no limited "
                                    "nodes, no events)"))
    return problems


def _instance_problems(source: str, scenario: Scenario) -> list[Problem]:
    """A ``ran_outage`` or ``core_restart`` of one instance must name an instance that serves devices (device
    ``d`` is served by instance ``d // devices_per_node`` of each node its radio uses; one instance without it)."""
    problems = []
    served: dict[str, list[tuple[int, int]]] = {}  # per node: ranges of instances, both ends included, ascending
    for i, event in enumerate(scenario.events):
        if event.kind not in OUTAGE_NODES or event.instance is None:
            continue
        cap = scenario.controlplane.nodes.get(event.node)
        per_node = cap.devices_per_node if cap is not None else None
        if event.node not in served:  # once per node, not per event: thousands of each took minutes
            served[event.node], first = [], 0
            for group in scenario.groups:
                radio = group.radio or scenario.network.radio
                if event.node in PROFILE_MODELS[radio].NODES:
                    last = first + group.devices - 1
                    served[event.node].append((first // per_node, last // per_node) if per_node else (0, 0))
                first += group.devices
        ranges = served[event.node]
        at = bisect.bisect_right(ranges, (event.instance, math.inf)) - 1  # the last range starting at or before it
        if at < 0 or ranges[at][1] < event.instance:
            count = f"instances up to {ranges[-1][1]}" if ranges and per_node else "one instance, 0"
            problems.append(Problem(source, f"events[{i}].instance", f"{event.node} has no instance {event.instance} "
                                    f"serving devices ({count}; see controlplane.nodes.{event.node}.devices_per_node)"))
    return problems


def format_path(loc: tuple[Any, ...]) -> str:
    """``("groups", 0, "apps")`` -> ``"groups[0].apps"``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validation_problems(source: str, exc: ValidationError, prefix: tuple[Any, ...] = ()) -> list[Problem]:
    """pydantic's errors as one :class:`Problem` each, with the dotted path (under ``prefix``)."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(p for i, p in enumerate(err["loc"])
                             if not (isinstance(p, str) and p.startswith("function-"))
                             and not (p in EVENT_KINDS and i > 0 and isinstance(err["loc"][i - 1], int)))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (misspelled?)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif err["type"] == "string_pattern_mismatch":
            msg = PATTERN_MESSAGES.get(err.get("ctx", {}).get("pattern", ""), msg)
        elif err["type"].endswith("_type") and err["type"] != "dict_type" or err["type"] == "literal_error":
            msg += f", not {_describe(err.get('input'))}"
        msg = re.sub(r"^(Value|Assertion) error, ", "", msg)
        problems.append(Problem(source, format_path(loc), msg))
    return problems


PATTERN_MESSAGES = {
    LABEL_PATTERN: "printable characters only (no newlines, tabs or terminal escapes)",
    FOLDER_PATTERN: "a folder name: letters, digits, '.', '_' and '-', starting with a letter or digit",
}


def _describe(value: Any) -> str:
    """A bad input as the user wrote it, briefly: ``true``, ``"100" (text)``, ``a table``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"{value[:40]!r} (text)"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)[:40]


_INDEX = re.compile(r"\[(\d+)\]")


def _apply_override(data: dict[str, Any], item: str) -> list[Problem]:
    """Set one ``dotted.path=value`` (``groups[0].devices=5`` or ``groups.0.devices=5``)."""
    if "=" not in item:
        return [Problem("--set", item, "expected KEY=VALUE")]
    key, raw = item.split("=", 1)
    key = key.strip()
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in _INDEX.sub(r".\1", key).split(".")]
    if not key or any(p == "" for p in parts):
        return [Problem("--set", key, "malformed key")]
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word such as umts: take it as text
    except RecursionError:
        return [Problem("--set", key, f"value nested more than {MAX_DEPTH} levels deep")]
    if len(parts) > MAX_DEPTH or _too_deep(value) is not None:
        return [Problem("--set", key, f"nested more than {MAX_DEPTH} levels deep")]
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        here = format_path(tuple(parts[: depth + 1]))
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return [Problem("--set", here, "no such list element")]
            node = node[part]
        else:
            if not isinstance(node, dict):
                return [Problem("--set", here, "not a table")]
            node = node.setdefault(part, {})
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            return [Problem("--set", format_path(tuple(parts)), "no such list element")]
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        return [Problem("--set", format_path(tuple(parts)), "not a table")]
    return []
