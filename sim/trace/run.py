"""One device's packet train through its radio's RRC machine: states, signalling and energy.

Each packet is one transfer, requested at its capture time, through the scalar machine of
``sim.radio`` (the same machine the SimPy engine runs): a packet that finds the radio idle promotes
it (after paging, if the device is receiving it), a packet during a promotion waits for its end,
the inactivity timers run from the last packet. The run starts idle at the device's first packet
and ends when the last packet's timers have run out (the last finite demotion, a release say); the
idle time after it is not counted. ``docs/trace.md`` gives every choice and where ARO differs.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import Problem, ScenarioError
from sim.radio.profiles import Profile
from sim.radio.tables import IDLE_STATES, MODULES, build_tables
from sim.scenario import resolve
from sim.scenario.loader import read_toml
from sim.scenario.schema import MAX_NAME, MOBILITY_APP
from sim.trace.capture import read_capture
from sim.trace.flows import Train, device_train, rlc_bytes
from sim.trace.periodic import Periodic, find_periodic

# code: ARO ProfileFactoryImpl.create3G defaults, RLC_UL_RATE_P2/P1/P0 and RLC_DL_RATE_P2/P1/P0: the
# milliseconds an uplink (downlink) RLC buffer of q bytes takes to empty are p2 q^2 + p1 q + p0
RLC_UP_RATE = (0.0014, 1.6, 20.0)
RLC_DOWN_RATE = (0.0, 0.1, 10.0)
IDLE = "idle"  # the attribution of the radio's idle time: no flow's


def trace_profile(radio: str, overrides: Sequence[str] = ()) -> tuple[str, Profile]:
    """The radio and its profile, the built-in file with ``overrides`` (``network.radio=...``,
    ``network.overrides.<radio>.<parameter>=...``) applied and validated as a scenario's."""
    problems = [Problem("--set", item.split("=", 1)[0].strip(), "signalsim trace takes network.radio and "
                        "network.overrides.<radio>.<parameter> only") for item in overrides
                if not item.split("=", 1)[0].strip().startswith("network.")]
    if problems:
        raise ScenarioError(problems)
    data = {"name": "trace", "network": {"radio": radio}, "groups": [{"name": "device", "devices": 1}]}
    rs = resolve(data, "--set", overrides)
    radio = rs.scenario.network.radio
    return radio, rs.profiles[radio]


class _Records:
    """A :class:`sim.radio.base.TransitionSink` that keeps the machine's records."""

    def __init__(self) -> None:
        self.records: list[tuple[float, int, int, int, int]] = []
        self.transition = self.records.append

    def arrays(self) -> "_Log":
        t, _, proc, owner, state = (np.array(c) for c in zip(*self.records))
        return _Log(t.astype(float), proc.astype(np.int64), owner.astype(np.int64), state.astype(np.int64))


@dataclass(frozen=True)
class _Log:
    tr_t: np.ndarray
    tr_proc: np.ndarray
    tr_owner: np.ndarray
    tr_state: np.ndarray


def app_map(pairs: Sequence[str] = (), file: Path | None = None) -> dict[str, list[str]]:
    """Apps named for flows: ``NAME=FLOW`` pairs (``--app``), after those of a TOML ``file`` (``--apps``:
    ``NAME = "FLOW"`` or ``NAME = ["FLOW", ...]``); FLOW a pattern of :func:`matches`."""
    out: dict[str, list[str]] = {}
    problems: list[Problem] = []
    if file is not None:
        for name, value in read_toml(file).items():
            flows = [value] if isinstance(value, str) else value
            if not isinstance(flows, list) or not flows or not all(isinstance(v, str) and v for v in flows):
                problems.append(Problem(str(file), name, "a flow pattern (\"ADDR:PORT/PROTO\") or a list of them"))
            else:
                out.setdefault(name, []).extend(flows)
    for pair in pairs:
        name, sep, flow = pair.partition("=")
        if not sep or not name.strip() or not flow.strip():
            problems.append(Problem("--app", pair, "expected NAME=FLOW, e.g. mqtt=:1883"))
        else:
            out.setdefault(name.strip(), []).append(flow.strip())
    for name in out:
        if not name.isprintable() or len(name) > MAX_NAME:
            problems.append(Problem("--app", name, f"an app name is printable text of at most {MAX_NAME} characters"))
    if problems:
        raise ScenarioError(problems)
    return out


@dataclass(frozen=True)
class TraceRun:
    """What a trace made: the summary and its tables (``packets``, ``states``)."""

    summary: dict[str, Any]
    packets: pd.DataFrame
    states: pd.DataFrame
    state_names: list[str]


def run_trace(train: Train, radio: str, profile: Profile, capture: dict[str, Any]) -> TraceRun:
    """Run ``train`` through ``radio``'s machine (``profile``); ``capture``: what the summary says of the file."""
    n_flows = len(train.flows)
    bursts = train.bursts()
    periodic: dict[int, Periodic] = {}
    in_chain = np.zeros(train.t_s.size, dtype=bool)
    for f in range(n_flows):
        mine = np.flatnonzero(train.flow == f)
        first = mine[np.concatenate([[True], np.diff(bursts[mine]) > 0])]  # each burst's first packet
        found = find_periodic(train.t_s[first])
        if found is not None:
            periodic[f] = found
            in_chain[mine] = np.isin(bursts[mine], bursts[first][found.bursts])
    owner = 2 * train.flow + in_chain  # the machine's "app": a flow's periodic bursts apart from the rest
    tables = build_tables({radio: profile}, [radio], 0, 2 * n_flows)
    log = _Records()
    machine = tables.machine(radio, 0, log)
    if tables.uses_bytes(radio):
        up_bytes, down_bytes = rlc_bytes(train, RLC_UP_RATE, RLC_DOWN_RATE)
    else:
        up_bytes, down_bytes = np.where(train.up, train.ip_bytes, 0), np.where(train.up, 0, train.ip_bytes)
    state_names = [s for _, s in tables.states]
    found_state, triggered, delivered = [], [], np.zeros(train.t_s.size)
    for i, (t, up, app, ub, db) in enumerate(zip(train.t_s.tolist(), train.up.tolist(), owner.tolist(),
                                                 up_bytes.tolist(), down_bytes.tolist())):
        machine.advance(t)
        found_state.append(state_names[machine.state])
        mark = len(log.records)
        delivered[i] = machine.data(t, app, ub, db, not up)
        triggered.append("+".join(tables.procedures[r[2]][1] for r in log.records[mark:]))
    pending = [machine.due, *(at for at, _, _ in getattr(machine, "rest", []))]
    end_s = max([float(delivered.max())] + [at for at in pending if math.isfinite(at)])
    machine.advance(end_s)
    records = log.arrays()
    owners = _owner_names(train, n_flows, tables.specs[radio].keeper)
    states = _intervals(records, tables, radio, profile, end_s, owners)
    packets = pd.DataFrame({
        "t_s": train.t_s, "direction": np.where(train.up, "up", "down"), "ip_bytes": train.ip_bytes,
        "payload_bytes": train.payload_bytes, "flow": [train.flows[f].name for f in train.flow],
        "app": [train.flows[f].app for f in train.flow], "burst": bursts, "periodic": in_chain,
        "state": found_state, "triggered": triggered, "delay_s": delivered - train.t_s})
    summary = _summary(train, records, tables, states, periodic, owners, end_s, capture, radio)
    return TraceRun(summary, packets, states, list(MODULES[radio].STATES))


def _owner_names(train: Train, n_flows: int, keeper: int) -> dict[int, str]:
    """Each owner code's flow name (codes 2f and 2f + 1: flow f), the keeper's, and nobody's (-1)."""
    names = {2 * f + k: train.flows[f].name for f in range(n_flows) for k in (0, 1)}
    return names | {keeper: MOBILITY_APP, -1: IDLE}


def _intervals(records, tables, radio: str, profile: Profile, end_s: float, owners: dict[int, str]) -> pd.DataFrame:
    """The state intervals of the run, each promotion's delay an interval of its own, with their energy."""
    delays = {p: (d, mw / 1000.0) for p, (d, mw, _) in MODULES[radio].promotions(profile).items()}
    t = records.tr_t
    until = np.append(t[1:], end_s)
    rows = []
    for start, stop, proc, owner, state in zip(t.tolist(), until.tolist(), records.tr_proc.tolist(),
                                               records.tr_owner.tolist(), records.tr_state.tolist()):
        name = tables.procedures[proc][1] if proc >= 0 else ""
        where = IDLE if tables.states[state][1] in IDLE_STATES else owners[owner]
        if name in delays:
            delay_s, power_w = delays[name]
            cut = min(start + delay_s, stop)
            rows.append((start, cut, tables.states[state][1], "promotion", name, where, (cut - start) * power_w))
            start, name = cut, ""
        rows.append((start, stop, tables.states[state][1], "", name, where,
                     (stop - start) * float(tables.state_power_w[state])))
    frame = pd.DataFrame(rows, columns=["start_s", "end_s", "state", "phase", "procedure", "flow", "energy_j"])
    return frame[(frame.end_s > frame.start_s) | (frame.procedure != "")].reset_index(drop=True)


def _summary(train: Train, records, tables, states: pd.DataFrame, periodic: dict[int, Periodic],
             owners: dict[int, str], end_s: float, capture: dict[str, Any], radio: str) -> dict[str, Any]:
    proc, owner, state = records.tr_proc, records.tr_owner, records.tr_state
    occurred = proc >= 0
    msgs_of = tables.messages.sum(axis=1)
    is_idle = np.array([s in IDLE_STATES for _, s in tables.states])[state]
    releases = int((is_idle[1:] & ~is_idle[:-1]).sum())
    counts = np.bincount(proc[occurred], minlength=len(tables.procedures))
    by_node = counts @ tables.messages
    promotions = int(counts @ tables.is_promotion)
    seconds = (states.end_s - states.start_s).to_numpy()

    def per_owner(codes: set[int]) -> dict[str, float]:
        mine = occurred & np.isin(owner, list(codes))
        flows = {name for code, name in owners.items() if code in codes}
        return {"promotions": int(tables.is_promotion[proc[mine]].sum()),
                "signalling_messages": int(msgs_of[proc[mine]].sum()),
                "radio_j": float(states.energy_j[states.flow.isin(flows)].sum()) if flows else 0.0}

    flows, apps = [], {}
    for f, flow in enumerate(train.flows):
        mine = train.flow == f
        row = {"flow": flow.name, "app": flow.app, "packets": int(mine.sum()),
               "up_bytes": int(train.ip_bytes[mine & train.up].sum()),
               "down_bytes": int(train.ip_bytes[mine & ~train.up].sum()), **per_owner({2 * f, 2 * f + 1})}
        flows.append(row)
        app = apps.setdefault(flow.app, {"flows": 0, "packets": 0, "up_bytes": 0, "down_bytes": 0, "promotions": 0,
                                         "signalling_messages": 0, "radio_j": 0.0})
        for key in app:
            app[key] += 1 if key == "flows" else row[key]
    total_msgs, total_j = float(by_node.sum()), float(states.energy_j.sum())
    share = (lambda v, tot: float(v) / tot if tot > 0 else 0.0)
    found = []
    for f, chain in periodic.items():
        mine = per_owner({2 * f + 1})  # the chain's bursts alone, the flow's other traffic apart
        found.append({"flow": train.flows[f].name, "app": train.flows[f].app, "period_s": chain.period_s,
                      "count": int(chain.bursts.size), **mine,
                      "promotions_share": share(mine["promotions"], promotions),
                      "signalling_share": share(mine["signalling_messages"], total_msgs),
                      "energy_share": share(mine["radio_j"], total_j)})
    state_names = list(MODULES[radio].STATES)
    promo = states.phase == "promotion"
    return {
        "capture": capture | {"packets": int(train.t_s.size), "bytes": int(train.ip_bytes.sum()),
                              "span_s": float(train.t_s[-1]), "flows": len(train.flows), "device": train.device},
        "radio": radio,
        "end_s": end_s,
        "rrc": {"promotions_total": promotions, "releases_total": releases,
                "time_s_by_state": {s: float(seconds[states.state == s].sum()) for s in state_names},
                "promotion_s": float(seconds[promo].sum())},
        "signalling": {"messages_total": int(by_node.sum()),
                       "by_node": {n: int(by_node[j]) for j, n in enumerate(tables.nodes)},
                       "by_procedure": {p: int(counts[k] * msgs_of[k]) for k, (_, p) in enumerate(tables.procedures)
                                        if counts[k]},
                       "occurrences_by_procedure": {p: int(counts[k]) for k, (_, p) in enumerate(tables.procedures)
                                                    if counts[k]}},
        "energy": {"radio_j": total_j,
                   "radio_j_by_state": {s: float(states.energy_j[states.state == s].sum()) for s in state_names},
                   "promotion_j": float(states.energy_j[promo].sum()),
                   "radio_j_by_flow": {k: float(v)
                                       for k, v in states.groupby("flow", sort=False).energy_j.sum().items()},
                   "radio_j_by_app": {a: v["radio_j"] for a, v in apps.items()}
                   | {k: float(states.energy_j[states.flow == k].sum()) for k in (IDLE, MOBILITY_APP)
                      if (states.flow == k).any()}},
        "flows": flows,
        "apps": apps,
        "periodic": found,
    }


def trace_capture(path: str | Path, radio: str = "lte", overrides: Sequence[str] = (), device: str | None = None,
                  apps: dict[str, list[str]] | None = None) -> TraceRun:
    """Read the capture at ``path`` and run its device's packets through ``radio``'s profile with ``overrides``."""
    radio, profile = trace_profile(radio, overrides)
    capture = read_capture(path)
    train = device_train(capture, device, apps)
    return run_trace(train, radio, profile, {"file": str(path), "link_type": capture.link_type,
                                             "ignored_packets": capture.ignored})
