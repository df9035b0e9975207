"""Read a scenario file, apply command-line overrides, validate everything, resolve profiles.

All problems are collected and raised together as one :class:`ScenarioError`, before any
simulation starts. Scenario files are data: they are parsed as TOML, never executed.
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from sim.errors import Problem, ScenarioError
from sim.radio.profiles import PROFILE_MODELS, Profile, builtin_profile_data, merge
from sim.scenario.budget import check
from sim.scenario.schema import NETWORK_APP, PUSH_APP, Scenario

DEFAULT_SCENARIO = "quickstart.toml"


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
        """The engine that runs it: ``simulation.engine``, with "auto" made "fast" for an open loop."""
        chosen = self.scenario.simulation.engine
        if chosen == "auto":
            return "des" if self.scenario.closed_loop() else "fast"
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
    source = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError([Problem(source, "", f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(source, "", f"malformed TOML: {exc}")]) from None
    return resolve(data, source, overrides, seed)


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
    if problems:
        raise ScenarioError(problems)
    resolved = ResolvedScenario(scenario, profiles, source)
    check(resolved)  # refuse what cannot fit this machine or finish, on every path to an engine
    return resolved


def _reference_problems(source: str, scenario: Scenario, known_nodes: list[str]) -> list[Problem]:
    names = [a.name for a in scenario.apps]
    problems = []
    for i, name in enumerate(names):
        if name in (PUSH_APP, NETWORK_APP):
            problems.append(Problem(source, f"apps[{i}].name", f"{name!r} is a reserved name"))
        elif names.index(name) != i:
            problems.append(Problem(source, f"apps[{i}].name", f"duplicate app name {name!r}"))
    groups = [g.name for g in scenario.groups]
    for i, group in enumerate(scenario.groups):
        if groups.index(group.name) != i:
            problems.append(Problem(source, f"groups[{i}].name", f"duplicate group name {group.name!r}"))
        for app in group.apps:
            if app not in names:
                known = ", ".join(names) or "none defined"
                problems.append(Problem(source, f"groups[{i}].apps.{app}", f"unknown app {app!r} (apps: {known})"))
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
        if event.kind == "ran_outage" and event.node not in ("RNC", "eNB", "gNB"):
            problems.append(Problem(source, f"{where}.node", f"unknown RAN node {event.node!r} (RNC, eNB or gNB)"))
        elif event.kind == "ran_outage" and event.node not in known_nodes:
            problems.append(Problem(source, f"{where}.node", f"no group uses a radio with node {event.node!r}"))
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
    closed = scenario.closed_loop()
    if scenario.simulation.engine == "fast" and closed:
        problems.append(Problem(source, "simulation.engine", "the fast engine runs open-loop scenarios only, and this "
                                f"one has {' and '.join(closed)}: use \"des\" or \"auto\""))
    outages = [(e.app, e.start_s, e.end_s, i) for i, e in enumerate(scenario.events) if e.kind == "server_outage"]
    for (a1, _, end1, _), (a2, start2, _, j) in zip(sorted(outages), sorted(outages)[1:]):
        if a1 == a2 and start2 < end1:
            problems.append(Problem(source, f"events[{j}].start_s", "overlaps another outage of the same app"))
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
        loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (misspelled?)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        msg = re.sub(r"^(Value|Assertion) error, ", "", msg)
        problems.append(Problem(source, format_path(loc), msg))
    return problems


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
