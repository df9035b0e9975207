"""Every device's open-loop sends: the times known in advance from the draws.

Fixed heartbeats (an app's own, and the OS push channel's) and user messages do not depend
on anything the network does, so a block's are computed at once: per connection, one dense
``[device, k]`` matrix of times per stream (``inf`` where a device has no more). Stream codes
say what each send is: ``2a`` app a's heartbeat, ``2a + 1`` app a's message, ``2 x apps`` the
push channel's heartbeat; so ``code // 2`` is the sending app and an even code a heartbeat. An app
replaying a capture (``traffic``) sends its pattern's transfers, each kind of transfer a code of its
own after the voice sends' (:func:`trace_codes`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.population.draws import BlockDraws, fixed_beat_times
from sim.population.traffic import Payload
from sim.scenario.schema import CALL_TYPES, VOIP_BATCH_S, Doze, Scenario

if TYPE_CHECKING:  # the capture reader (dpkt) loads only for a scenario that replays one (trace_codes)
    from sim.trace.replay import Pattern

_NO_JITTER = np.zeros(0)


@dataclass(frozen=True)
class Stream:
    """One stream's sends for the devices of a block."""

    code: int
    times: np.ndarray  # [device, k] in time order per device, inf after a device's last
    incoming: np.ndarray | None  # [device, k] bool: mobile-terminated; None: all outgoing
    codes: np.ndarray | None = None  # [device, k] each send's code, where they differ (a replay); None: all ``code``
    #: [device, k] when each send was generated, where the OS deferred it (alarm batching, Doze: ``times`` are
    #: then when it goes); None: generated when it goes (``LogArrays.x_generated_t``)
    generated: np.ndarray | None = None

    @property
    def generated_s(self) -> np.ndarray:
        """When each send was generated: ``generated``, or ``times`` where the OS deferred nothing."""
        return self.times if self.generated is None else self.generated


@dataclass(frozen=True)
class ConnectionStreams:
    """The open-loop streams carried by one kind of connection (an app's own, or the push channel)."""

    owner: int  # app code owning the connection: its heartbeat and reconnects
    streams: tuple[Stream, ...]  # in stream-code order


def trace_codes(scenario: Scenario) -> dict[int, tuple[int, Pattern]]:
    """Per app replaying a capture: the code of its pattern's first kind of transfer, and the pattern.
    The codes follow the voice sends' (``3 x apps + 2`` and ``+ 3``, ``sim.engine.connections.Codes``),
    app after app."""
    out, code = {}, 3 * len(scenario.apps) + 4
    for a, app in enumerate(scenario.apps):
        if app.traffic is not None:
            from sim.trace.replay import load_pattern
            pattern = load_pattern(app.traffic.trace, app.traffic.flow)
            out[a] = (code, pattern)
            code += len(pattern.kinds)
    return out


def replay_payloads(scenario: Scenario) -> list[tuple[int, Payload]]:
    """(app, payload) of every kind of transfer replayed, in code order (:func:`trace_codes`)."""
    return [(a, Payload(*kind)) for a, (_, pattern) in trace_codes(scenario).items() for kind in pattern.kinds]


def push_users(scenario: Scenario, d: BlockDraws) -> np.ndarray:
    """Devices of the block with at least one app on the OS push channel."""
    uses = np.zeros(d.n, dtype=bool)
    for app, draws in zip(scenario.apps, d.apps):
        if app.connection == "push":
            uses |= draws.installed
    return uses


def _dense(offsets: np.ndarray, values: np.ndarray, fill: float | bool) -> np.ndarray:
    """Ragged rows (``values[offsets[i]:offsets[i + 1]]``) as a matrix padded with ``fill``."""
    counts = np.diff(offsets)
    out = np.full((counts.size, int(counts.max(initial=0))), fill, dtype=values.dtype)
    out[np.arange(out.shape[1]) < counts[:, None]] = values
    return out


@njit(cache=True)
def _restart(first: np.ndarray, interval_s: float, jitter: float, draws: np.ndarray, messages: np.ndarray,
             end_s: float, width: int) -> np.ndarray:
    out = np.full((first.size, width), np.inf)
    for i in range(first.size):
        t, k, m = first[i], 0, 0
        while k < width:
            gap = interval_s * (1.0 + jitter * draws[i, k]) if draws.shape[1] else interval_s
            while m < messages.shape[1] and messages[i, m] < t:  # a message before the beat restarts its timer
                t, m = messages[i, m] + gap, m + 1
            if t >= end_s:
                break
            out[i, k], t, k = t, t + gap, k + 1
    return out


def restarted_beats(interval_s: float, jitter: float, phase: np.ndarray, jitter_draws: np.ndarray,
                    messages: np.ndarray, end_s: float) -> np.ndarray:
    """Fixed heartbeat times ``[device, beat]`` whose timer restarts at each message (``messages``:
    ``[device, k]`` in time order, ``inf`` after the last; ``Heartbeat.restart_on_traffic``): the first
    due at ``phase x interval``; each next one gap after the beat or the latest message before it, the
    gap ``interval x (1 + jitter x draw)`` with the pending beat's draw, as :func:`fixed_beat_times`."""
    width = int(end_s / (interval_s * (1.0 - jitter))) + 2
    return _restart(phase * interval_s, interval_s, jitter, jitter_draws, messages, end_s, width)


def batched(times: np.ndarray, window_s: float | None, phase: np.ndarray, end_s: float) -> np.ndarray:
    """Alarm times ``[device, k]`` as the OS delivers them when it batches alarms into windows of
    ``window_s`` (``Group.alarm_window_s``; None: exact): each at the first of its device's window
    boundaries, ``(phase + k) x window_s``, at or after it; ``inf`` past ``end_s``. The device's grid
    phase is its push-channel phase draw (the OS's own alarm), so no draw changes."""
    if window_s is None:
        return times
    grid = phase[:, None]
    out = (np.ceil(times / window_s - grid) + grid) * window_s
    np.copyto(out, np.inf, where=out >= end_s)
    return out


def doze_windows(doze: Doze, end_s: float) -> np.ndarray:
    """``[k, (start, end)]`` of the Doze maintenance windows that start before ``end_s`` (``Group.doze``):
    the first gaps as listed, then the last one's period repeated (a closed form, however many)."""
    *first, last = doze.intervals_s
    gaps = np.array([*first, last]) + np.append(0.0, np.full(len(first), doze.window_s))  # start to start
    starts = doze.enter_after_s + np.cumsum(gaps)
    period = last + doze.window_s
    repeats = max(0, int(np.ceil((end_s - starts[-1]) / period)))
    starts = np.concatenate([starts, starts[-1] + period * np.arange(1, repeats + 1)])
    starts = starts[starts < end_s]
    return np.stack([starts, starts + doze.window_s], axis=1)


def dozed(times: np.ndarray, doze: Doze | None, end_s: float) -> np.ndarray:
    """Send times ``[device, k]`` under Doze: one in Doze outside a maintenance window waits for the
    next window's start (``inf`` if none comes before ``end_s``); before Doze or in a window, as it was."""
    if doze is None:
        return times
    windows = doze_windows(doze, end_s)
    starts, ends = windows[:, 0], windows[:, 1]
    k = np.searchsorted(ends, times, side="right")  # the first window not over by then (none: inf)
    next_start = np.append(starts, np.inf)[k]
    waiting = (times >= doze.enter_after_s) & (times < next_start)
    out = times.copy()
    out[waiting] = next_start[waiting]
    return out


def connection_streams(scenario: Scenario, d: BlockDraws, uses_push: np.ndarray) -> list[ConnectionStreams]:
    """The open-loop streams of every connection: each app's own (in app order), then the push channel.

    Adaptive heartbeats are not open-loop (each beat depends on what the last one found), so
    an adaptive app's connection lists its messages only. Fixed heartbeats go as the OS batches
    alarms (:func:`batched`); under Doze every send waits for a maintenance window (:func:`dozed`)
    but a push-channel message to the phone (high priority: assumption).
    """
    end_s, n_apps = scenario.simulation.duration_s, len(scenario.apps)
    window_s, doze = scenario.groups[d.group].alarm_window_s, scenario.groups[d.group].doze
    replays = trace_codes(scenario)
    own: list[ConnectionStreams] = []
    push: list[Stream] = []
    for a, (app, draws) in enumerate(zip(scenario.apps, d.apps)):
        messages = _dense(draws.msg_offsets, draws.msg_times_s, np.inf)
        np.copyto(messages, np.inf, where=~draws.installed[:, None])
        incoming = _dense(draws.msg_offsets, draws.msg_incoming, False)
        if app.connection == "push":
            generated = None
            if doze is not None:  # what the phone sends waits; what the push service sends it does not
                sent = np.where(incoming, messages, dozed(messages, doze, end_s))
                order = np.argsort(sent, axis=1, kind="stable")
                messages, generated, incoming = (np.take_along_axis(m, order, 1) for m in (sent, messages, incoming))
            push.append(Stream(2 * a + 1, messages, incoming, generated=generated))
            continue
        streams = [_deferred(2 * a + 1, messages, doze, end_s, incoming)]
        if app.heartbeat.policy == "fixed":
            hb = app.heartbeat
            beats = restarted_beats(hb.interval_s, hb.jitter, draws.phase, draws.jitter, messages, end_s) \
                if hb.restart_on_traffic else fixed_beat_times(hb.interval_s, hb.jitter, draws.phase, draws.jitter,
                                                               end_s)
            np.copyto(beats, np.inf, where=~draws.installed[:, None])
            streams.insert(0, _deferred(2 * a, beats, doze, end_s, window=(window_s, d.push_phase)))
        if a in replays:
            first, pattern = replays[a]
            from sim.trace.replay import replay_times
            times, kind, replay_in = replay_times(pattern, draws.phase, end_s)
            np.copyto(times, np.inf, where=~draws.installed[:, None])
            streams.append(_deferred(first, times, doze, end_s, replay_in, first + kind))
        own.append(ConnectionStreams(a, tuple(streams)))
    beats = fixed_beat_times(scenario.groups[d.group].push_interval_s, 0.0, d.push_phase, _NO_JITTER, end_s)
    np.copyto(beats, np.inf, where=~uses_push[:, None])
    push.append(_deferred(2 * n_apps, beats, doze, end_s, window=(window_s, d.push_phase)))
    return own + [ConnectionStreams(n_apps, tuple(push))]


def _deferred(code: int, times: np.ndarray, doze: Doze | None, end_s: float, incoming: np.ndarray | None = None,
              codes: np.ndarray | None = None, window: tuple[float | None, np.ndarray] | None = None) -> Stream:
    """A stream generated at ``times``, sent as the OS lets it go: alarms batched into ``window`` (the window
    and each device's grid phase, :func:`batched`; alarms only), then held for Doze (:func:`dozed`)."""
    sent = batched(times, *window, end_s) if window is not None else times
    sent = dozed(sent, doze, end_s)
    return Stream(code, sent, incoming, codes, None if sent is times else times)


def open_loop_sends(scenario: Scenario, d: BlockDraws, uses_push: np.ndarray) -> tuple[np.ndarray, ...]:
    """(device in block, time, stream, incoming, generated) of every open-loop send, sorted by device then time
    (``generated``: when it was generated, :attr:`Stream.generated_s`)."""
    columns: list[list[np.ndarray]] = [[], [], [], [], []]
    for conn in connection_streams(scenario, d, uses_push):
        for s in conn.streams:
            dev, k = np.nonzero(np.isfinite(s.times))
            columns[0].append(dev)
            columns[1].append(s.times[dev, k])
            columns[2].append(np.full(dev.size, s.code) if s.codes is None else s.codes[dev, k])
            columns[3].append(s.incoming[dev, k] if s.incoming is not None else np.zeros(dev.size, dtype=bool))
            columns[4].append(s.generated_s[dev, k])
    dev, t, stream, incoming, generated = (np.concatenate(c) for c in columns)
    order = np.lexsort((stream, t, dev))
    return dev[order], t[order], stream[order], incoming[order], generated[order]


CALLBACK_SEND, VOIP_SEND = 0, 1  # what a voice data send is: a call-back request, a second of VoIP frames


def voice_sends(scenario: Scenario, d: BlockDraws) -> tuple[np.ndarray, ...]:
    """(device in block, time, incoming, CALLBACK_SEND or VOIP_SEND) of the calls' data sends, sorted by
    device, time and kind: a call-back's request from the caller at the call's start; a VoIP call's
    frames, one send a second from its start until it ends (or the run does), from the caller and,
    mobile-terminated, to its partner. Both engines put these on the radio as they are."""
    caller = np.repeat(np.arange(d.n), np.diff(d.call_offsets))
    req = np.flatnonzero(d.call_type == CALL_TYPES.index("callback"))
    voip = np.flatnonzero(d.call_type == CALL_TYPES.index("voip"))
    frames = np.ceil(d.call_duration_s[voip] / VOIP_BATCH_S).astype(np.int64)
    call = np.repeat(voip, frames)
    k = np.arange(call.size) - np.repeat(np.cumsum(frames) - frames, frames)
    t = d.call_times_s[call] + k * VOIP_BATCH_S
    keep = t < scenario.simulation.duration_s
    call, t = call[keep], t[keep]
    answered = d.call_partner[call] >= 0
    dev = np.concatenate([caller[req], caller[call], d.call_partner[call][answered]])
    times = np.concatenate([d.call_times_s[req], t, t[answered]])
    incoming = np.concatenate([np.zeros(req.size + call.size, dtype=bool), np.ones(int(answered.sum()), dtype=bool)])
    which = np.concatenate([np.full(req.size, CALLBACK_SEND), np.full(times.size - req.size, VOIP_SEND)])
    order = np.lexsort((incoming, which, times, dev))
    return dev[order], times[order], incoming[order], which[order]
