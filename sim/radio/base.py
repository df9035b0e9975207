"""The shared core of every RRC state machine.

A machine is a timed automaton evaluated lazily: each transfer first applies the timer
expiries due since the last one (``advance``), then any promotion the transfer needs, then
computes the chain of demotions that will follow if nothing else is sent. Timer events
therefore cost no simulation events of their own, and the result depends only on the
sequence of transfer times: the same function of the same inputs on either engine.

Codes: procedures and states are small integers assigned per run (see ``sim.radio.tables``);
``-1`` as a procedure marks a device's initial state record, ``-1`` as an app "nobody".
"""
from __future__ import annotations

from typing import Protocol


class TransitionSink(Protocol):
    """Where a machine reports what it does (the engine's event log)."""

    def transition(self, t: float, device: int, proc: int, owner: int, state: int) -> None:
        """At ``t`` procedure ``proc`` (owned by app ``owner``) left ``device`` in ``state``."""


class Machine:
    """Base RRC machine: current state, promotion in progress, owner app, pending demotions."""

    __slots__ = ("spec", "device", "sink", "state", "ready", "owner", "chain")

    def __init__(self, spec, device: int, sink: TransitionSink):
        self.spec = spec
        self.device = device
        self.sink = sink
        self.state: int = spec.idle
        self.ready = 0.0  # when the promotion in progress completes
        self.owner = -1  # app whose packet triggered the latest promotion
        self.chain: list[tuple[float, int, int]] = []  # (time, procedure, new state), time-ordered
        sink.transition(0.0, device, -1, -1, spec.idle)

    def advance(self, t: float) -> None:
        """Apply the demotions whose timers expired at or before ``t``."""
        chain = self.chain
        while chain and chain[0][0] <= t:
            at, proc, state = chain.pop(0)
            self.state = state
            self.sink.transition(at, self.device, proc, self.owner, state)

    def finish(self, end_s: float) -> None:
        """Close the run: apply demotions strictly before ``end_s``; later ones never happen."""
        chain = self.chain
        while chain and chain[0][0] < end_s:
            at, proc, state = chain.pop(0)
            self.state = state
            self.sink.transition(at, self.device, proc, self.owner, state)
        chain.clear()

    def promote(self, t: float, proc: int, state: int, app: int) -> None:
        self.state = state
        self.owner = app
        self.sink.transition(t, self.device, proc, app, state)

    def data(self, t: float, app: int, up_bytes: int, down_bytes: int, incoming: bool) -> float:
        """Carry one transfer requested at ``t``; returns when it is delivered."""
        raise NotImplementedError
