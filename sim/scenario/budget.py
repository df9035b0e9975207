"""What a run will cost, estimated from the scenario alone before any work: transfers, time bins,
log records, peak memory and wall time on each engine; and the refusal of a run that cannot fit.

The formulas and the measurements their constants are calibrated on are in ``docs/performance.md``
("Budget: what signalsim refuses"). In short, with T the transfers (every send of every device:
heartbeats, messages, push-channel beats, calls, reconnects, retries, TCP's retransmissions; expected counts at each
stream's worst-case rate) and B the bins:

- fast engine: memory = base + per-device outputs x devices + per-bin columns x B x (workers + 1)
  + per worker one chunk's working set (its draws, drawn for whole blocks of 1,024 devices, and
  its transfers); time = T x cost per transfer / workers + draws + B x chunks x cost per bin.
- fast engine on a closed loop with limited nodes (the compiled closed loop, ``sim.engine.closed``):
  partition by partition (``Scenario.partitions``: device ranges that share no limited node), each
  keeping its log until it ends, as many at once as there are workers (W), so memory = base x
  processes + W x (the largest partition's share of T x bytes per transfer and of devices x bytes per
  device) + per-device outputs x devices + bins; time = T x its cost per transfer / W + draws / W.
- SimPy engine (``des``): everything stays in memory until the end, so memory = base + T x bytes
  per transfer + devices x bytes per device + bins + one block's draws; time = T x cost per transfer
  (a closed loop costs more per transfer: the network's queues and real timer events).

Every rate is taken at its worst case (an adaptive heartbeat at its minimum interval, a NAT
dropping every connection as often as its timeout allows, every retry failing), so the estimate
is an upper bound on the transfers; the costs per unit are the measured ones, rounded up.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim.errors import Problem, ScenarioError
from sim.population import draws as _draws
from sim.radio.profiles import Profile
from sim.scenario.schema import VOIP_BATCH_S, Scenario

if TYPE_CHECKING:
    from sim.population.tcp import TcpTiming
    from sim.scenario.loader import ResolvedScenario

# --- limits -------------------------------------------------------------------------------------
# assumption: a run that would take more than a day of wall time is an input mistake (a unit, an
# exponent) or a study to split into a sweep; nobody waits a day for one run to find out.
MAX_WALL_S = 24 * 3600.0
# assumption: keep a fifth of the available memory for the OS, other processes and the estimate's
# error (the limit is this share of MemAvailable plus BASE_BYTES, which the checking process holds already)
MEMORY_SHARE = 0.8
# assumption: 10^6 rows of timeseries.csv (about 150 MB of text) are more points than any plot
# shows; a finer series of a long run is a mistake in bin_s.
MAX_BINS = 1_000_000
LONG_RUN_S = 60.0  # `signalsim run` prints its estimate above this (the issue: "about a minute")

# --- costs, calibrated in docs/performance.md ("Budget"): measured figures, rounded up ----------
BASE_BYTES = 250e6  # measured 194-216 MB RSS before any work (Python, numpy, pandas, Numba kernels)
FAST_S_PER_TRANSFER = 200e-9  # measured 149-158 ns per transfer (benchmarks/engines.py, 10^4-10^7 devices)
FAST_BYTES_PER_DEVICE = 300.0  # measured 187 B: (2,135 - 452) MB / (10^7 - 10^6) devices
FAST_BYTES_PER_CHUNK_TRANSFER = 400.0  # a chunk's working set per transfer of its devices; measured ~240 B
# the compiled closed loop, per transfer of the upper bound (its transfers, node log and transition records streamed
# into the metrics; its delivered messages and the streamed records' promotions kept): measured 2.0-2.8 µs (london-2009,
# 2x10^4 and 10^5; an MME storm, 2x10^4 and 10^5: docs/performance.md) and 11 B over the part per device (the MME
# storm at 10^6: 8.0 GB for 2.7x10^8 transfers); the bytes bound a kept promotion (24 B) per transfer, with room
# for the delivered messages' rows (64 B each, at most one a send of the schedule, a minority of the transfers)
CLOSED_S_PER_TRANSFER = 5e-6
CLOSED_BYTES_PER_TRANSFER = 40.0
CLOSED_BYTES_PER_DEVICE = 4000.0  # a partition's device: its machine, sends, connections, heap share (~3.5 kB fitted)
CLOSED_OUTPUT_BYTES_PER_DEVICE = 800.0  # merged per-device results and call records: ~540 B (london-2009 at 10^7)
DES_S_PER_TRANSFER = 20e-6  # measured 10-18.6 µs per transfer, open loop, 10^4-10^5 devices
DES_CLOSED_S_PER_TRANSFER = 150e-6  # measured 26-107 µs per transfer: reconnect-storm, london-2009
DES_BYTES_PER_TRANSFER = 800.0  # measured 570-634 B per transfer at 10^4-10^5 devices
DES_BYTES_PER_DEVICE = 5000.0  # measured at most 3.2 kB per device (london-2009, 4 x 10^4 devices)
OUTPUT_S_PER_DEVICE = 10e-6  # measured ~10 µs per device: devices.csv and the result tables at 10^6 devices
DRAW_S_PER_SLOT = 30e-9  # measured 21 ns per drawn random number (one device's jitter draws, 4 x 10^7)
DRAW_BYTES_PER_SLOT = 8.0 * 2  # a float64 per draw, and the copy that joins a chunk's blocks
BYTES_PER_BIN = 600.0  # measured 290 B per bin (3.6 x 10^5 bins), tallies, reducer and time series
S_PER_BIN = 5e-6  # measured 2.7 µs per bin: reducing and writing timeseries.csv
S_PER_BIN_CHUNK = 3e-6  # measured 1.6 µs per bin and chunk: each chunk's tally has every bin
S_PER_CHUNK = 1e-3  # measured 0.75 ms per chunk: 20,000 one-device groups (a chunk each) in 16.4 s
# each device's connections are merged in time order by scanning every connection's next
# transfer: measured 1.2 ns per transfer and connection (5,000 apps on 100 phones: 6.5 s)
FAST_S_PER_TRANSFER_CONNECTION = 2e-9
# the per-device tallies are dense over transfer codes (about 4 per app: heartbeat, message,
# reconnect, each way): bytes and seconds per device and code; measured 12,000 apps on 100 phones
CODES_PER_APP = 4
BYTES_PER_DEVICE_CODE = 24.0
S_PER_DEVICE_CODE = 2e-9
RECORDS_PER_TRANSFER = 3.0  # assumption: a promotion and up to two demotions (UMTS DCH -> FACH -> idle)

# --- reference scales: what a factor is compared with to say which field drives a cost ----------
REF_DEVICES = 1e6  # the performance target of issue 4
REF_DURATION_S = 3600.0  # simulation.duration_s default
REF_BIN_S = 60.0  # simulation.bin_s default
REF_HEARTBEAT_S = 270.0  # WeChat 2013 (quickstart)
REF_PUSH_S = 1680.0  # groups[].push_interval_s default
REF_MESSAGES_PER_S = 4.0 / 3600.0  # quickstart
REF_CALLS_PER_S = 0.9 / 3600.0  # calls.per_hour: the Vodafone model's busy hour
REF_RETRY_S = 10.0  # retry.attempt_timeout_s default
REF_ATTEMPTS = 3  # controlplane.max_attempts default


@dataclass(frozen=True)
class _Part:
    """One cost (bytes, seconds or transfers) and the field whose value drives it."""

    amount: float
    field: str


def _driver(*factors: tuple[str, float]) -> str:
    """The field whose value is furthest (as a ratio) beyond its reference scale."""
    return max(factors, key=lambda f: f[1])[0]


@dataclass(frozen=True)
class _Stream:
    """One kind of send of one group: ``devices`` that send it, ``per_device`` times each."""

    group: int
    devices: float
    per_device: float
    field: str  # what drives it: the rate's field, the duration's or the group's devices


@dataclass(frozen=True)
class EngineCost:
    """One engine's estimated peak memory and wall time, with the field that drives each."""

    engine: str
    memory_bytes: float
    memory_field: str
    seconds: float
    time_field: str


@dataclass(frozen=True)
class Estimate:
    """What a scenario costs before it runs (upper bounds on the counts; see the module docstring)."""

    engine: str  # the engine that runs it
    transfers: float
    bins: int
    bins_field: str
    records: float
    fast: EngineCost
    des: EngineCost

    @property
    def cost(self) -> EngineCost:
        """The cost on the engine that runs the scenario."""
        return self.fast if self.engine == "fast" else self.des

    def summary_line(self) -> str:
        c = self.cost
        return (f"estimate: about {format_seconds(c.seconds)} on the {c.engine} engine, "
                f"{format_bytes(c.memory_bytes)} peak memory ({self.transfers:.3g} transfers, {self.bins:,} bins)")


def format_bytes(n: float) -> str:
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:.2g} {unit}" if n / size < 10 else f"{n / size:,.0f} {unit}"
    return f"{n / 1e3:.0f} kB"


def format_seconds(s: float) -> str:
    for unit, size in (("years", 365 * 86400.0), ("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if s >= 2 * size:
            return f"{s / size:.2g} {unit}" if s / size < 10 else f"{s / size:,.0f} {unit}"
    return f"{s:.2g} s"


def available_memory_bytes() -> int:
    """MemAvailable from ``/proc/meminfo``; elsewhere the physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


# sends per device over the run, and (the rate's field, its factor); None: driven by the group's devices
_Send = tuple[float, tuple[str, float] | None]


def _combined(sends: list[_Send]) -> list[_Send]:
    """``sends`` as one: their sum, named by the largest. Events come in any number, so each group
    costs the same however many there are (a group x event loop took minutes on 5,000 of each)."""
    sends = [s for s in sends if s[0] > 0]
    return [(sum(s[0] for s in sends), max(sends, key=lambda s: s[0])[1])] if sends else []


def _app_sends(scn: Scenario, nat_s: float | None) -> list[list[_Send]]:
    """Per app, what one device that has it installed sends over the run (its push-channel part aside)."""
    duration_s = scn.simulation.duration_s
    per_drop = _per_nat_drop(scn)
    events: dict[str, list[tuple[int, object]]] = {}
    for e, event in enumerate(scn.events):
        if hasattr(event, "app"):
            events.setdefault(event.app, []).append((e, event))
    out = []
    for a, app in enumerate(scn.apps):
        where, hb, sends = f"apps[{a}]", app.heartbeat, []
        if app.connection == "push":
            pass
        elif hb.policy == "fixed":
            sends.append((duration_s / hb.interval_s,
                          (f"{where}.heartbeat.interval_s", REF_HEARTBEAT_S / hb.interval_s)))
        elif hb.policy == "adaptive":  # worst case: always at the minimum interval
            sends.append((duration_s / hb.min_interval_s,
                          (f"{where}.heartbeat.min_interval_s", REF_HEARTBEAT_S / hb.min_interval_s)))
        if app.traffic is not None:  # a replayed capture: its pattern's transfers, cycle after cycle
            from sim.trace.replay import load_pattern  # here: the loader has checked the capture already

            pattern = load_pattern(app.traffic.trace, app.traffic.flow)
            per_s = pattern.offsets_s.size / pattern.cycle_s
            sends.append(((duration_s / pattern.cycle_s + 1.0) * pattern.offsets_s.size,
                          (f"{where}.traffic.trace", per_s * REF_HEARTBEAT_S)))
        rate = app.messages.per_hour / 3600.0
        sends.append((rate * duration_s, (f"{where}.messages.per_hour", rate / REF_MESSAGES_PER_S)))
        longest_s = {"fixed": hb.interval_s, "adaptive": hb.max_interval_s}.get(hb.policy)
        if nat_s is not None and app.connection == "own" and not _kept_alive(longest_s, hb.jitter, nat_s):
            # a reconnect needs an idle gap of nat_s
            sends.append((per_drop * duration_s / nat_s, ("network.nat_timeout_s", REF_HEARTBEAT_S / nat_s)))
        by_event: list[_Send] = []
        for e, event in events.get(app.name, []):
            if event.kind == "heartbeat_change":
                by_event.append(((duration_s - event.at_s) / event.interval_s,
                                 (f"events[{e}].interval_s", REF_HEARTBEAT_S / event.interval_s)))
            elif event.kind == "server_outage":  # every attempt fails until the end, then one reconnect
                r = event.retry
                syns, attempt_s = _tcp(scn).connect(r.attempt_timeout_s)
                t = attempt_s + {"fixed": r.interval_s, "exponential": 0.0 if r.jitter else r.initial_s
                                 }.get(r.policy, 0.0)  # the shortest time between attempts
                # each attempt's SYN and its retransmissions, and the retransmissions of the send that noticed
                by_event.append((len(syns) * (event.end_s - event.start_s + t) / t + per_drop,
                                 (f"events[{e}].retry.attempt_timeout_s", REF_RETRY_S / t)))
        out.append(sends + _combined(by_event))
    return out


def _kept_alive(interval_s: float | None, jitter: float, nat_s: float) -> bool:
    """Whether a heartbeat at most ``interval_s x (1 + jitter)`` apart keeps its connection from ever
    timing out at the NAT (as ``sim.engine.connections.open_loop`` decides); None: no heartbeat."""
    return interval_s is not None and interval_s * (1.0 + jitter) * (1.0 + 1e-9) < nat_s


def _per_nat_drop(scn: Scenario) -> float:
    """Transfers a send that finds its connection dropped adds (``sim.population.tcp``): its reconnect,
    and with TCP retransmitting, its unanswered first transmission and each retransmission."""
    tcp = _tcp(scn)
    return 1.0 + (1.0 + len(tcp.unanswered_s) if tcp.retransmit else 0.0)


def _tcp(scn: Scenario) -> TcpTiming:
    from sim.population.tcp import tcp_timing  # here: it imports the scenario schema, whose package imports this

    return tcp_timing(scn.network.tcp)


def _reattaches(scn: Scenario, profiles: dict[str, Profile], e: int, event) -> _Send:
    """A core restart at worst: every attach attempt of a device rejected until the run ends, retried by the
    retry timers of the radio that retries most often (``attempts`` within ``short`` of each other, then
    ``long``), or, with back-off, after the shortest T3346 if that is shorter; then its service reject and a
    reconnect per connection. One attempt each when no limited node can reject."""
    if not _can_reject(scn):  # an unlimited queue only delays: one attempt each
        return len(scn.apps) + 3.0, None
    left_s = scn.simulation.duration_s - event.at_s
    options = []
    for radio, profile in profiles.items():
        short_s, long_s, attempts = profile.attach_retry()
        cycle_s = long_s + (attempts - 1) * short_s if attempts > 1 else long_s  # (0 x inf is not 0)
        options.append((attempts * (left_s / cycle_s + 1.0),
                        (f"network.overrides.{radio}.{profile.ATTACH_RETRY[0]}", REF_RETRY_S / short_s)))
    if event.backoff:
        options.append((left_s / event.t3346_min_s + 1.0, (f"events[{e}].t3346_min_s",
                                                          REF_RETRY_S / event.t3346_min_s)))
    attempts, field = max(options, key=lambda o: o[0])
    return attempts + len(scn.apps) + 2.0, field


def _network_sends(scn: Scenario, profiles: dict[str, Profile]) -> list[_Send]:
    """What every device sends again when the network pushes back (every attempt refused again)."""
    sends: list[_Send] = []
    for e, event in enumerate(scn.events):
        if event.kind == "access_barring":
            wait_s = 0.7 * event.barring_time_s
            sends.append(((event.end_s - event.start_s + wait_s) / wait_s,
                          (f"events[{e}].barring_time_s", REF_RETRY_S / wait_s)))
        elif event.kind == "core_overload":
            wait_s = event.extended_wait_s
            sends.append(((event.end_s - event.start_s + wait_s) / wait_s,
                          (f"events[{e}].extended_wait_s", REF_RETRY_S / wait_s)))
        elif event.kind == "ran_outage":  # one re-attach, then a reconnect per connection
            sends.append((len(scn.apps) + 2.0, None))
        elif event.kind == "core_restart":
            sends.append(_reattaches(scn, profiles, e, event))
    return _combined(sends)


def _streams(scn: Scenario, profiles: dict[str, Profile]) -> list[_Stream]:
    """Every kind of send, per group, at its worst-case rate (``profiles``: the radios', for their timers)."""
    duration_s, span = scn.simulation.duration_s, scn.simulation.duration_s / REF_DURATION_S
    nats = [scn.network.nat_timeout_s] + [e.nat_timeout_s for e in scn.events if e.kind == "nat_change"]
    nat_s = min((n for n in nats if n is not None), default=None)
    index = {app.name: a for a, app in enumerate(scn.apps)}
    app_sends, network = _app_sends(scn, nat_s), _network_sends(scn, profiles)
    out: list[_Stream] = []
    for g, group in enumerate(scn.groups):
        n, size = float(group.devices), ("groups[%d].devices" % g, group.devices / REF_DEVICES)
        dur = ("simulation.duration_s", span)

        def add(devices: float, per_device: float, rate: tuple[str, float] | None) -> None:
            if devices > 0 and per_device > 0:
                out.append(_Stream(g, devices, per_device, _driver(size, dur, rate or size)))

        no_push = 1.0
        # only the apps installed here: a group x app loop is what made wide scenarios slow to estimate
        for a, p in sorted((index[name], p) for name, p in group.apps.items() if name in index):
            if scn.apps[a].connection == "push":
                no_push *= 1.0 - p
            for per_device, rate in app_sends[a]:
                add(n * p, per_device, rate)
        if no_push < 1.0:
            add(n * (1.0 - no_push), duration_s / group.push_interval_s,
                (f"groups[{g}].push_interval_s", REF_PUSH_S / group.push_interval_s))
            if nat_s is not None and not _kept_alive(group.push_interval_s, 0.0, nat_s):
                add(n * (1.0 - no_push), _per_nat_drop(scn) * duration_s / nat_s,
                    ("network.nat_timeout_s", REF_HEARTBEAT_S / nat_s))
        rate = scn.calls.per_hour / 3600.0
        add(n, rate * duration_s, ("calls.per_hour", rate / REF_CALLS_PER_S))
        for kind, per_hour in scn.calls.per_hour_by_type.items():  # each call, and its data sends
            rate, field = per_hour / 3600.0, f"calls.per_hour_by_type.{kind}"
            add(n, rate * duration_s, (field, rate / REF_CALLS_PER_S))
            if kind == "callback":  # the request
                add(n, rate * duration_s, (field, rate / REF_CALLS_PER_S))
            elif kind == "voip":  # a send a second of the call, from the caller and to its partner
                frames = 2.0 * (scn.calls.mean_duration_s / VOIP_BATCH_S + 1.0)
                add(n, rate * frames * duration_s, (field, rate * frames / REF_CALLS_PER_S))
        rate = scn.sms.per_hour / 3600.0  # a short message is decided as a call is
        add(n, rate * duration_s, ("sms.per_hour", rate / REF_CALLS_PER_S))
        for per_device, rate in network:
            add(n, per_device, rate)
    return out


def _draw_slots(scn: Scenario) -> list[_Part]:
    """Random numbers drawn per device of every group's blocks (installed or not), by what drives them;
    the first part, the phases and install draws, is driven by the group's devices. The same for every
    group, so counted once (per group, it made an estimate take minutes on thousands of groups and apps)."""
    duration_s = scn.simulation.duration_s
    parts = [_Part(2.0 + 2 * (len(scn.apps) + 2), "groups")]  # phases, install draws
    for a, app in enumerate(scn.apps):
        hb, where = app.heartbeat, f"apps[{a}].heartbeat"
        slots = _draws.max_heartbeats(app, duration_s)
        if slots:
            interval_s = hb.interval_s if hb.policy == "fixed" else hb.min_interval_s
            key = "interval_s" if hb.policy == "fixed" else "min_interval_s"
            parts.append(_Part(slots, _driver(("simulation.duration_s", duration_s / REF_DURATION_S),
                                              (f"{where}.{key}", REF_HEARTBEAT_S / interval_s),
                                              (f"{where}.jitter", 1.0 / (1.0 - hb.jitter)))))
        rate = app.messages.per_hour / 3600.0  # a time and a mark each, for a whole block
        parts.append(_Part(2.0 * rate * duration_s, _driver(("simulation.duration_s", duration_s / REF_DURATION_S),
                                                            (f"apps[{a}].messages.per_hour",
                                                             rate / REF_MESSAGES_PER_S))))
    rate = (scn.calls.per_hour + sum(scn.calls.per_hour_by_type.values())) / 3600.0  # a time and 3 uniforms each
    parts.append(_Part(4.0 * rate * duration_s, _driver(("simulation.duration_s", duration_s / REF_DURATION_S),
                                                        ("calls.per_hour", rate / REF_CALLS_PER_S))))
    for e, event in enumerate(scn.events):
        if _draws.max_retries(event):
            parts.append(_Part(_draws.max_retries(event), f"events[{e}].retry.attempt_timeout_s"))
    return parts


def _can_reject(scn: Scenario) -> bool:
    """Whether a limited node may reject (a queue limit or a guard time): else it only delays."""
    return any(n.queue_limit is not None or n.guard_s is not None for n in scn.controlplane.nodes.values())


def _attempts_per_send(scn: Scenario) -> float:
    """Attempts one send may take at worst: a node that can reject (a queue limit or a guard time)
    rejecting every attempt, each retried ``reject_wait_s`` later up to ``max_attempts``; 1 when no
    limited node can reject (an unlimited queue only delays)."""
    cp = scn.controlplane
    if not _can_reject(scn):
        return 1.0
    return float(min(cp.max_attempts, 1 + math.floor(scn.simulation.duration_s / cp.reject_wait_s)))


def _total(parts: list[_Part]) -> tuple[float, str]:
    return sum(p.amount for p in parts), max(parts, key=lambda p: p.amount).field


def _chunk_count(scn: Scenario) -> int:
    """How many chunks the fast engine makes (``sim.engine.fast.chunks``, counted, not listed)."""
    from sim.engine.fast import CHUNK_BLOCKS, FIRST_CHUNK_BLOCKS

    count, size = 0, FIRST_CHUNK_BLOCKS
    for group in scn.groups:
        left = math.ceil(group.devices / _draws.BLOCK_DEVICES)
        while left > 0 and size < CHUNK_BLOCKS:  # the first chunks of the run are smaller
            left, count, size = left - min(left, size), count + 1, min(2 * size, CHUNK_BLOCKS)
        count += math.ceil(left / CHUNK_BLOCKS)
    return count


def estimate(rs: ResolvedScenario, workers: int = 1) -> Estimate:
    """The budget of ``rs`` on each engine (``workers``: processes of a split fast-engine run)."""
    from sim.engine.fast import CHUNK_BLOCKS  # here: the engines import this package

    scn = rs.scenario
    duration_s, bin_s = scn.simulation.duration_s, scn.simulation.bin_s
    streams = _streams(scn, rs.profiles)
    transfers = sum(s.devices * s.per_device for s in streams)
    devices = sum(g.devices for g in scn.groups)
    biggest = max(range(len(scn.groups)), key=lambda g: scn.groups[g].devices)
    devices_field = f"groups[{biggest}].devices"
    bins = math.ceil(duration_s / bin_s - 1e-9)
    bins_field = _driver(("simulation.duration_s", duration_s / REF_DURATION_S),
                         ("simulation.bin_s", REF_BIN_S / bin_s))
    by_stream = [_Part(s.devices * s.per_device, s.field) for s in streams] or [_Part(0.0, devices_field)]
    stream_field = _total(by_stream)[1]  # what drives the transfers: the largest stream's field
    attempts = _attempts_per_send(scn)
    transfers *= attempts
    if attempts > REF_ATTEMPTS:  # a node rejecting every attempt, retried until max_attempts
        stream_field = "controlplane.max_attempts"

    # the fast engine's largest chunk: its blocks' draws, and its devices' transfers
    block = _draws.BLOCK_DEVICES
    chunk_draw = chunk_work = _Part(0.0, devices_field)
    n_chunks, slots_total = _chunk_count(scn), 0.0
    slot_parts = _draw_slots(scn)
    slots_per_device, slots_driver = _total(slot_parts)
    by_group: dict[int, list[_Stream]] = {}
    for stream in streams:
        by_group.setdefault(stream.group, []).append(stream)
    for g, group in enumerate(scn.groups):
        n_blocks = math.ceil(group.devices / block)
        slots = _Part(slots_per_device, f"groups[{g}].devices" if slots_driver == "groups" else slots_driver)
        slots_total += n_blocks * block * slots.amount
        draw = _Part(min(n_blocks, CHUNK_BLOCKS) * block * slots.amount * DRAW_BYTES_PER_SLOT, slots.field)
        in_chunk = min(group.devices, CHUNK_BLOCKS * block)
        mine = by_group.get(g, [])
        work = _Part(sum(in_chunk / group.devices * s.devices * s.per_device for s in mine)
                     * FAST_BYTES_PER_CHUNK_TRANSFER,
                     max(mine, key=lambda s: s.devices * s.per_device).field if mine else devices_field)
        chunk_draw = max(chunk_draw, draw, key=lambda p: p.amount)
        chunk_work = max(chunk_work, work, key=lambda p: p.amount)
    bin_part = _Part(bins * BYTES_PER_BIN, bins_field)
    w = max(1, workers)
    processes = w + 1 if w > 1 else 1  # a split run: the parent and its workers
    parallel = min(w, os.cpu_count() or 1)
    fast_memory = _total([_Part(BASE_BYTES * processes, devices_field),
                          _Part(devices * FAST_BYTES_PER_DEVICE, devices_field),
                          _Part(bin_part.amount * processes, bins_field),
                          _Part(w * chunk_draw.amount, chunk_draw.field),
                          _Part(w * chunk_work.amount, chunk_work.field)])
    codes = CODES_PER_APP * (len(scn.apps) + 1)
    chunk_devices = min(max(g.devices for g in scn.groups), CHUNK_BLOCKS * block)
    fast_memory = _total([_Part(fast_memory[0], fast_memory[1]),
                          _Part(w * chunk_devices * codes * BYTES_PER_DEVICE_CODE, "apps")])
    draw_time = _Part(slots_total * DRAW_S_PER_SLOT, chunk_draw.field)
    outputs = [_Part(devices * OUTPUT_S_PER_DEVICE, devices_field), _Part(bins * S_PER_BIN, bins_field)]
    fast_time = _total([_Part(transfers * FAST_S_PER_TRANSFER / parallel, stream_field),
                        _Part(draw_time.amount / parallel, draw_time.field),
                        _Part(n_chunks * bins * S_PER_BIN_CHUNK / parallel, bins_field),
                        _Part(n_chunks * S_PER_CHUNK / parallel, "groups"),
                        _Part(transfers * (len(scn.apps) + 1) * FAST_S_PER_TRANSFER_CONNECTION / parallel, "apps"),
                        _Part(devices * codes * S_PER_DEVICE_CODE / parallel, "apps"), *outputs])
    if scn.closed_loop() and not scn.per_device_feedback():  # the fast engine runs the compiled closed loop
        # partition by partition (Scenario.partitions), as many at once as there are workers
        parts = scn.partitions()
        at_once = min(w, len(parts))
        largest = max(hi - lo for lo, hi in parts) / max(1, devices)  # the largest partition's share
        fast_memory = _total([_Part(BASE_BYTES * processes, devices_field),
                              _Part(at_once * largest * transfers * CLOSED_BYTES_PER_TRANSFER, stream_field),
                              _Part(at_once * largest * devices * CLOSED_BYTES_PER_DEVICE, devices_field),
                              _Part(devices * CLOSED_OUTPUT_BYTES_PER_DEVICE, devices_field),
                              _Part(bin_part.amount * processes, bins_field),
                              _Part(at_once * chunk_draw.amount / CHUNK_BLOCKS, chunk_draw.field)])
        at_once = min(parallel, len(parts))
        fast_time = _total([_Part(transfers * CLOSED_S_PER_TRANSFER / at_once, stream_field),
                            _Part(draw_time.amount / at_once, draw_time.field), *outputs])
    des_per_transfer = DES_CLOSED_S_PER_TRANSFER if scn.closed_loop() else DES_S_PER_TRANSFER
    des_memory = _total([_Part(BASE_BYTES, devices_field), _Part(transfers * DES_BYTES_PER_TRANSFER, stream_field),
                         _Part(devices * DES_BYTES_PER_DEVICE, devices_field), bin_part,
                         _Part(chunk_draw.amount / CHUNK_BLOCKS, chunk_draw.field)])
    des_time = _total([_Part(transfers * des_per_transfer, stream_field), draw_time, *outputs])
    return Estimate(rs.engine, transfers, bins, bins_field, transfers * RECORDS_PER_TRANSFER,
                    EngineCost("fast", *fast_memory, *fast_time), EngineCost("des", *des_memory, *des_time))


def check(rs: ResolvedScenario, workers: int = 1) -> Estimate:
    """The estimate of ``rs``; raises :class:`ScenarioError` with one problem, naming the field that
    drives it, if the run has too many bins, cannot fit this machine's memory or would take longer
    than ``MAX_WALL_S`` on the engine that runs it."""
    est = estimate(rs, workers)
    cost = est.cost
    limit = MEMORY_SHARE * available_memory_bytes() + BASE_BYTES  # this process holds its base already
    if est.bins > MAX_BINS:
        problem = Problem(rs.source, est.bins_field, f"makes {est.bins:.3g} time bins (simulation.duration_s / "
                                                     f"simulation.bin_s); at most {MAX_BINS:,}")
    elif cost.memory_bytes > limit:
        problem = Problem(rs.source, cost.memory_field, f"needs about {format_bytes(cost.memory_bytes)} of memory on "
                          f"the {cost.engine} engine; this machine has {format_bytes(limit)} to spare")
    elif cost.seconds > MAX_WALL_S:
        problem = Problem(rs.source, cost.time_field, f"would take about {format_seconds(cost.seconds)} on the "
                          f"{cost.engine} engine ({est.transfers:.3g} transfers); the limit is "
                          f"{format_seconds(MAX_WALL_S)}")
    else:
        return est
    raise ScenarioError([problem])


__all__ = ["Estimate", "EngineCost", "estimate", "check", "available_memory_bytes"]
