"""Per-run lookup tables that turn procedure and state codes into messages, power and energy.

Procedure codes index ``(radio, procedure)`` pairs and state codes ``(radio, state)`` pairs of
the radios a run uses. Engines record codes; metrics multiply them out with these tables.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from sim.radio import lte, nr, umts
from sim.radio.base import Machine, TransitionSink
from sim.radio.kernel import run_rows
from sim.radio.profiles import Profile

MODULES: dict[str, ModuleType] = {"umts": umts, "lte": lte, "nr": nr}
# The signalling of each call type (and short message) on each radio that is not the RRC machines': its
# legs (procedure, occurrences per call), then what else a carried call exchanges. A cs, csfb or volte
# attempt is one leg, the placing device's (the far party's leg is its own attempt, as BHCA per subscriber
# counts legs); a
# call-back has the network call both parties (reference §6): two mobile-terminated CS legs, on LTE each
# by fallback; the called party's pages it in every cell of the area ("a mobile-terminated leg adds ...
# paging in every cell", reference §6; the PS paging area stands in for the location area), the caller's
# does not (it is connected: its request has just gone; TS 25.331 Paging Type 2 on its own channel).
# voip has none: its signalling is the RRC machines' promotions, pages and releases (docs/model.md §10).
CALL_LEGS: dict[tuple[str, str], tuple[tuple[str, int], ...]] = {
    ("cs", "umts"): (("call_setup", 1),), ("volte", "lte"): (("call_setup", 1),),
    ("volte", "nr"): (("call_setup", 1),), ("csfb", "lte"): (("csfb_call", 1),),
    ("callback", "umts"): (("call_setup", 2), ("paging", 1)), ("callback", "lte"): (("csfb_call", 2), ("paging", 1)),
    # a short message (the sms pseudo-app's, [sms]): its one leg; a received one pages the phone first
    **{("sms_mo", r): (("sms", 1),) for r in MODULES}, **{("sms_mt", r): (("sms", 1), ("paging", 1)) for r in MODULES},
}
# the states of each radio by what they mean to the phone: no connection (its idle draw belongs to no app);
# a radio connection held (a call's connected seconds)
IDLE_STATES = ("IDLE", "RRC_IDLE")
CONNECTED_STATES = ("CELL_DCH", "CELL_FACH", "RRC_CONNECTED")
PAGING_STREAM = 0x9A61  # spawn key of the paging draws' stream, apart from the traffic draws' streams
MOBILITY_OFFSET = 2  # the mobility pseudo-app's code, less the app count: after os-push and network
MACHINES: dict[str, type[Machine]] = {"umts": umts.UmtsMachine, "lte": lte.LteMachine, "nr": nr.NrMachine}


@dataclass(frozen=True)
class ModelTables:
    """Everything needed to turn a log of codes into messages, promotions and energy."""

    radios: tuple[str, ...]
    nodes: tuple[str, ...]  # every node of every radio in use, in profile order
    procedures: tuple[tuple[str, str], ...]  # (radio, procedure) per code
    messages: np.ndarray  # [procedure, node] messages per occurrence
    # [procedure, node] what the device's own instance of each node processes: as ``messages`` but a
    # page's share at the base station node is the phone's own base station's (PagingArea.serving)
    routed: np.ndarray
    is_promotion: np.ndarray  # [procedure] bool: data-triggered promotion
    promotion_extra_j: np.ndarray  # [procedure] energy of the promotion above the target state's power
    states: tuple[tuple[str, str], ...]  # (radio, state) per code
    state_power_w: np.ndarray  # [state]
    specs: dict[str, Any]  # radio -> machine spec
    promotion_delay_s: np.ndarray  # [procedure] how long a data-triggered promotion takes; -1: not one

    @property
    def procedure_names(self) -> list[str]:
        return [p for _, p in self.procedures]

    @property
    def state_names(self) -> list[str]:
        """Distinct state names, in order (states of several radios may share a name)."""
        return list(dict.fromkeys(s for _, s in self.states))

    def call_legs(self, radio: str, call_type: str) -> tuple[int, int]:
        """(procedure code, occurrences per call) of ``call_type``'s legs on ``radio``, what a call offers
        the limited nodes; (-1, 0): none."""
        if (call_type, radio) not in CALL_LEGS:
            return -1, 0
        proc, legs = CALL_LEGS[call_type, radio][0]
        return self.procedures.index((radio, proc)), legs

    def call_offers(self, radio: str, call_type: str) -> list[int]:
        """The procedure codes a ``call_type`` attempt on ``radio`` offers the limited nodes, one a leg or
        page, in order: the called party's page first (it precedes the answer), then the legs; empty: none."""
        entries = sorted(CALL_LEGS.get((call_type, radio), ()), key=lambda entry: entry[0] != "paging")
        return [self.procedures.index((radio, proc)) for proc, count in entries for _ in range(count)]

    def call_occurrences(self, radio: str, call_type: str) -> np.ndarray:
        """[procedure] what a carried ``call_type`` call on ``radio`` exchanged (its legs and the rest)."""
        out = np.zeros(len(self.procedures), dtype=np.int64)
        for proc, count in CALL_LEGS.get((call_type, radio), ()):
            out[self.procedures.index((radio, proc))] += count
        return out

    def machine(self, radio: str, device: int, sink: TransitionSink) -> Machine:
        return MACHINES[radio](self.specs[radio], device, sink)

    def rows(self, radio: str, t: np.ndarray, runs: tuple[int, ...], key: np.ndarray, up: np.ndarray | None,
             down: np.ndarray | None, app_of_key: np.ndarray, device: np.ndarray, end_s: float
             ) -> tuple[np.ndarray, ...]:
        """The records of ``device``'s machines (one per row of transfers) in compiled form (``sim.radio.compiled``)."""
        return run_rows(self.specs[radio], t, runs, key, up, down, app_of_key, device, end_s)

    def uses_bytes(self, radio: str) -> bool:
        """Whether ``radio``'s machine (as its profile sets it) depends on the bytes a transfer carries."""
        module = MODULES[radio]
        return hasattr(module, "uses_bytes") and module.uses_bytes(self.specs[radio])


def build_tables(profiles: dict[str, Profile], radios: list[str], seed: int = 0, apps: int = 0) -> ModelTables:
    """Assign codes to every procedure and state of ``radios`` and tabulate their costs.

    ``apps``: the scenario's app count; the periodic updates' owner, the ``mobility`` pseudo-app, has
    the code after them and ``os-push`` and ``network`` (``sim.metrics.reduce.Reducer.apps``).

    Each paging procedure also gets ``<paging>_repeat``, a further attempt over its whole area;
    ``seed`` (the run's) keys the draws of how many a page takes (``sim.radio.compiled.paging_repeats``)."""
    procedures = [(r, p) for r in radios for p in (*type(profiles[r]).PROCEDURES,
                                                    *(f"{g}_repeat" for g in type(profiles[r]).PAGINGS))]
    states = [(r, s) for r in radios for s in MODULES[r].STATES]
    nodes = list(dict.fromkeys(n for r in radios for n in type(profiles[r]).NODES))
    messages = np.zeros((len(procedures), len(nodes)), dtype=np.int64)
    is_promotion = np.zeros(len(procedures), dtype=bool)
    extra_j = np.zeros(len(procedures))
    delay_s = np.full(len(procedures), -1.0)
    power_w = np.zeros(len(states))
    specs = {}
    serving: list[tuple[int, int, int]] = []  # (procedure, base station node, change) for ``routed``
    key = int(np.random.SeedSequence(seed, spawn_key=(PAGING_STREAM,)).generate_state(1, np.uint64)[0] >> 1)
    for radio in radios:
        profile, module = profiles[radio], MODULES[radio]
        proc_code = {p: i for i, (r, p) in enumerate(procedures) if r == radio}
        state_code = {s: i for i, (r, s) in enumerate(states) if r == radio}
        for proc, counts in profile.messages.items():
            for node, count in counts.items():
                messages[proc_code[proc], nodes.index(node)] = count
        station = type(profile).BASE_STATION
        for proc, where in profile.paging_areas.items():  # the paged base stations' and cells' messages
            first = where.base_stations if where.strategy == "area" else 1
            for code, n in ((proc_code[proc], first), (proc_code[f"{proc}_repeat"], where.base_stations)):
                for node, count in where.attempt(n).items():
                    messages[code, nodes.index(node)] += count
                own = where.serving(n, station) - where.attempt(n).get(station, 0)  # the other stations' share
                serving.append((code, nodes.index(station), own))
        powers = module.state_power_mw(profile)
        for state, mw in powers.items():
            power_w[state_code[state]] = mw / 1000.0
        for proc, (delay, mw, target) in module.promotions(profile).items():
            is_promotion[proc_code[proc]] = True
            extra_j[proc_code[proc]] = delay * (mw - powers[target]) / 1000.0
            delay_s[proc_code[proc]] = delay
        specs[radio] = module.spec(profile, proc_code, state_code, key, apps + MOBILITY_OFFSET)
    routed = messages.copy()
    for code, node, change in serving:
        routed[code, node] += change
    return ModelTables(tuple(radios), tuple(nodes), tuple(procedures), messages, routed, is_promotion, extra_j,
                       tuple(states), power_w, specs, delay_s)
