"""A control-plane node with finite capacity: a queue in front of a few processors.

Every signalling procedure (an RRC connection setup, a service request, ...) is a burst of
messages that a node such as an RNC, eNB or MME must process. Capacity is modelled as a
classic queue, which in Kendall's notation is M/D/c/K when arrivals are Poisson:

- ``servers`` identical processors work in parallel (the ``c``);
- a procedure of ``m`` messages holds one processor for ``m * service_s_per_message``
  seconds (deterministic service, the ``D``);
- procedures that find every processor busy wait in one queue, served first-in-first-out
  (``fifo``) or, under ``priority`` admission, by class (the establishment cause of the
  request, ``CAUSES``; a lower rank first), first-in-first-out within a class, without
  pre-empting a procedure in service;
- ``reserved_share``: under ``priority``, that share of the node's places (processors and
  waiting room) is held for the classes in ``RESERVED``: any other procedure that finds
  ``(1 - reserved_share) x places`` or more procedures in the node is rejected at once (trunk
  reservation, as a voice-era node guards capacity for calls);
- ``queue_limit`` procedures at most may wait (the ``K``, not counting those in service);
  one that finds the waiting room full is rejected at once. ``queue_limit=0`` is a pure
  loss system, whose reject ratio under Poisson arrivals is Erlang's B formula;
- ``guard_s``: a procedure still waiting ``guard_s`` after it arrived is rejected then and
  leaves the queue, as when a device's response timer expires (e.g. T300 for an LTE RRC
  connection request) or a node discards stale requests under overload. A procedure is
  therefore never served after waiting longer than ``guard_s``.

A rejected procedure is not retried here: the caller gets ``Outcome(accepted=False, ...)``
and decides itself.

A rejected procedure never occupies a processor, and neither do the messages of the reject
itself (an RRC Connection Request and Reject, TS 36.331 §5.3.3): admission control turns an
attempt away in front of the processors, and rejects that queued for them could in turn be
rejected without end. The caller counts those messages as exchanged (``reject_messages``),
not as load; ``messages_rejected`` are the messages of the rejected procedures, never processed.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
import simpy


#: Admission classes, highest priority first: TS 36.331 EstablishmentCause values, and ``network``
#: for what the network starts itself (releases, demotions: they free resources). The order: TS
#: 36.413 §9.2.3.20 OverloadAction sheds mobile-originated data first, then signalling, and keeps
#: emergency, high-priority and mobile-terminated sessions longest; mo-VoiceCall (Rel-12) above
#: mt-Access and network first are assumptions. Other radios' causes map onto these (docs/model.md §9).
CAUSES = ("network", "emergency", "highPriorityAccess", "mo-VoiceCall", "mt-Access", "mo-Signalling", "mo-Data",
          "delayTolerantAccess")
RESERVED = frozenset({"emergency", "mo-VoiceCall"})  # who may use the reserved share: voice and emergency
DEFAULT_CAUSE = "mo-Data"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a procedure ended.

    ``accepted``: served (True) or rejected (False). ``wait_s``: time spent queued before
    service started, or before the reject. ``done_s``: simulation time of service completion
    or of the reject.
    """

    accepted: bool
    wait_s: float
    done_s: float


class Node:
    """A multi-server queue of signalling procedures, FIFO or by priority class (see the module docstring).

    Counters since creation: ``offered``, ``carried`` (served to completion), ``rejected``
    (full queue or guard time) and their message totals; ``reject_messages``, what the caller
    exchanged to reject (see the module docstring); ``wait_samples_s``, the queueing delay of
    each carried procedure in completion order. At every instant
    ``offered == carried + rejected + in_system``, and the same for their messages
    (``messages_offered == messages_carried + messages_rejected + messages_in_system``).
    """

    def __init__(self, env: simpy.Environment, name: str, *, servers: int = 1, service_s_per_message: float,
                 queue_limit: int | None = None, guard_s: float | None = None, admission: str = "fifo",
                 reserved_share: float = 0.0):
        if isinstance(servers, bool) or not isinstance(servers, int) or servers < 1:
            raise ValueError(f"node {name!r}: servers must be a whole number >= 1, got {servers!r}")
        if not (0.0 < service_s_per_message < math.inf):
            raise ValueError(f"node {name!r}: service_s_per_message must be finite and > 0, "
                             f"got {service_s_per_message!r}")
        if queue_limit is not None and (isinstance(queue_limit, bool) or not isinstance(queue_limit, int)
                                        or queue_limit < 0):
            raise ValueError(f"node {name!r}: queue_limit must be None (no limit) or a whole number >= 0, "
                             f"got {queue_limit!r}")
        if guard_s is not None and not (0.0 < guard_s < math.inf):
            raise ValueError(f"node {name!r}: guard_s must be None (no guard) or finite and > 0, got {guard_s!r}")
        if admission not in ("fifo", "priority"):
            raise ValueError(f"node {name!r}: admission must be 'fifo' or 'priority', got {admission!r}")
        if not 0.0 <= reserved_share < 1.0 or (reserved_share and (admission == "fifo" or queue_limit is None)):
            raise ValueError(f"node {name!r}: reserved_share must be in [0, 1), and needs priority admission and a "
                             f"queue_limit, got {reserved_share!r}")
        self.env = env
        self.name = name
        self.servers = servers
        self.service_s_per_message = service_s_per_message
        self.queue_limit = queue_limit
        self.guard_s = guard_s
        self._room = math.inf if queue_limit is None else queue_limit
        self.admission = admission
        # procedures in the node from which only the reserved classes are admitted
        self._unreserved = math.inf if not reserved_share else (1.0 - reserved_share) * (servers + queue_limit)
        # Waiting procedures as a heap of [rank, order, arrival_s, messages, event to fire when done]
        # (rank 0 for all under fifo); one that left at its guard time stays, emptied (event None),
        # until it reaches the top. ``_n_waiting`` counts the others.
        self._waiting: list[list] = []
        self._n_waiting = 0
        self._order = 0
        self._messages_waiting = 0
        self.in_service = 0
        self.offered = self.carried = self.rejected = 0
        self.messages_offered = self.messages_carried = self.messages_rejected = 0
        self.reject_messages = 0
        self._messages_in_service = 0
        self.wait_samples_s: list[float] = []
        self.offer_log: list[float] = []  # flat (time, messages) of every offer, for time series
        self.busy_log: list[float] = []  # flat (start, end) of every completed service
        self.wait_log: list[float] = []  # flat (arrival, wait) of every carried procedure
        self.carried_log: list[float] = []  # flat (completion, messages) of every carried procedure
        self.queue_log: list[float] = []  # flat (arrival, left the queue) of every procedure that waited
        self.reject_times_s: list[float] = []
        # Time integrals of the queue length and of busy servers, up to _last_s.
        self._start_s = self._last_s = env.now
        self._queue_area_s = 0.0
        self._busy_area_s = 0.0

    @property
    def in_queue(self) -> int:
        """Procedures waiting now (not in service)."""
        return self._n_waiting

    @property
    def in_system(self) -> int:
        """Procedures waiting or in service now."""
        return self._n_waiting + self.in_service

    @property
    def messages_in_system(self) -> int:
        """Messages of the procedures waiting or in service now."""
        return self._messages_in_service + self._messages_waiting

    def offer(self, messages: int, cause: str = DEFAULT_CAUSE) -> simpy.Event:
        """Offer a procedure of ``messages`` messages now, of admission class ``cause`` (``CAUSES``).

        Returns an event that fires with an :class:`Outcome` when the procedure completes
        service, or when it is rejected: at once if the waiting room is full (or only the
        reserved share is left and ``cause`` may not use it), ``guard_s`` after arrival if it is
        still waiting then. Never raises for a reject.
        """
        if messages < 1:
            raise ValueError(f"node {self.name!r}: a procedure has at least 1 message, got {messages!r}")
        env = self.env
        self._advance()
        self.offered += 1
        self.offer_log.extend((env.now, messages))
        self.messages_offered += messages
        done = env.event()
        if self.in_system >= self._unreserved and cause not in RESERVED or self._n_waiting >= self._room \
                and self.in_service == self.servers:
            self.rejected += 1
            self.messages_rejected += messages
            self.reject_times_s.append(self.env.now)
            done.succeed(Outcome(False, 0.0, env.now))
        elif self.in_service < self.servers:  # a free server implies an empty queue
            self._serve(env.now, messages, done)
        else:
            rank = CAUSES.index(cause) if self.admission == "priority" else 0
            entry = [rank, self._order, env.now, messages, done]
            self._order += 1
            heapq.heappush(self._waiting, entry)
            self._n_waiting += 1
            self._messages_waiting += messages
            if self.guard_s is not None:
                env.timeout(self.guard_s, entry).callbacks.append(self._expire)
        return done

    def _serve(self, arrival_s: float, messages: int, done: simpy.Event) -> None:
        self.in_service += 1
        self._messages_in_service += messages
        service_s = messages * self.service_s_per_message
        self.env.timeout(service_s, (arrival_s, self.env.now, messages, done)).callbacks.append(self._complete)

    def _complete(self, event: simpy.Event) -> None:
        arrival_s, start_s, messages, done = event.value
        self._advance()
        self.in_service -= 1
        self._messages_in_service -= messages
        self.carried += 1
        self.messages_carried += messages
        wait_s = start_s - arrival_s
        self.wait_samples_s.append(wait_s)
        self.busy_log.extend((start_s, self.env.now))
        self.carried_log.extend((self.env.now, messages))
        self.wait_log.extend((arrival_s, wait_s))
        if wait_s:
            self.queue_log.extend((arrival_s, start_s))
        done.succeed(Outcome(True, wait_s, self.env.now))
        while self._waiting:
            entry = heapq.heappop(self._waiting)
            if entry[4] is not None:  # not gone at its guard time
                _, _, arrival_s, messages, waiting = entry
                entry[4] = None
                self._n_waiting -= 1
                self._messages_waiting -= messages
                self._serve(arrival_s, messages, waiting)
                break

    def _expire(self, event: simpy.Event) -> None:
        # A procedure still waiting at its guard time leaves the queue (emptied in place); one
        # whose event is gone has already started service.
        entry = event.value
        _, _, arrival_s, messages, done = entry
        if done is not None:
            self._advance()
            entry[4] = None
            self._n_waiting -= 1
            self._messages_waiting -= messages
            self.rejected += 1
            self.reject_times_s.append(self.env.now)
            self.messages_rejected += messages
            self.queue_log.extend((arrival_s, self.env.now))
            done.succeed(Outcome(False, self.env.now - arrival_s, self.env.now))

    def _advance(self) -> None:
        """Add the time since the last state change to the queue and busy-server integrals."""
        now = self.env.now
        elapsed_s = now - self._last_s
        if elapsed_s:
            self._queue_area_s += self._n_waiting * elapsed_s
            self._busy_area_s += self.in_service * elapsed_s
            self._last_s = now

    def _window_s(self, until_s: float) -> float:
        """Length of the observation window [creation, until_s]; the state is known only up to now."""
        if not (self._last_s <= until_s <= self.env.now) or until_s <= self._start_s:
            raise ValueError(f"node {self.name!r}: until_s must be after the node's creation "
                             f"({self._start_s} s) and its last state change ({self._last_s} s) and "
                             f"not after now ({self.env.now} s), got {until_s!r}")
        return until_s - self._start_s

    def utilization(self, until_s: float) -> float:
        """Mean fraction of servers busy from the node's creation to ``until_s`` (normally now)."""
        window_s = self._window_s(until_s)
        busy_s = self._busy_area_s + self.in_service * (until_s - self._last_s)
        return busy_s / (self.servers * window_s)

    def mean_queue_length(self, until_s: float) -> float:
        """Time-averaged number of waiting procedures from the node's creation to ``until_s``."""
        window_s = self._window_s(until_s)
        return (self._queue_area_s + self._n_waiting * (until_s - self._last_s)) / window_s

    def stats(self, until_s: float) -> dict[str, float]:
        """Summary at ``until_s`` (normally ``env.now``); wait figures are over carried
        procedures and NaN when none has completed."""
        waits = np.asarray(self.wait_samples_s)
        return {
            "offered": self.offered,
            "carried": self.carried,
            "rejected": self.rejected,
            "in_system_at_end": self.in_system,
            "utilization": self.utilization(until_s),
            "mean_wait_s": float(waits.mean()) if waits.size else math.nan,
            "wait_p95_s": float(np.percentile(waits, 95)) if waits.size else math.nan,
            "mean_queue_length": self.mean_queue_length(until_s),
        }
