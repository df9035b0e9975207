"""The closed loop's random access: each cell a shared resource that promotions contend for.

A cell resolves its random-access opportunities (RAOs) as ``sim.radio.rach`` does, with the same
piece (:func:`sim.radio.rach.opportunity`) drawing from the cell's own generator in the same order
(the contenders of an RAO by device), so a cell given the requests of a batch run's devices at
their arrival times returns the batch run's outcomes. It wakes only at RAOs someone contends
for, so idle cells cost nothing.

Device ``d`` of a radio with random access enabled is in cell ``d mod C`` of base station ``b``,
``C`` the paging area's ``cells_per_base_station`` and ``b = d // devices_per_node`` of the radio's
base-station node when ``[controlplane.nodes]`` limits it (its instance), else 0: a base station's
devices spread round-robin over its cells (assumption; docs/model.md §14).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from sim.radio import rach
from sim.radio.profiles import Profile

RACH_STREAM = 0x4AC4  # spawn key of the cells' generators, apart from every other stream of the run


@dataclass(frozen=True, slots=True)
class Access:
    """How one random access ended: ``ok``; ``done_s``, Msg4 received or the last attempt failed;
    ``first_s``, the RAO of its first preamble; ``transmissions``, preambles sent; ``extra_s``, on success
    the time from the request beyond an uncontended access (which the profile's promotion delay holds)."""

    ok: bool
    done_s: float
    first_s: float
    transmissions: int
    extra_s: float


class Cell:
    """One cell's RAOs; :meth:`access` starts a device's random access now."""

    def __init__(self, env: simpy.Environment, name: str, tm: rach.Timing, rng: np.random.Generator):
        self.env, self.name, self.tm, self.rng = env, name, tm, rng
        # RAO -> contenders: (device, transmission, first RAO s, request s, event to fire when done)
        self._waiting: dict[int, list[tuple[int, int, float, float, simpy.Event]]] = {}
        self.attempts = self.collided_preambles = self.collided_attempts = self.successes = self.failures = 0
        self.raos = 0  # RAOs anyone contended for
        self.delay_sum_s = 0.0  # first preamble's RAO to Msg4, over the successes
        self.transmissions_sum = 0  # over the successes
        self.rao_log: list[float] = []  # flat (time, preambles sent, collided preambles) per contended RAO
        self.success_log: list[float] = []  # flat (time, first preamble's RAO to Msg4) per success
        self.failure_times_s: list[float] = []

    def access(self, device: int) -> simpy.Event:
        """Contend from the first RAO at or after now; the event fires with an :class:`Access`."""
        done = self.env.event()
        rao = math.ceil(self.env.now * 1000.0 / self.tm.period_ms - 1e-9)
        self._enter(rao, (device, 1, rao * self.tm.period_ms / 1000.0, self.env.now, done))
        return done

    def _enter(self, rao: int, contender: tuple[int, int, float, float, simpy.Event]) -> None:
        waiting = self._waiting.get(rao)
        if waiting is None:
            self._waiting[rao] = [contender]
            at_s = rao * self.tm.period_ms / 1000.0
            self.env.timeout(max(0.0, at_s - self.env.now), rao).callbacks.append(self._resolve)
        else:
            waiting.append(contender)

    def _resolve(self, event: simpy.Event) -> None:
        rao, tm = event.value, self.tm
        contenders = sorted(self._waiting.pop(rao))
        n = len(contenders)
        end_ms, retry_ms, outcome = np.empty(n), np.empty(n), np.empty(n, dtype=np.int64)
        tx = np.array([c[1] for c in contenders], dtype=np.int64)
        collided = rach.opportunity(self.rng, rao * tm.period_ms, tx, tm, end_ms, retry_ms, outcome)
        self.raos += 1
        self.attempts += n
        self.collided_preambles += collided
        self.collided_attempts += int((outcome == rach.COLLIDED).sum())
        self.rao_log.extend((self.env.now, n, collided))
        for (device, k, first_s, request_s, done), end, retry, result in zip(contenders, end_ms.tolist(),
                                                                              retry_ms.tolist(), outcome.tolist()):
            if result == rach.SUCCESS:
                extra_s = end / 1000.0 - request_s - rach.uncontended_ms(tm) / 1000.0
                self._finish(done, Access(True, end / 1000.0, first_s, k, extra_s))
            elif k == tm.max_tx:
                self._finish(done, Access(False, end / 1000.0, first_s, k, 0.0))
            else:
                self._enter(math.ceil(retry / tm.period_ms), (device, k + 1, first_s, request_s, done))

    def _finish(self, done: simpy.Event, access: Access) -> None:
        """Count the access and tell the device when it ends (Msg4, or its last attempt's failure): one
        still under way when the run ends is in no count."""
        def end(_: simpy.Event) -> None:
            if access.ok:
                self.successes += 1
                self.delay_sum_s += access.done_s - access.first_s
                self.transmissions_sum += access.transmissions
                self.success_log.extend((access.done_s, access.done_s - access.first_s))
            else:
                self.failures += 1
                self.failure_times_s.append(access.done_s)
            done.succeed(access)

        self.env.timeout(max(0.0, access.done_s - self.env.now)).callbacks.append(end)


class RandomAccessCells:
    """The cells of every radio with random access enabled, created when first used."""

    def __init__(self, env: simpy.Environment, profiles: dict[str, Profile], limited: dict[str, Any],
                 promotion: np.ndarray, seed: int):
        """``limited``: the scenario's node capacities (their ``devices_per_node`` place devices at
        base stations); ``promotion[proc]``: the procedures whose RRC setup needs a random access."""
        self.env, self.seed, self.promotion = env, seed, promotion
        self.timing = {r: rach.timing(p.rach) for r, p in profiles.items() if getattr(p, "rach", None)
                       and p.rach.enabled}
        self.layout = {}  # radio -> (base station node, its devices per base station or None, cells per base station)
        for radio in self.timing:
            station = type(profiles[radio]).BASE_STATION
            cap = limited.get(station)
            self.layout[radio] = (station, cap.devices_per_node if cap is not None else None,
                                  profiles[radio].paging_areas["paging"].cells_per_base_station)
        self.cells: dict[tuple[str, int, int], Cell] = {}

    def cell(self, radio: str, device: int) -> Cell | None:
        """The cell ``device`` of ``radio`` contends in, or None if its radio has no random access."""
        tm = self.timing.get(radio)
        if tm is None:
            return None
        station, per_station, cells = self.layout[radio]
        key = (radio, 0 if per_station is None else device // per_station, device % cells)
        cell = self.cells.get(key)
        if cell is None:
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(RACH_STREAM, len(self.cells))))
            cell = self.cells[key] = Cell(self.env, f"{station}[{key[1]}] cell {key[2]}", tm, rng)
        return cell

    def stats(self) -> dict[str, Any]:
        """Over every cell, and per cell: preambles sent, collisions (TR 37.868's collision probability
        over the run's RAOs), accesses that succeeded and failed, mean transmissions and delay."""
        per_cell = {c.name: _cell_stats([c], self.env.now) for c in self.cells.values()}
        return _cell_stats(list(self.cells.values()), self.env.now) | {"cells": len(self.cells), "by_cell": per_cell}

    def log(self) -> dict[str, np.ndarray]:
        """Over every cell: (time, preambles, collided preambles) per contended RAO, (time, delay) per
        success, the failures' times."""
        cells = list(self.cells.values())
        return {"raos": np.array([v for c in cells for v in c.rao_log]).reshape(-1, 3),
                "successes": np.array([v for c in cells for v in c.success_log]).reshape(-1, 2),
                "failures": np.array([t for c in cells for t in c.failure_times_s])}


def _cell_stats(cells: list[Cell], until_s: float) -> dict[str, Any]:
    """Totals over ``cells``; the collision probability over all their RAOs up to ``until_s``."""
    won = sum(c.successes for c in cells)
    decided = won + sum(c.failures for c in cells)
    raos = sum(math.floor(until_s * 1000.0 / c.tm.period_ms) + 1 for c in cells)
    preambles = sum((math.floor(until_s * 1000.0 / c.tm.period_ms) + 1) * c.tm.preambles for c in cells)
    sent = sum(c.attempts for c in cells)
    return {
        "attempts": sent,
        "collided_preambles": sum(c.collided_preambles for c in cells),
        "collided_attempts": sum(c.collided_attempts for c in cells),
        "collision_probability": sum(c.collided_preambles for c in cells) / preambles if cells else 0.0,
        "attempt_collision_probability": sum(c.collided_attempts for c in cells) / sent if sent else 0.0,
        "successes": won,
        "failures": decided - won,
        "access_success_probability": won / decided if decided else 0.0,
        "preamble_transmissions_mean": sum(c.transmissions_sum for c in cells) / won if won else 0.0,
        "access_delay_mean_s": sum(c.delay_sum_s for c in cells) / won if won else 0.0,
        "raos_contended": sum(c.raos for c in cells),
        "raos": raos,
    }
