"""The shared core of every RRC state machine.

A machine is a timed automaton evaluated lazily: each transfer first applies the timer
expiries due since the last one (``advance``), then any promotion the transfer needs, then
computes the chain of demotions that will follow if nothing else is sent. Timer events
therefore cost no simulation events of their own, and the result depends only on the
sequence of transfer times: the same function of the same inputs on either engine.

Codes: procedures and states are small integers assigned per run (see ``sim.radio.tables``);
``-1`` as a procedure marks a device's initial state record, ``-1`` as an app "nobody".

Periodic updates (``spec.upkeep``, owned by ``spec.keeper``, the ``mobility`` pseudo-app) follow
the rules of ``sim.radio.compiled``, whose :func:`~sim.radio.compiled.updates` counts them for both forms.
"""
from __future__ import annotations

from typing import Protocol

from sim.radio.compiled import paging_repeats, start, updates
from sim.radio.profiles import Profile


def area(profile: Profile, proc: dict[str, int], paging: str) -> tuple[int, float, int]:
    """What a machine needs of ``paging``'s area: its repeat's procedure code, the answer
    probability and the most repetitions (the messages are in ``sim.radio.tables``)."""
    spec = profile.paging_areas[paging]
    return proc[f"{paging}_repeat"], spec.answer_probability, spec.repetitions


class TransitionSink(Protocol):
    """Where a machine reports what it does (the engine's event log)."""

    def transition(self, record: tuple[float, int, int, int, int]) -> None:
        """``(t, device, proc, owner, state)``: at ``t`` procedure ``proc`` (owned by app
        ``owner``) left ``device`` in ``state``. One tuple, so a log can bind a C method here."""


INF = float("inf")


class Machine:
    """Base RRC machine: current state, promotion in progress, owner app, pending demotions.

    The next pending demotion is held in ``due``/``due_proc``/``due_state`` (``due`` is inf when
    none is pending) and any after it in ``rest``, so the common case allocates nothing.
    """

    __slots__ = ("spec", "device", "rec", "state", "ready", "owner", "due", "due_proc", "due_state", "rest", "pages",
                 "last")

    def __init__(self, spec, device: int, sink: TransitionSink):
        self.spec = spec
        self.device = device
        self.rec = sink.transition
        self.state: int = spec.idle
        self.ready = 0.0  # when the promotion in progress completes
        self.owner = -1  # app whose packet triggered the latest promotion
        self.due = INF
        self.due_proc = -1
        self.due_state = -1
        self.rest: list[tuple[float, int, int]] = []  # later demotions, time-ordered
        self.pages = 0  # pages so far: numbers each page's draw of its repeats (sim.radio.compiled.paging_repeats)
        self.last = start(spec.paging_key, device, spec.upkeep, spec.idle)  # the update timer's last start
        self.rec((0.0, device, -1, -1, spec.idle))

    def advance(self, t: float) -> None:
        """Apply the demotions whose timers expired at or before ``t``, and the periodic updates due by then."""
        while self.due <= t:
            self._fire()
        self.keep(t, False)

    def finish(self, end_s: float) -> None:
        """Close the run: apply demotions and updates strictly before ``end_s``; later ones never happen."""
        while self.due < end_s:
            self._fire()
        self.keep(end_s, True)
        self.due, self.rest = INF, []

    def keep(self, until: float, strict: bool) -> None:
        """The current state's periodic updates due by ``until`` (strictly before, if ``strict``)."""
        for state, proc, period in self.spec.upkeep:
            if state == self.state:
                for _ in range(updates(self.last, period, until, strict)):
                    self.last += period
                    self.rec((self.last, self.device, proc, self.spec.keeper, state))

    def wake(self) -> float:
        """When the next timer (a demotion or a periodic update) fires, if nothing is sent before."""
        for state, _, period in self.spec.upkeep:
            if state == self.state:
                return min(self.due, self.last + period)
        return self.due

    def _fire(self) -> None:
        self.keep(self.due, False)
        self.state, self.last = self.due_state, self.due
        self.rec((self.due, self.device, self.due_proc, self.owner, self.due_state))
        if self.rest:
            self.due, self.due_proc, self.due_state = self.rest.pop(0)
        else:
            self.due = INF

    def schedule(self, chain: list[tuple[float, int, int]]) -> None:
        """Replace the pending demotions with ``chain`` (time-ordered, non-empty)."""
        self.due, self.due_proc, self.due_state = chain[0]
        self.rest = chain[1:]

    def snapshot(self) -> tuple:
        """Everything ``data`` may change, for :meth:`restore` (an admission the network rejected)."""
        return (self.state, self.ready, self.owner, self.due, self.due_proc, self.due_state, list(self.rest),
                self.pages, self.last)

    def restore(self, snap: tuple) -> None:
        (self.state, self.ready, self.owner, self.due, self.due_proc, self.due_state, self.rest, self.pages,
         self.last) = snap

    def delay(self, dt_s: float) -> None:
        """Push the promotion in progress and every pending demotion ``dt_s`` later (queueing in the network)."""
        self.ready += dt_s
        self.due += dt_s
        self.rest = [(t + dt_s, proc, state) for t, proc, state in self.rest]

    def settle(self, t: float) -> float:
        """Apply expired timers; a transfer arriving during a promotion waits for it. Returns its start."""
        self.advance(t)
        return t if t >= self.ready else self.ready

    def page(self, t: float, paging: int, app: int, area: tuple[int, float, int]) -> None:
        """Page the phone for ``app``'s data: ``paging``, then as many whole-area repeats as go
        unanswered (``area``: the repeat's procedure, the answer probability, the most repetitions)."""
        repeat, answer_probability, repetitions = area
        self.rec((t, self.device, paging, app, self.state))
        for _ in range(paging_repeats(self.spec.paging_key, self.device, self.pages, answer_probability, repetitions)):
            self.rec((t, self.device, repeat, app, self.state))
        self.pages += 1

    def promote(self, t: float, proc: int, state: int, app: int, delay_s: float) -> float:
        """Run promotion ``proc`` for ``app``'s packet; returns its end."""
        self.state = state
        self.owner = app
        self.rec((t, self.device, proc, app, state))
        self.ready = t + delay_s
        return self.ready

    def data(self, t: float, app: int, up_bytes: int, down_bytes: int, incoming: bool) -> float:
        """Carry one transfer requested at ``t``; returns when it is delivered."""
        raise NotImplementedError
