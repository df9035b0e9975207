"""Every device's open-loop sends, merged: the times known in advance from the draws.

Fixed heartbeats (an app's own, and the OS push channel's) and user messages do not depend
on anything the network does, so a block's are computed at once and merged per device into
one time-ordered list. Stream codes say what each send is: ``2a`` app a's heartbeat,
``2a + 1`` app a's message, ``2 x apps`` the push channel's heartbeat.
"""
from __future__ import annotations

import numpy as np

from sim.population.draws import BlockDraws, fixed_schedules
from sim.scenario.schema import Scenario

_NO_JITTER = np.zeros(0)


def push_users(scenario: Scenario, d: BlockDraws) -> np.ndarray:
    """Devices of the block with at least one app on the OS push channel."""
    uses = np.zeros(d.n, dtype=bool)
    for app, draws in zip(scenario.apps, d.apps):
        if app.connection == "push":
            uses |= draws.installed
    return uses


def open_loop_sends(scenario: Scenario, d: BlockDraws, uses_push: np.ndarray) -> tuple[np.ndarray, ...]:
    """(device in block, time, stream, incoming) of every open-loop send, sorted by device then time."""
    end_s = scenario.simulation.duration_s
    # (active devices, sends per device, their times in device order, stream, incoming)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray | None]] = []
    for a, (app, draws) in enumerate(zip(scenario.apps, d.apps)):
        hb = app.heartbeat
        if app.connection == "own" and hb.policy == "fixed":
            counts, times = fixed_schedules(hb.interval_s, hb.jitter, draws.phase, draws.jitter, end_s)
            parts.append((draws.installed, counts, times, 2 * a, None))
        parts.append((draws.installed, np.diff(draws.msg_offsets), draws.msg_times_s, 2 * a + 1, draws.msg_incoming))
    counts, times = fixed_schedules(scenario.groups[d.group].push_interval_s, 0.0, d.push_phase, _NO_JITTER, end_s)
    parts.append((uses_push, counts, times, 2 * len(scenario.apps), None))
    columns: list[list[np.ndarray]] = [[], [], [], []]
    for active, counts, times, stream, incoming in parts:
        keep = np.repeat(active, counts)
        dev = np.repeat(np.arange(d.n), counts)[keep]
        columns[0].append(dev)
        columns[1].append(times[keep])
        columns[2].append(np.full(dev.size, stream))
        columns[3].append(incoming[keep] if incoming is not None else np.zeros(dev.size, dtype=bool))
    dev, t, stream, incoming = (np.concatenate(c) for c in columns)
    order = np.lexsort((stream, t, dev))
    return dev[order], t[order], stream[order], incoming[order]
