"""The vectorised engine: the open-loop model for whole chunks of devices at once, with numpy.

A chunk is up to ``CHUNK_BLOCKS`` consecutive draw blocks of one group, so it uses exactly
the SimPy engine's random inputs (``sim.population.draws``) and memory stays bounded however
large the population. Per chunk:

1. each connection's sends go through the NAT (``sim.engine.connections``), giving the
   transfer log and what goes on the radio;
2. every device's radio transfers (its connections' runs, merged in time order) go through its
   RRC machine in compiled form (``sim.radio.compiled``), device by device;
3. the chunk's log is handed on; the metrics reduce it like the SimPy engine's.

With mid-run events whose only feedback is per device (``Scenario.per_device_feedback``), step 1 walks
every connection as the SimPy engine's closed loop takes it (``sim.engine.feedback``); with finite
control-plane capacity or events that couple devices the network pushes back on all of them together,
and that needs the per-event engine (``sim.engine.des``).
"""
from __future__ import annotations

import math

from collections.abc import Iterator

import numpy as np

from sim.engine import feedback
from sim.engine.connections import KEY, Codes, RadioSends, Transfers, adaptive, open_loop
from sim.engine.log import SEND_STATS, LogArrays
from sim.population.draws import BlockDraws, block_draws, blocks, concat_draws
from sim.population.schedule import connection_streams, push_users, replay_payloads, voice_sends
from sim.population.tcp import TcpTiming, tcp_timing
from sim.population.traffic import app_traffic, push_traffic
from sim.radio.compiled import CODE
from sim.radio.tables import ModelTables
from sim.scenario import ResolvedScenario
from sim.scenario.schema import SERVICE_TYPES, Scenario

CHUNK_BLOCKS = 8  # draw blocks per chunk (8,192 devices): long vectors, bounded memory
FIRST_CHUNK_BLOCKS = 2  # the first chunk's size; each next one doubles, up to CHUNK_BLOCKS


def chunks(rs: ResolvedScenario) -> Iterator[list[tuple[int, int, int, int]]]:
    """Consecutive draw blocks of one group, in chunks that grow from ``FIRST_CHUNK_BLOCKS`` to
    ``CHUNK_BLOCKS``: a fresh process touches its working memory a little at a time (page faults
    made a cold 10^4-device run 20 % slower with full-size chunks from the start). The chunks
    depend on the scenario alone, never on the number of workers."""
    run: list[tuple[int, int, int, int]] = []
    size = FIRST_CHUNK_BLOCKS
    for blk in blocks(rs.scenario):
        if run and (blk[0] != run[0][0] or len(run) == size):
            yield run
            run, size = [], min(2 * size, CHUNK_BLOCKS)
        run.append(blk)
    if run:
        yield run


def run_chunk(rs: ResolvedScenario, tables: ModelTables, run: list[tuple[int, int, int, int]]) -> LogArrays:
    """The log of one chunk (a list of draw blocks from :func:`chunks`)."""
    return _chunk(rs, tables, concat_draws([block_draws(rs.scenario, *blk) for blk in run]))


def run_fast(rs: ResolvedScenario, tables: ModelTables) -> Iterator[LogArrays]:
    """Simulate ``rs`` chunk by chunk: the log of each, in device order."""
    for run in chunks(rs):
        yield run_chunk(rs, tables, run)


def _chunk(rs: ResolvedScenario, tables: ModelTables, d: BlockDraws) -> LogArrays:
    scn = rs.scenario
    tcp = tcp_timing(scn.network.tcp)
    nats = [scn.network.nat_timeout_s, *(e.nat_timeout_s for e in scn.events if e.kind == "nat_change")]
    outages = [(scn.apps.index(next(a for a in scn.apps if a.name == e.app)), e.retry.syn_up_bytes)
               if e.kind == "server_outage" else None for e in scn.events]
    codes = Codes.of([app_traffic(a) for a in scn.apps], push_traffic(scn.groups[d.group]), replay_payloads(scn),
                     tcp.retransmit and (any(x is not None for x in nats) or any(outages)), outages)
    log = Transfers()
    sends = RadioSends.concat([*feedback.sends(scn, d, codes, tcp, log), _voice(scn, d, codes, log)]) \
        if scn.events else _sends(scn, d, codes, tcp, log)
    x_t, x_row, x_code, x_generated_t = log.take()  # before the RRC machines, which can reuse the parts' memory
    device = np.arange(d.first_device, d.first_device + d.n, dtype=np.int32 if d.first_device + d.n < 2**31
                       else np.int64)
    tr_t, tr_dev, tr_proc, tr_owner, tr_state = _radio(tables, rs.group_radio(d.group), sends, device, codes,
                                                       scn.simulation.duration_s)
    calls = np.diff(d.call_offsets)
    radio = rs.group_radio(d.group)
    legs = np.array([tables.call_legs(radio, t) for t in SERVICE_TYPES], dtype=np.int64)  # open loop: all carried
    return LogArrays(tr_t, tr_dev, tr_proc, tr_owner, tr_state,
                     x_t, x_row + d.first_device, x_code, codes.table(), log.held_messages, tr_grouped=True,
                     call_t=d.call_times_s, call_device=np.repeat(np.arange(d.n), calls) + d.first_device,
                     call_ok=np.ones(d.call_times_s.size, dtype=bool),
                     # set up at once, as the SimPy engine's clock has it (now + (t - now): 0 but for the last bit)
                     call_setup_s=feedback.simpy_clock(d.call_times_s, d.call_offsets) - d.call_times_s,
                     call_proc=legs[d.call_type, 0], call_type=d.call_type, call_carried=np.zeros_like(d.call_type),
                     call_undecided=np.zeros(d.call_type.size, dtype=bool),
                     call_attempts=np.bincount(d.call_type, minlength=len(SERVICE_TYPES)),
                     controlplane=dict.fromkeys(SEND_STATS, 0) if scn.events else {}, x_generated_t=x_generated_t)


def _sends(scn: Scenario, d: BlockDraws, codes: Codes, tcp: TcpTiming, log: Transfers) -> RadioSends:
    """Every connection's sends through the NAT, logged in ``log``; what goes on the radio."""
    end_s, nat_s, group = scn.simulation.duration_s, scn.network.nat_timeout_s, scn.groups[d.group]
    parts: list[RadioSends] = []
    # the longest gap a heartbeat leaves: batched alarms make it up to a window longer; Doze, hours
    batching_s = math.inf if group.doze is not None else group.alarm_window_s or 0.0
    for conn in connection_streams(scn, d, push_users(scn, d)):
        if conn.owner == len(scn.apps):  # the push channel
            parts += open_loop(conn, codes, (d.push_phase - 1.0) * group.push_interval_s, nat_s, tcp, end_s, log,
                               group.push_interval_s + batching_s)
            continue
        a, hb, draws = conn.owner, scn.apps[conn.owner].heartbeat, d.apps[conn.owner]
        if hb.policy == "adaptive":
            parts += adaptive(a, hb, conn.streams[0], draws.installed, draws.phase, draws.jitter, nat_s, tcp, end_s,
                              codes, log)
            continue
        # steady state, as the SimPy engine: the last packet one heartbeat interval before the first beat
        if hb.policy == "fixed":
            last_s = draws.phase * hb.interval_s - hb.interval_s
            gap_s = hb.interval_s * (1.0 + hb.jitter) + batching_s
        else:
            last_s, gap_s = np.zeros(d.n), None
        parts += open_loop(conn, codes, last_s, nat_s, tcp, end_s, log, gap_s)
    parts.append(_voice(scn, d, codes, log))
    return RadioSends.concat(parts)


def _voice(scn: Scenario, d: BlockDraws, codes: Codes, log: Transfers) -> RadioSends:
    """The calls' data sends (``voice_sends``), logged; on the radio as one more run per row, after every
    connection's (as the SimPy engine's schedule orders them: last among sends at the same time)."""
    dev, t, incoming, which = voice_sends(scn, d)
    code = codes.voice(which)
    log.add(t, dev, code)
    counts = np.bincount(dev, minlength=d.n)
    starts = np.cumsum(counts) - counts
    col = np.arange(dev.size) - starts[dev]
    times = np.full((d.n, int(counts.max(initial=0))), np.inf)
    key = np.zeros(times.shape, dtype=KEY)
    times[dev, col] = t
    key[dev, col] = code * 2 + incoming
    return RadioSends(times, key)


def _radio(tables: ModelTables, radio: str, sends: RadioSends, device: np.ndarray, codes: Codes, end_s: float
           ) -> tuple[np.ndarray, ...]:
    """The RRC machines of the chunk's devices, each over its transfers (``sim.radio.compiled``); the records
    they made."""
    up, down = ((by[sends.key >> 1] + (x if x is not None else 0)) if tables.uses_bytes(radio) else None
                for by, x in ((codes.up, sends.extra_up), (codes.down, sends.extra_down)))
    app_of_key = np.repeat(codes.app, 2).astype(CODE)
    return tables.rows(radio, sends.t, sends.widths, sends.key, up, down, app_of_key, device, end_s)
