"""Reduce event logs to every reported metric, with numpy (no per-event Python).

A :class:`Reducer` takes the logs of disjoint device ranges one at a time (the SimPy engine
hands it one log of every device, the fast engine one per chunk of devices) and keeps only
additive accumulators, so memory is bounded by the population, not by the number of events.
"""
from __future__ import annotations

import math
from dataclasses import asdict, fields
from typing import Any

import numpy as np

from sim.engine.log import HEARTBEAT, MESSAGE, RECONNECT, UNANSWERED, LogArrays, RestartOutcome
from sim.metrics.rach import rach_columns
from sim.metrics import delivery, tally
from sim.metrics.coverage import Coverage, bin_edges
from sim.metrics.concentration import TOP_PERCENTS, gini, top_share
from sim.metrics.nodes import NodeLog
from sim.metrics.results import Results, Tables
from sim.metrics.table import Labelled, Table
from sim.metrics.transfers import delivered
from sim.radio.tables import CONNECTED_STATES, IDLE_STATES, ModelTables
from sim.scenario import ResolvedScenario
from sim.scenario.schema import CALL_TYPES, PSEUDO_APPS, SERVICE_APP, SERVICE_TYPES, SMS_APP, SMS_TYPES, VOICE_APP
from sim.version import software_version



class Reducer:
    """Every metric of a run, from the logs of its devices.

    A reducer covers a range of devices (all, by default). Logs of devices in its range are
    :meth:`add`-ed; reducers of sub-ranges (a chunk reduced in a worker process, say) are
    :meth:`absorb`-ed. Absorbing the same parts in the same order gives the same floats,
    whichever process reduced them.
    """

    PER_DEVICE = ("dev_msgs", "dev_voice_msgs", "dev_sms_msgs", "dev_promos", "dev_up", "dev_down", "dev_packets",
                  "energy", "state_time", "dev_delivered", "dev_delay_us")
    ADDITIVE = ("bin_proc", "app_proc", "bin_up", "bin_down", "app_bytes", "app_kind", "installed", "traffic",
                "call_legs", "voice_radio", "call_attempts", "app_state_s", "delay_hist", "app_delay_us",
                "app_delayed", "bin_delivered", "bin_delay_us", "bin_delayed")

    def __init__(self, tables: ModelTables, rs: ResolvedScenario, first_device: int = 0,
                 n_devices: int | None = None):
        self.tables, self.rs = tables, rs
        scn = rs.scenario
        self.end_s, self.bin_s = scn.simulation.duration_s, scn.simulation.bin_s
        self.first = first_device
        self.n_dev = sum(g.devices for g in scn.groups) - first_device if n_devices is None else n_devices
        self.apps = [a.name for a in scn.apps] + list(PSEUDO_APPS)  # codes: sim.radio.tables, sim.engine.connections
        self.voice = self.apps.index(VOICE_APP)
        self.service_app = np.array([self.apps.index(a) for a in SERVICE_APP], dtype=np.int64)  # per service type
        self.states = tables.state_names
        self.edges = bin_edges(self.end_s, self.bin_s)
        self.n_bins = self.edges.size - 1
        self.name_of_state = np.array([self.states.index(s) for _, s in tables.states], dtype=np.int64)
        n_apps, n_bins, n_dev, n_states = len(self.apps), self.n_bins, self.n_dev, len(self.states)
        self.occupancy = Coverage(self.edges, self.bin_s, n_states)
        # per procedure code + 1 (0: a device's initial state, code -1): messages, promotions and
        # promotion energy of one occurrence
        self.n_procs = len(tables.procedures) + 1
        self.msgs_of = np.append(0, tables.messages.sum(axis=1))
        self.promo_of = np.append(False, tables.is_promotion).astype(np.int64)
        self.extra_j_of = np.append(0.0, tables.promotion_extra_j)
        self.bin_proc = np.zeros((n_bins, self.n_procs), dtype=np.int64)  # occurrences per bin and procedure
        self.app_proc = np.zeros((n_apps + 1, self.n_procs), dtype=np.int64)  # ... per owner app (first: none)
        self.app_state_s = np.zeros((n_apps + 1, len(tables.states)))  # seconds per owner app and state code
        self.bin_up = np.zeros(n_bins)
        self.bin_down = np.zeros(n_bins)
        self.app_bytes = np.zeros(n_apps)
        self.app_kind = np.zeros((n_apps, 4), dtype=np.int64)
        self.installed = np.zeros(n_apps, dtype=np.int64)
        self.dev_msgs = np.zeros(n_dev, dtype=np.int64)
        self.dev_voice_msgs = np.zeros(n_dev, dtype=np.int64)  # of dev_msgs: voice calls' (for concentration_apps)
        self.dev_sms_msgs = np.zeros(n_dev, dtype=np.int64)  # of dev_msgs: short messages' (likewise)
        self.dev_promos = np.zeros(n_dev, dtype=np.int64)
        self.dev_up = np.zeros(n_dev)
        self.dev_down = np.zeros(n_dev)
        self.dev_packets = np.zeros(n_dev)
        self.energy = np.zeros(n_dev)
        self.state_time = np.zeros((n_dev, n_states))
        # delivery delay (sim.metrics.delivery): per app and kind (row 2 x app: its heartbeats, + 1: its messages)
        # a histogram, the sum (us) and how many beyond the threshold; per device and per bin of generation time
        # the count and sum (and per bin how many beyond)
        self.threshold_us = int(delivery.quanta(np.array([scn.outputs.delivery_threshold_s]))[0])
        self.delay_hist = np.zeros((2 * n_apps, delivery.BUCKETS), dtype=np.int64)
        self.delay_low = np.full((2 * n_apps, delivery.BUCKETS), delivery.EMPTY_LOW)  # each bucket's least delay
        self.delay_high = np.zeros((2 * n_apps, delivery.BUCKETS), dtype=np.int64)  # ... and greatest
        self.app_delay_us = np.zeros(2 * n_apps, dtype=np.int64)
        self.app_delayed = np.zeros(2 * n_apps, dtype=np.int64)
        self.dev_delivered, self.dev_delay_us = np.zeros(n_dev, dtype=np.int64), np.zeros(n_dev, dtype=np.int64)
        self.bin_delivered, self.bin_delay_us = np.zeros(n_bins, dtype=np.int64), np.zeros(n_bins, dtype=np.int64)
        self.bin_delayed = np.zeros(n_bins, dtype=np.int64)
        self.traffic = np.zeros(4, dtype=np.int64)  # packets, up bytes, down bytes, held messages
        self.calls: list[tuple[np.ndarray, ...]] = []
        self.call_legs = np.zeros((len(SERVICE_TYPES), self.n_procs), dtype=np.int64)  # [type, procedure + 1]
        # per (service type, radio): the legs' first procedure (what a carried one logs) and all it exchanged
        radios = tables.radios
        self.proc_radio = np.array([radios.index(r) for r, _ in tables.procedures], dtype=np.int64)
        self.first_leg = np.array([[tables.call_legs(r, t)[0] for r in radios] for t in SERVICE_TYPES],
                                  dtype=np.int64)
        self.leg_occ = np.array([[np.append(0, tables.call_occurrences(r, t)) for r in radios] for t in SERVICE_TYPES])
        # [type, radio, k, procedure + 1]: what the first k offers (ModelTables.call_offers) exchanged
        offers = [[tables.call_offers(r, t) for r in radios] for t in SERVICE_TYPES]
        self.offers_occ = np.zeros((len(SERVICE_TYPES), len(radios), 1 + max(len(o) for row in offers for o in row),
                                    self.n_procs), dtype=np.int64)
        for k, row in enumerate(offers):
            for r, codes in enumerate(row):
                for j, code in enumerate(codes):
                    self.offers_occ[k, r, j + 1:, code + 1] += 1
        self.voice_radio = np.zeros(2)  # the voice app's connected seconds and their radio energy (J)
        self.connected_state = np.array([s in CONNECTED_STATES for _, s in tables.states])
        self.call_attempts = np.zeros(len(SERVICE_TYPES), dtype=np.int64)  # per service type, pending ones too
        self.controlplane: dict[str, Any] = {}
        self.node_log: NodeLog | None = None
        self.rach: dict[str, Any] = {}
        self.rach_log: dict[str, np.ndarray] = {}
        self.restart_outcomes: dict[int, RestartOutcome] = {}
        #: the promotions (time, device in range, procedure) of transition records streamed before their log
        self.streamed: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, log: LogArrays) -> None:
        """Account the log of (some of) this reducer's devices."""
        bin_s, n_bins, n, first_device, span = self.bin_s, self.n_bins, self.n_dev, self.first, slice(None)
        n_apps = len(self.apps)

        # --- RRC transitions -------------------------------------------------------------
        t, dev, proc, owner, state = log.tr_t, log.tr_device - first_device, log.tr_proc, log.tr_owner, log.tr_state
        if not log.tr_grouped:  # each device's records in one run (they are in time order already)
            order = np.argsort(dev, kind="stable")
            t, dev, proc, owner, state = t[order], dev[order], proc[order], owner[order], state[order]
        self._transitions(t, dev, proc, owner, state, np.zeros(0, dtype=np.bool_))
        if self.streamed:  # the promotions of the parts streamed before (_transitions), for the delivery delays
            parts = [*self.streamed, (t, dev, proc)]
            order = np.argsort(np.concatenate([p[1] for p in parts]), kind="stable")
            t, dev, proc = (np.concatenate([p[k] for p in parts])[order] for k in range(3))
            self.streamed = []

        # --- transfers: counted per kind of transfer (code), then multiplied out -------------
        table = log.x_table  # [code, (app, kind, up, down, packets)]
        per_device, per_bin = tally.transfers(log.x_t, log.x_device - first_device, log.x_code, n, table.shape[0],
                                              bin_s, n_bins)
        if log.x_counts is not None:
            per_device += log.x_counts[0]
            per_bin += log.x_counts[1]
        per_code = per_bin.sum(axis=0)
        app, kind, up, down, packets = table.T
        self.dev_up[span] += per_device @ up
        self.dev_down[span] += per_device @ down
        self.dev_packets[span] += per_device @ packets
        self.bin_up += per_bin @ up
        self.bin_down += per_bin @ down
        np.add.at(self.app_bytes, app, per_code * (up + down))
        np.add.at(self.app_kind, (app, kind), per_code)
        # devices with any transfer of each app: distinct (device, app) pairs among the nonzero
        # (device, code) counts (a dense device x app product costs devices x codes x apps)
        with_any, code = np.nonzero(per_device)
        owner_app = self.service_app[log.call_type]  # calls are voice's, short messages sms's
        callers = (log.call_device - first_device).astype(np.int64) * n_apps + owner_app
        pairs = np.unique(np.concatenate([with_any.astype(np.int64) * n_apps + app[code], callers]))
        self.installed += np.bincount(pairs % n_apps, minlength=n_apps)
        self.traffic += [int(per_code @ packets), int(per_code @ up), int(per_code @ down), log.held_messages]
        self._delivery(log, delivered(kind), (t, dev, proc))

        # --- voice calls, short messages and the closed loop ---------------------------------
        # A decided call attempt (or short message) is signalling like any other, owned by the voice
        # (sms) pseudo-app: what it exchanged (its setup, or the reject that refused it) counts per bin,
        # device and procedure. [call, procedure + 1]: a carried one's legs and pages (CALL_LEGS), else
        # the offers carried before the reject and the reject; of one undecided at the end, the offers carried
        c_radio = self.proc_radio[log.call_proc]  # (any radio for VoIP, code -1: its row is empty on all)
        undecided = log.call_undecided
        carried = (self.first_leg[log.call_type, c_radio] == log.call_proc) & ~undecided
        occ = np.where(carried[:, None], self.leg_occ[log.call_type, c_radio],
                       self.offers_occ[log.call_type, c_radio, log.call_carried])
        refused = ~carried & ~undecided
        occ[np.flatnonzero(refused), log.call_proc[refused] + 1] += 1
        c_bin = np.minimum((log.call_t / bin_s).astype(np.int64), n_bins - 1)
        np.add.at(self.bin_proc, c_bin, occ)
        np.add.at(self.call_legs, log.call_type, occ)
        np.add.at(self.app_proc, owner_app + 1, occ)
        c_dev, c_msgs = log.call_device - first_device, occ @ self.msgs_of
        is_sms = owner_app == self.apps.index(SMS_APP)
        voice_msgs, sms_msgs = (np.bincount(c_dev, weights=np.where(mine, c_msgs, 0), minlength=n).astype(np.int64)
                                for mine in (~is_sms, is_sms))
        self.dev_msgs[span] += voice_msgs + sms_msgs
        self.dev_voice_msgs[span] += voice_msgs
        self.dev_sms_msgs[span] += sms_msgs
        decided = ~undecided
        self.calls.append((log.call_t[decided], log.call_device[decided], log.call_ok[decided],
                           log.call_setup_s[decided], log.call_type[decided]))
        self.call_attempts += log.call_attempts
        self.controlplane |= log.controlplane
        self._nodes(log.node_log)
        self.rach |= log.rach
        self.rach_log |= log.rach_log
        self.restart_outcomes |= log.restart_outcomes

    def stream_transitions(self, t: np.ndarray, device: np.ndarray, proc: np.ndarray, owner: np.ndarray,
                           state: np.ndarray, held: np.ndarray) -> None:
        """Account a part of a log's transition records (its ``LogArrays.tr_*`` fields) before the log:
        each device's together, in time order; ``held``: from each device's first held record on, the rest
        come again, with the log (a compiled closed loop streams its records so: ``sim.engine.closed``). The
        parts' promotions are kept for the delivery delays of the log's transfers."""
        dev = device - self.first
        self._transitions(t, dev, proc, owner, state, held)
        mine = ~held & (self.tables.promotion_delay_s[proc] >= 0.0) & (proc >= 0)
        self.streamed.append((t[mine], dev[mine], proc[mine]))

    def _transitions(self, t: np.ndarray, dev: np.ndarray, proc: np.ndarray, owner: np.ndarray, state: np.ndarray,
                     held: np.ndarray) -> None:
        """Account transition records (each device's together, in time order; device in range) but the
        ``held`` ones (``tally.transitions``)."""
        tables, span, n, end_s = self.tables, slice(None), self.n_dev, self.end_s
        # per device: seconds in each state (by code), occurrences of each procedure (0: the initial state)
        seconds, counts, bin_proc, app_proc, app_seconds, *bounds = tally.transitions(
            t, dev, proc, owner, state, self.name_of_state, end_s, self.bin_s, self.n_bins, n, len(tables.states),
            self.n_procs, len(self.apps) + 1, len(self.states), held)
        for k, name in enumerate(self.name_of_state):
            self.state_time[span, name] += seconds[:, k]
            self.energy[span] += seconds[:, k] * tables.state_power_w[k]
        for k in np.flatnonzero(self.extra_j_of):  # promotion energy, procedure by procedure (a fixed order)
            self.energy[span] += counts[:, k] * self.extra_j_of[k]
        self.dev_msgs[span] += counts @ self.msgs_of
        self.dev_promos[span] += counts @ self.promo_of
        self.occupancy.add_histograms(*bounds)
        self.bin_proc += bin_proc
        self.app_proc += app_proc
        self.app_state_s += app_seconds
        # The voice app's own RRC periods (a VoIP call's, a call-back request's), attributed as every
        # app's (§7): their signalling is a part of each device's voice messages; their time connected,
        # from the promotion to the release, and its radio energy are the data call types' cost.
        voice_recs = owner == self.voice
        if held.size:
            voice_recs &= ~held
        if voice_recs.any():
            self.dev_voice_msgs[span] += np.bincount(dev[voice_recs], weights=self.msgs_of[proc[voice_recs] + 1],
                                                     minlength=n).astype(np.int64)
        owned = voice_recs & self.connected_state[state]
        if owned.any():
            last = np.append(dev[1:] != dev[:-1], True)  # a device's last record lasts until the end
            until = np.where(last, end_s, np.append(t[1:], end_s))
            seconds_owned = (until - t)[owned]
            self.voice_radio += [seconds_owned.sum(), seconds_owned @ tables.state_power_w[state[owned]]]

    def _delivery(self, log: LogArrays, counted: np.ndarray, transitions: tuple[np.ndarray, ...]) -> None:
        """Account the delivery delays of the log's heartbeats and messages (``counted``: per code);
        ``transitions``: its ``(t, device in range, proc)``, device by device in time order."""
        app, kind = log.x_table[:, :2].T
        series = np.where(counted, 2 * app + (kind == MESSAGE), -1)  # rows of delay_hist
        parts = delivery.tally(log.x_t, log.x_generated_t if log.x_generated_t is not None else log.x_t,
                               log.x_device - self.first, log.x_code, series, *transitions,
                               self.tables.promotion_delay_s, self.threshold_us, self.bin_s, 2 * len(self.apps),
                               self.n_dev, self.n_bins)
        hist, low, high, *sums = parts
        self.delay_hist += hist
        self._bounds(low, high)
        for name, part in zip(("app_delay_us", "app_delayed", "dev_delivered", "dev_delay_us", "bin_delivered",
                               "bin_delay_us", "bin_delayed"), sums):
            getattr(self, name)[...] += part

    def _bounds(self, low: np.ndarray, high: np.ndarray) -> None:
        np.minimum(self.delay_low, low, out=self.delay_low)
        np.maximum(self.delay_high, high, out=self.delay_high)

    def absorb(self, part: Reducer) -> None:
        """Account a reducer of a sub-range of this one's devices."""
        span = slice(part.first - self.first, part.first - self.first + part.n_dev)
        for name in self.PER_DEVICE:
            getattr(self, name)[span] += getattr(part, name)
        for name in self.ADDITIVE:
            setattr(self, name, getattr(self, name) + getattr(part, name))
        self._bounds(part.delay_low, part.delay_high)
        self.occupancy.absorb(part.occupancy)
        self.calls += part.calls
        self.controlplane = _merged(self.controlplane, part.controlplane)
        self._nodes(part.node_log)
        self.rach |= part.rach
        self.rach_log |= part.rach_log
        for k, theirs in part.restart_outcomes.items():  # disjoint devices: their counts add up
            mine = self.restart_outcomes.get(k, RestartOutcome())
            self.restart_outcomes[k] = RestartOutcome(
                *(getattr(mine, f.name) + getattr(theirs, f.name) for f in fields(RestartOutcome)))

    def _nodes(self, part: NodeLog | None) -> None:
        """Account the node log of a part of the run (None: it has no limited node)."""
        if part is not None:
            if self.node_log is None:
                self.node_log = NodeLog(part.names, self.end_s, self.bin_s)
            self.node_log.absorb(part)

    def results(self, engine: str) -> Results:
        """The summary and tables of everything added."""
        tables, rs, scn = self.tables, self.rs, self.rs.scenario
        nodes, states, apps, edges = list(tables.nodes), self.states, self.apps, self.edges
        end_s, n_dev, n_bins = self.end_s, self.n_dev, self.n_bins
        bin_len = np.diff(edges)
        device_hours = n_dev * end_s / 3600.0
        counts = self.bin_proc[:, 1:]  # [bin, procedure] occurrences
        bin_node = counts @ tables.messages
        app_procs = self.app_proc[1:, 1:]
        app_msgs, app_promos = app_procs @ tables.messages.sum(axis=1), app_procs @ tables.is_promotion
        proc_count = counts.sum(axis=0)
        ts: dict[str, Any] = {"t_start_s": edges[:-1], "t_end_s": edges[1:], "messages_total": bin_node.sum(axis=1)}
        ts |= {f"messages_{n}": bin_node[:, j] for j, n in enumerate(nodes)}
        ts["promotions"] = counts @ tables.is_promotion
        occupancy = self.occupancy.per_bin()
        ts |= {f"devices_{s}": occupancy[:, k] / bin_len for k, s in enumerate(states)}
        ts["up_bytes"] = np.rint(self.bin_up).astype(np.int64)
        ts["down_bytes"] = np.rint(self.bin_down).astype(np.int64)
        ts["bytes"] = ts["up_bytes"] + ts["down_bytes"]
        # heartbeats and messages by the bin they were generated in (delivered by the end)
        ts["delivered_messages"] = self.bin_delivered
        ts["delivery_mean_s"] = _ratio(self.bin_delay_us * delivery.RESOLUTION_S, self.bin_delivered, 0.0)
        ts["delivery_delayed_share"] = _ratio(self.bin_delayed, self.bin_delivered, 0.0)
        call_t, _, call_ok, call_setup_s, call_type = (np.concatenate(c) for c in zip(*self.calls))
        c_bin = np.minimum((call_t / self.bin_s).astype(np.int64), n_bins - 1)
        is_call = call_type < len(CALL_TYPES)  # the rest: short messages
        ts["call_attempts"] = np.bincount(c_bin[is_call], minlength=n_bins)
        ts["call_failures"] = np.bincount(c_bin[is_call & ~call_ok], minlength=n_bins)
        if scn.sms.per_hour > 0:
            ts["sms_attempts"] = np.bincount(c_bin[~is_call], minlength=n_bins)
            ts["sms_failures"] = np.bincount(c_bin[~is_call & ~call_ok], minlength=n_bins)
        nl = self.node_log
        if nl is not None:  # closed loop: load against capacity per limited node
            occupied_s = nl.occupancy.per_bin()  # [bin, 2 x node]: busy processors, + 1: waiting procedures
            for j, name in enumerate(nl.names):
                servers, per_s = self._capacity(name)
                ts[f"offered_{name}"], ts[f"carried_{name}"] = nl.offered[j], nl.carried[j]
                ts[f"capacity_{name}"] = bin_len * per_s
                ts[f"rejected_{name}"] = nl.rejected[j]
                ts[f"utilization_{name}"] = occupied_s[:, 2 * j] / (bin_len * servers)
                ts[f"queue_{name}"] = occupied_s[:, 2 * j + 1] / bin_len
                ts[f"wait_p95_{name}_s"] = nl.wait_p95_per_bin(j)
        if self.rach_log:
            ts |= rach_columns(self.rach_log, edges)

        total_msgs, total_bytes = float(app_msgs.sum()), float(self.app_bytes.sum())
        share = (lambda v, tot: float(v) / tot if tot > 0 else 0.0)
        n_apps = len(apps)
        present = [i for i in range(n_apps) if i < len(scn.apps) or self.installed[i] > 0 or self.app_bytes[i] > 0
                   or app_msgs[i] > 0]
        # each app's radio energy: the states its records began, but for idle (no app's), and its promotions'
        not_idle = np.array([s not in IDLE_STATES for _, s in tables.states])
        app_j = (self.app_state_s[1:] * not_idle) @ tables.state_power_w + self.app_proc[1:] @ self.extra_j_of
        # the rest, summed as such (not a difference, which rounding leaves a little off zero): idle, and what
        # no app's record began
        idle_j = float((self.app_state_s[1:] * ~not_idle).sum(axis=0) @ tables.state_power_w
                       + self.app_state_s[0] @ tables.state_power_w + self.app_proc[0] @ self.extra_j_of)
        radio_j = float(self.energy.sum())
        drain_j = radio_j + scn.battery.other_power_mw / 1000.0 * n_dev * end_s  # what the batteries gave
        app_rows = [{
            "app": apps[i], "active_devices": int(self.installed[i]),
            "signalling_messages": int(app_msgs[i]), "signalling_share": share(app_msgs[i], total_msgs),
            "promotions": int(app_promos[i]), "bytes": int(self.app_bytes[i]),
            "bytes_share": share(self.app_bytes[i], total_bytes),
            "heartbeats": int(self.app_kind[i, HEARTBEAT]), "messages": int(self.app_kind[i, MESSAGE]),
            "reconnects": int(self.app_kind[i, RECONNECT]), "unanswered": int(self.app_kind[i, UNANSWERED]),
            "radio_j": float(app_j[i]), "radio_energy_share": share(app_j[i], radio_j),
            "battery_share": share(app_j[i], drain_j),
        } for i in present]

        group_of = np.repeat(np.arange(len(scn.groups)), [g.devices for g in scn.groups])
        radios = [rs.group_radio(g) for g in range(len(scn.groups))]
        radio_labels = sorted(set(radios))  # sorted, as pd.Categorical sorts them (every group has devices)
        devices = Table({
            "device": np.arange(n_dev),
            "group": Labelled(group_of, [g.name for g in scn.groups]),
            "radio": Labelled(np.array([radio_labels.index(r) for r in radios])[group_of], radio_labels),
            "signalling_messages": self.dev_msgs.astype(np.int64),
            "voice_signalling_messages": self.dev_voice_msgs, "sms_signalling_messages": self.dev_sms_msgs,
            "promotions": self.dev_promos,
            "up_bytes": self.dev_up.astype(np.int64), "down_bytes": self.dev_down.astype(np.int64),
            "packets": self.dev_packets.astype(np.int64), "radio_energy_j": self.energy,
            "delivery_delay_mean_s": _ratio(self.dev_delay_us * delivery.RESOLUTION_S, self.dev_delivered, np.nan),
        } | {f"time_s_{s}": self.state_time[:, k] for k, s in enumerate(states)})

        by_procedure: dict[str, int] = {}
        occurrences: dict[str, int] = {}
        rejects = 0  # messages of rejected attempts (requests and rejects): a part of the exchanged total
        for code, (_, name) in enumerate(tables.procedures):
            if name in ("rrc_reject", "service_reject"):
                rejects += int(proc_count[code] * tables.messages[code].sum())
            by_procedure[name] = by_procedure.get(name, 0) + int(proc_count[code] * tables.messages[code].sum())
            occurrences[name] = occurrences.get(name, 0) + int(proc_count[code])
        promotions = int(ts["promotions"].sum())
        packets, up, down, held = (int(v) for v in self.traffic)
        summary: dict[str, Any] = {
            "scenario": scn.name,
            "seed": scn.simulation.seed,
            "engine": engine,
            "software_version": software_version(),
            "duration_s": end_s,
            "bin_s": self.bin_s,
            "devices": n_dev,
            "signalling": {
                # what every figure here counts: messages exchanged, i.e. of procedures the nodes
                # carried plus the requests and rejects of attempts they rejected (docs/model.md §9)
                "counts": "exchanged",
                "messages_total": int(bin_node.sum()),
                "reject_messages_total": rejects,
                "messages_per_device_hour": float(bin_node.sum()) / device_hours,
                "by_node": {n: int(bin_node[:, j].sum()) for j, n in enumerate(nodes)},
                "by_procedure": by_procedure,
                "occurrences_by_procedure": occurrences,
                "peak_per_s": {n: float((bin_node[:, j] / bin_len).max()) for j, n in enumerate(nodes)},
            },
            "rrc": {
                "promotions_total": promotions,
                "promotions_per_device_hour": promotions / device_hours,
                "time_share_by_state": {s: float(self.state_time[:, k].sum() / (n_dev * end_s))
                                        for k, s in enumerate(states)},
            },
            "apps": {r["app"]: {k: v for k, v in r.items() if k != "app"} for r in app_rows},
            # over all signalling, voice included (the denominator of O2's "8 % of devices produce 55 %")
            "concentration": _concentration(self.dev_msgs),
            # over the apps' (data) signalling alone: voice calls and short messages left out
            "concentration_apps": _concentration(self.dev_msgs - self.dev_voice_msgs - self.dev_sms_msgs),
            "energy": {"radio_j_per_device_hour": radio_j / device_hours,
                       "radio_j_per_device_day": 24.0 * radio_j / device_hours,
                       # the radio's draw in no app's name: idle, and states no app's record began
                       "idle_radio_j": idle_j},
            "battery": _battery(scn.battery, self.energy, group_of, [g.name for g in scn.groups], end_s),
            "traffic": {"packets_total": packets, "bytes_total": up + down, "up_bytes": up, "down_bytes": down,
                        "messages_held": held},
            "delivery": self._delivery_figures(slice(None)) | {"threshold_s": scn.outputs.delivery_threshold_s} | {
                "by_kind": {"heartbeats": self._delivery_figures(slice(0, None, 2)),
                            "messages": self._delivery_figures(slice(1, None, 2))},
                "by_app": {apps[i]: self._delivery_figures(slice(2 * i, 2 * i + 2)) for i in present
                           if i < len(scn.apps) or self.delay_hist[2 * i:2 * i + 2].any()}},
        }
        if self.controlplane:
            summary["controlplane"] = self._with_capacity()
        if self.rach:
            summary["rach"] = self.rach
        if scn.events:
            summary["events"] = [e.model_dump() | ({"outcome": self._restart_outcome(k, e.at_s, bin_node, ts)}
                                                   if e.kind == "core_restart" else {})
                                 for k, e in enumerate(scn.events)]
            summary["signalling"]["storm"] = _storm(edges, bin_node.sum(axis=1), scn.events)
        n_calls = len(CALL_TYPES)
        summary["calls"] = self._decided(self.call_attempts[:n_calls].sum(), call_ok[is_call],
                                         call_setup_s[is_call], self.call_legs[:n_calls])
        summary["calls"]["by_type"] = self._by_type(call_type, call_setup_s)
        if scn.sms.per_hour > 0:
            summary["sms"] = self._decided(self.call_attempts[n_calls:].sum(), call_ok[~is_call],
                                           call_setup_s[~is_call], self.call_legs[n_calls:])
            summary["sms"]["by_direction"] = {
                name: self._decided(self.call_attempts[k], call_ok[call_type == k], call_setup_s[call_type == k],
                                    self.call_legs[k:k + 1])
                for k, name in enumerate(SERVICE_TYPES) if name in SMS_TYPES}
        return Results(summary, Tables(Table(ts), Table.from_rows(app_rows), devices), nodes, states)

    def _capacity(self, name: str) -> tuple[int, float]:
        """Limited node ``name``'s processors over its instances, and the messages a second they handle."""
        cap = self.rs.scenario.controlplane.nodes[name]
        servers = cap.servers * self.controlplane[name]["instances"]
        return servers, cap.messages_per_s * servers

    def _with_capacity(self) -> dict[str, Any]:
        """The closed loop's node statistics with each limited node's waits (``NodeLog.wait_figures``), its
        capacity over the run (``capacity_messages``: what its processors could have handled) and
        ``offered_load``, the messages offered to it as a share of that (above 1: more than it could ever carry)."""
        out = dict(self.controlplane)
        for j, name in enumerate(self.node_log.names if self.node_log is not None else ()):
            capacity = self._capacity(name)[1] * self.end_s
            out[name] = {**out[name], **self.node_log.wait_figures(j), "capacity_messages": capacity,
                         "offered_load": out[name]["offered_messages"] / capacity if capacity > 0 else 0.0}
        return out

    def _delivery_figures(self, rows: slice) -> dict[str, float]:
        """``delivery.figures`` of the delay histograms' ``rows`` together (``delay_hist``: app and kind)."""
        return delivery.figures(self.delay_hist[rows].sum(axis=0), self.delay_low[rows].min(axis=0),
                                self.delay_high[rows].max(axis=0), int(self.app_delay_us[rows].sum()),
                                int(self.app_delayed[rows].sum()))

    def _decided(self, attempts: int, ok: np.ndarray, setup_s: np.ndarray, legs: np.ndarray) -> dict[str, Any]:
        """Calls or short messages (``legs``: their rows of ``call_legs``): attempts, failed ones, what they
        exchanged per node (each its page and legs if the nodes processed them, else what they carried
        and the reject; of those pending at the end, what the nodes carried), and per decided attempt."""
        nodes, decided, failed = self.tables.nodes, int(ok.size), int((~ok).sum())
        msgs = legs.sum(axis=0)[1:] @ self.tables.messages
        return {
            "attempts": int(attempts), "failed": failed, "failure_ratio": failed / decided if decided else 0.0,
            "pending_at_end": int(attempts) - decided,
            "setup_p95_s": float(np.percentile(setup_s, 95)) if decided else 0.0,
            "messages_by_node": {n: int(msgs[j]) for j, n in enumerate(nodes)},
            "messages_per_attempt_by_node": {n: float(msgs[j]) / decided if decided else 0.0
                                             for j, n in enumerate(nodes)},
        }

    def _restart_outcome(self, k: int, at_s: float, bin_node: np.ndarray, ts: dict[str, Any]) -> dict[str, Any]:
        """What core restart ``k`` at ``at_s`` did: its devices' counts (``RestartOutcome``; those not attached
        again by the end; how long after the restart they attached: median, 95th percentile, last), and per node
        the mean rate of exchanged messages before it and the peak bin from its bin on, in messages per second
        (and the peaks offered to and carried by each limited node's processors: a node carries an attach that
        a later node on its route rejects, where only the reject is exchanged, docs/model.md §9)."""
        outcome = asdict(self.restart_outcomes.get(k, RestartOutcome()))
        delays = np.array(outcome.pop("reattach_s"))
        out: dict[str, Any] = outcome | {"not_reattached_at_end": outcome["devices"] - outcome["reattached"]}
        for name, q in (("reattach_p50_s", 50), ("reattach_p95_s", 95), ("reattach_max_s", 100)):
            out[name] = float(np.percentile(delays, q)) if delays.size else 0.0
        bin_len = np.diff(self.edges)
        after, before = self.edges[1:] > at_s, self.edges[1:] <= at_s
        rate = bin_node / bin_len[:, None]
        out["baseline_per_s"] = {n: float(bin_node[before, j].sum() / bin_len[before].sum()) if before.any() else 0.0
                                 for j, n in enumerate(self.tables.nodes)}
        out["peak_per_s"] = {n: float(rate[after, j].max()) for j, n in enumerate(self.tables.nodes)}
        for what in ("offered", "carried"):
            out[f"{what}_peak_per_s"] = {n: float((ts[f"{what}_{n}"][after] / bin_len[after]).max())
                                         for n in (self.node_log.names if self.node_log is not None else ())}
        return out

    def _by_type(self, call_type: np.ndarray, setup_s: np.ndarray) -> dict[str, dict[str, Any]]:
        """Per call type that was placed: decided attempts, messages per node (its legs, and for the data
        call types the voice app's RRC procedures: one data type per run, so they are its), per call,
        and the connected seconds and radio energy per call its RRC periods took (0: legs only)."""
        messages, nodes = self.tables.messages, self.tables.nodes
        # the RRC machines' procedures of the voice app
        rrc_counts = self.app_proc[self.voice + 1] - self.call_legs[:len(CALL_TYPES)].sum(axis=0)
        rrc, rrc_j = rrc_counts[1:] @ messages, float(rrc_counts @ self.extra_j_of)  # + promotion energy
        out: dict[str, dict[str, Any]] = {}
        for k, name in enumerate(CALL_TYPES):
            mine = call_type == k
            calls = int(mine.sum())
            if not calls:
                continue
            data = name in ("callback", "voip")
            msgs = self.call_legs[k, 1:] @ messages + (rrc if data else 0)
            out[name] = {
                "attempts": calls,
                "messages_by_node": {n: int(msgs[j]) for j, n in enumerate(nodes)},
                "messages_per_call_by_node": {n: float(msgs[j]) / calls for j, n in enumerate(nodes)},
                "connected_s_per_call": float(self.voice_radio[0]) / calls if data else 0.0,
                "radio_j_per_call": (float(self.voice_radio[1]) + rrc_j) / calls if data else 0.0,
                "setup_p95_s": float(np.percentile(setup_s[mine], 95)),
            }
        return out


def _ratio(num: np.ndarray, den: np.ndarray, empty: float) -> np.ndarray:
    """``num / den`` elementwise, ``empty`` where ``den`` is 0."""
    return np.divide(num, den, out=np.full(den.shape, empty), where=den > 0)


def _merged(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two parts' control-plane statistics (of disjoint devices and node instances) as one: counts add up, a
    node's too; its ``utilization`` is the mean over both parts' instances, ``utilization_max`` the larger."""
    out = dict(a)
    for key, theirs in b.items():
        mine = out.get(key)
        if mine is None:
            out[key] = theirs
        elif not isinstance(theirs, dict):
            out[key] = mine + theirs
        else:
            n = mine["instances"] + theirs["instances"]
            out[key] = {k: mine[k] + v for k, v in theirs.items()} | {
                "utilization": (mine["utilization"] * mine["instances"] + theirs["utilization"] * theirs["instances"])
                / n if n else 0.0,
                "utilization_max": max(mine["utilization_max"], theirs["utilization_max"])}
    return out


def _storm(edges: np.ndarray, per_bin: np.ndarray, events: list[Any]) -> dict[str, Any]:
    """The signalling peak from the first event on against the level before it: ``start_s`` (the
    first event's start), ``baseline_per_s`` (messages per second over the bins that end by then;
    None if none does), ``peak_per_s`` and ``peak_t_s`` (the busiest bin from then on, its start)
    and ``peak_ratio`` (peak over baseline; None without a baseline or when it is 0)."""
    start = min(float(getattr(e, "start_s", getattr(e, "at_s", 0.0))) for e in events)
    rate = per_bin / np.diff(edges)
    before, after = edges[1:] <= start, edges[:-1] >= start
    baseline = float(per_bin[before].sum() / (edges[1:][before][-1] - edges[0])) if before.any() else None
    peak_bin = int(np.flatnonzero(after)[np.argmax(rate[after])]) if after.any() else None
    peak = float(rate[peak_bin]) if peak_bin is not None else None
    return {"start_s": start, "baseline_per_s": baseline, "peak_per_s": peak,
            "peak_t_s": float(edges[peak_bin]) if peak_bin is not None else None,
            "peak_ratio": peak / baseline if peak is not None and baseline else None}


def _battery(battery: Any, energy_j: np.ndarray, group_of: np.ndarray, groups: list[str], end_s: float
             ) -> dict[str, Any]:
    """Battery life from the radio's mean power over the run and the rest of the phone's draw, overall
    and per group: capacity x voltage / (other power + radio power) (docs/model.md §8)."""
    wh = battery.capacity_mah * battery.voltage_v / 1000.0

    def life(radio_j: float, devices: int) -> dict[str, float]:
        radio_mw = 1000.0 * radio_j / (devices * end_s) if devices else 0.0
        total_mw = battery.other_power_mw + radio_mw
        return {"radio_power_mw": radio_mw, "life_h": 1000.0 * wh / total_mw if total_mw > 0 else math.inf,
                "radio_drain_share": radio_mw / total_mw if total_mw > 0 else 0.0}

    per_group = np.bincount(group_of, weights=energy_j, minlength=len(groups))
    sizes = np.bincount(group_of, minlength=len(groups))
    return battery.model_dump() | life(float(energy_j.sum()), energy_j.size) | {
        "by_group": {name: life(float(per_group[g]), int(sizes[g])) for g, name in enumerate(groups)}}


def _concentration(per_device: np.ndarray) -> dict[str, Any]:
    """How concentrated signalling is on few devices: top shares and Gini of ``per_device``."""
    return {"top_share": {str(p): top_share(per_device, p) for p in TOP_PERCENTS}, "gini": gini(per_device)}


def reduce_log(log: LogArrays, tables: ModelTables, rs: ResolvedScenario, engine: str) -> Results:
    """Every metric of a run from one log of all its devices."""
    reducer = Reducer(tables, rs)
    reducer.add(log)
    return reducer.results(engine)
