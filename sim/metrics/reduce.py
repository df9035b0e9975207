"""Reduce an event log to every reported metric, with numpy (no per-event Python)."""
from __future__ import annotations

import math
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import pandas as pd

from sim.engine.log import HEARTBEAT, MESSAGE, RECONNECT, LogArrays
from sim.metrics.concentration import TOP_PERCENTS, gini, top_share
from sim.metrics.results import Results
from sim.radio.tables import ModelTables
from sim.scenario import ResolvedScenario
from sim.scenario.schema import NETWORK_APP, PUSH_APP


def software_version() -> str:
    try:
        return version("signalsim")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "unknown"


def _occupancy(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Device-seconds inside each bin of ``edges`` covered by intervals [starts, ends)."""

    def covered_until(bounds: np.ndarray) -> np.ndarray:  # sum over intervals of max(0, edge - bound)
        b = np.sort(bounds)
        prefix = np.concatenate(([0.0], np.cumsum(b)))
        k = np.searchsorted(b, edges, side="left")
        return edges * k - prefix[k]

    integral = covered_until(starts) - covered_until(ends)
    return np.diff(integral)


def _binned_p95(t: np.ndarray, values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """95th percentile of ``values`` per bin of their times ``t`` (0 where a bin has none)."""
    bins = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, edges.size - 2)
    out = np.zeros(edges.size - 1)
    order = np.argsort(bins, kind="stable")
    starts = np.searchsorted(bins[order], np.arange(edges.size - 1))
    for b, chunk in enumerate(np.split(values[order], starts[1:])):
        if chunk.size:
            out[b] = np.percentile(chunk, 95)
    return out


def reduce_log(log: LogArrays, tables: ModelTables, rs: ResolvedScenario, engine: str) -> Results:
    """Every metric of a run from its log."""
    scn = rs.scenario
    end_s, bin_s = scn.simulation.duration_s, scn.simulation.bin_s
    n_dev = sum(g.devices for g in scn.groups)
    device_hours = n_dev * end_s / 3600.0
    apps = [a.name for a in scn.apps] + [PUSH_APP, NETWORK_APP]
    n_apps = len(apps)
    nodes, states = list(tables.nodes), tables.state_names
    n_bins = math.ceil(end_s / bin_s - 1e-9)  # a last bin shorter than a nanobin is rounding, not a bin
    edges = np.append(np.arange(n_bins) * bin_s, end_s)
    bin_len = np.diff(edges)

    # --- RRC transitions -----------------------------------------------------------------
    keep = log.tr_t < end_s
    t, dev, proc, owner, state = (a[keep] for a in (log.tr_t, log.tr_device, log.tr_proc, log.tr_owner, log.tr_state))
    order = np.argsort(dev, kind="stable")  # each device's records are already in time order
    t, dev, proc, owner, state = t[order], dev[order], proc[order], owner[order], state[order]
    nxt = np.append(t[1:], end_s)
    last_of_device = np.append(dev[1:] != dev[:-1], True)
    nxt[last_of_device] = end_s
    dur = nxt - t
    name_of_state = np.array([states.index(s) for _, s in tables.states], dtype=np.int64)
    sname = name_of_state[state]
    state_time = np.bincount(dev * len(states) + sname, weights=dur, minlength=n_dev * len(states))
    state_time = state_time.reshape(n_dev, len(states))
    occupancy = np.stack([_occupancy(t[sname == k], nxt[sname == k], edges) for k in range(len(states))], axis=1)

    has = proc >= 0
    p_t, p_dev, p_proc, p_owner = t[has], dev[has], proc[has], owner[has]
    per_node = tables.messages[p_proc].astype(np.float64)  # [procedure occurrence, node]
    per_event = per_node.sum(axis=1)
    p_bin = np.minimum((p_t / bin_s).astype(np.int64), n_bins - 1)
    bin_node = np.stack([np.bincount(p_bin, weights=per_node[:, j], minlength=n_bins) for j in range(len(nodes))],
                        axis=1)
    promo = tables.is_promotion[p_proc]
    dev_msgs = np.bincount(p_dev, weights=per_event, minlength=n_dev)
    dev_promos = np.bincount(p_dev[promo], minlength=n_dev)
    app_msgs = np.bincount(p_owner, weights=per_event, minlength=n_apps)
    app_promos = np.bincount(p_owner[promo], minlength=n_apps)
    proc_count = np.bincount(p_proc, minlength=len(tables.procedures))
    energy = (np.bincount(dev, weights=dur * tables.state_power_w[state], minlength=n_dev)
              + np.bincount(p_dev, weights=tables.promotion_extra_j[p_proc], minlength=n_dev))

    # --- transfers -------------------------------------------------------------------------
    x_bytes = log.x_up_bytes + log.x_down_bytes
    x_bin = np.minimum((log.x_t / bin_s).astype(np.int64), n_bins - 1)
    app_bytes = np.bincount(log.x_app, weights=x_bytes, minlength=n_apps)
    app_kind = np.bincount(log.x_app * 3 + log.x_kind, minlength=n_apps * 3).reshape(n_apps, 3)
    dev_up = np.bincount(log.x_device, weights=log.x_up_bytes, minlength=n_dev)
    dev_down = np.bincount(log.x_device, weights=log.x_down_bytes, minlength=n_dev)
    dev_packets = np.bincount(log.x_device, weights=log.x_packets, minlength=n_dev)

    # --- tables ----------------------------------------------------------------------------
    ts = {"t_start_s": edges[:-1], "t_end_s": edges[1:], "messages_total": bin_node.sum(axis=1).astype(np.int64)}
    ts |= {f"messages_{n}": bin_node[:, j].astype(np.int64) for j, n in enumerate(nodes)}
    ts["promotions"] = np.bincount(p_bin[promo], minlength=n_bins)
    ts |= {f"devices_{s}": occupancy[:, k] / bin_len for k, s in enumerate(states)}
    ts["up_bytes"] = np.bincount(x_bin, weights=log.x_up_bytes, minlength=n_bins).astype(np.int64)
    ts["down_bytes"] = np.bincount(x_bin, weights=log.x_down_bytes, minlength=n_bins).astype(np.int64)
    ts["bytes"] = ts["up_bytes"] + ts["down_bytes"]
    c_bin = np.minimum((log.call_t / bin_s).astype(np.int64), n_bins - 1)
    ts["call_attempts"] = np.bincount(c_bin, minlength=n_bins)
    ts["call_failures"] = np.bincount(c_bin[~log.call_ok], minlength=n_bins)
    for name, node in log.node_log.items():  # closed loop: load against capacity per limited node
        ts[f"offered_{name}"] = np.histogram(node["offer_t"], edges, weights=node["offer_messages"])[0].astype(np.int64)
        ts[f"carried_{name}"] = np.histogram(node["carried"][:, 0], edges, weights=node["carried"][:, 1])[0].astype(
            np.int64)
        ts[f"capacity_{name}"] = bin_len * node["capacity_per_s"]
        ts[f"rejected_{name}"] = np.histogram(node["reject_t"], edges)[0]
        busy = _occupancy(node["busy"][:, 0], node["busy"][:, 1], edges)
        ts[f"utilization_{name}"] = busy / (bin_len * node["servers"])
        ts[f"queue_{name}"] = _occupancy(node["queued"][:, 0], node["queued"][:, 1], edges) / bin_len
        ts[f"wait_p95_{name}_s"] = _binned_p95(node["waits"][:, 0], node["waits"][:, 1], edges)
    timeseries = pd.DataFrame(ts)

    installed = _installed(rs, log, n_apps)
    total_msgs, total_bytes = float(per_event.sum()), float(x_bytes.sum())
    share = (lambda v, tot: float(v) / tot if tot > 0 else 0.0)
    present = [i for i in range(n_apps)
               if i < n_apps - 2 or installed[i] > 0 or app_bytes[i] > 0 or app_msgs[i] > 0]
    app_rows = [{
        "app": apps[i], "active_devices": int(installed[i]),
        "signalling_messages": int(app_msgs[i]), "signalling_share": share(app_msgs[i], total_msgs),
        "promotions": int(app_promos[i]), "bytes": int(app_bytes[i]), "bytes_share": share(app_bytes[i], total_bytes),
        "heartbeats": int(app_kind[i, HEARTBEAT]), "messages": int(app_kind[i, MESSAGE]),
        "reconnects": int(app_kind[i, RECONNECT]),
    } for i in present]
    apps_df = pd.DataFrame(app_rows)

    group_of = np.repeat(np.arange(len(scn.groups)), [g.devices for g in scn.groups])
    devices = pd.DataFrame({
        "device": np.arange(n_dev), "group": [scn.groups[g].name for g in group_of],
        "radio": [rs.group_radio(g) for g in group_of],
        "signalling_messages": dev_msgs.astype(np.int64), "promotions": dev_promos.astype(np.int64),
        "up_bytes": dev_up.astype(np.int64), "down_bytes": dev_down.astype(np.int64),
        "packets": dev_packets.astype(np.int64), "radio_energy_j": energy,
    } | {f"time_s_{s}": state_time[:, k] for k, s in enumerate(states)})

    by_procedure: dict[str, int] = {}
    for code, (_, name) in enumerate(tables.procedures):
        if name != "call_setup":  # voice calls are reported under "calls", not as data signalling
            by_procedure[name] = by_procedure.get(name, 0) + int(proc_count[code] * tables.messages[code].sum())
    summary = {
        "scenario": scn.name,
        "seed": scn.simulation.seed,
        "engine": engine,
        "software_version": software_version(),
        "duration_s": end_s,
        "bin_s": bin_s,
        "devices": n_dev,
        "signalling": {
            "messages_total": int(total_msgs),
            "messages_per_device_hour": total_msgs / device_hours,
            "by_node": {n: int(bin_node[:, j].sum()) for j, n in enumerate(nodes)},
            "by_procedure": by_procedure,
            "peak_per_s": {n: float((bin_node[:, j] / bin_len).max()) for j, n in enumerate(nodes)},
        },
        "rrc": {
            "promotions_total": int(promo.sum()),
            "promotions_per_device_hour": float(promo.sum()) / device_hours,
            "time_share_by_state": {s: float(state_time[:, k].sum() / (n_dev * end_s)) for k, s in enumerate(states)},
        },
        "apps": {r["app"]: {k: v for k, v in r.items() if k != "app"} for r in app_rows},
        "concentration": {
            "top_share": {str(p): top_share(dev_msgs, p) for p in TOP_PERCENTS},
            "gini": gini(dev_msgs),
        },
        "energy": {"radio_j_per_device_hour": float(energy.sum()) / device_hours},
        "traffic": {
            "packets_total": int(log.x_packets.sum()),
            "bytes_total": int(total_bytes),
            "up_bytes": int(log.x_up_bytes.sum()),
            "down_bytes": int(log.x_down_bytes.sum()),
            "messages_held": log.held_messages,
        },
    }
    if log.controlplane:
        summary["controlplane"] = log.controlplane
    if scn.events:
        summary["events"] = [e.model_dump() for e in scn.events]
    attempts, decided, failed = log.call_attempts, int(log.call_t.size), int((~log.call_ok).sum())
    call_proc = np.array([tables.procedures.index((rs.group_radio(g), "call_setup")) for g in range(len(scn.groups))])
    call_msgs = tables.messages[call_proc[group_of[log.call_device]]].sum(axis=0)
    summary["calls"] = {
        "attempts": attempts, "failed": failed, "failure_ratio": failed / decided if decided else 0.0,
        "pending_at_end": attempts - decided,
        "setup_p95_s": float(np.percentile(log.call_setup_s, 95)) if decided else 0.0,
        "messages_by_node": {n: int(call_msgs[j]) for j, n in enumerate(nodes)},
    }
    return Results(summary, timeseries, apps_df, devices, nodes, states)


def _installed(rs: ResolvedScenario, log: LogArrays, n_apps: int) -> np.ndarray:
    """Devices per app that sent or received anything (installed and active in the run)."""
    pairs = np.unique(log.x_app * (log.x_device.max(initial=0) + 1) + log.x_device)
    return np.bincount(pairs // (log.x_device.max(initial=0) + 1), minlength=n_apps)
