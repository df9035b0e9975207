"""The event log an engine fills and the metrics read: plain numbers, no simulation objects."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.scenario.schema import SERVICE_TYPES

if TYPE_CHECKING:
    from sim.metrics.nodes import NodeLog

# what a transfer is; UNANSWERED: what TCP sent that nothing answered (a send on a connection the NAT
# dropped, its retransmissions and those of a send to a server that is down, retransmitted SYNs;
# sim.population.tcp), apart from the sends and connect attempts it belongs to
HEARTBEAT, MESSAGE, RECONNECT, UNANSWERED = 0, 1, 2, 3
#: the kinds of a node-log row ``(kind, instance, a, b)`` (``sim.metrics.nodes``): an offer (time, messages), a
#: reject (time, 0), a service (start, end), a stay in the queue (arrival, left it), a carried procedure's wait
#: (arrival, wait seconds) and its completion (time, messages); the compiled loop's (``sim.engine.closed``) too
NL_OFFER, NL_REJECT, NL_BUSY, NL_QUEUED, NL_WAIT, NL_CARRIED = range(6)
#: what the closed loop counts of its devices' sends beside the nodes' statistics (``summary.controlplane``)
SEND_STATS = ("rrc_rejects", "failed_sends", "barred", "core_rejects", "failed_attaches")


@dataclass
class RestartOutcome:
    """What the devices of a core restart did (``docs/model.md`` §10), counted over them."""

    devices: int = 0  # lost their context
    implicit_detach_rejects: int = 0  # requests the core rejected as "implicitly detached": how a device found out
    attach_attempts: int = 0
    rejected_attempts: int = 0
    backoff_waits: int = 0  # rejected attempts whose reject carried a T3346 back-off
    reattached: int = 0
    reattach_s: list[float] = field(default_factory=list)  # each device attached again: restart to attach, seconds


@dataclass(frozen=True)
class LogArrays:
    """Transitions (RRC procedures and state changes) and transfers (application data)."""

    tr_t: np.ndarray  # float64: when
    tr_device: np.ndarray  # int64
    tr_proc: np.ndarray  # int64: procedure code, -1 = the device's initial state
    tr_owner: np.ndarray  # int64: app code the procedure is attributed to, -1 = none
    tr_state: np.ndarray  # int64: state code after it
    x_t: np.ndarray  # float64
    x_device: np.ndarray  # int
    x_code: np.ndarray  # int: row of ``x_table``
    #: int64 [code, 5]: app, kind (HEARTBEAT, MESSAGE, RECONNECT or UNANSWERED), up bytes, down bytes, packets
    x_table: np.ndarray
    held_messages: int  # mobile-terminated messages that found the connection dead and waited
    #: whether each device's transitions are consecutive and in time order (then the metrics need
    #: not sort them to know how long each state lasted: until the device's next record)
    tr_grouped: bool = False
    #: closed loop only: per limited node name, its statistics, plus "rrc_rejects" and "failed_sends"
    controlplane: dict[str, Any] = field(default_factory=dict)
    #: closed loop only: the limited nodes' figures over time, streamed from their logs
    node_log: NodeLog | None = None
    call_t: np.ndarray = field(default_factory=lambda: np.zeros(0))  # voice call attempts: when
    call_device: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    call_ok: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # set up in time
    call_setup_s: np.ndarray = field(default_factory=lambda: np.zeros(0))  # attempt to setup done or failure
    #: the procedure code whose messages the attempt exchanged: its legs' (``sim.radio.tables.CALL_LEGS``:
    #: ``call_setup``, ``csfb_call`` or ``sms``) if the nodes processed it (set up in time or not), the reject's
    #: (``rrc_reject``, ``service_reject``) if one refused it; -1 for a VoIP call (its signalling is the RRC machines')
    call_proc: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    call_type: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # index in SERVICE_TYPES
    #: of a rejected attempt: how many of its offers (``ModelTables.call_offers``: a page, then legs) the
    #: nodes carried before the reject, exchanged though the attempt failed; 0 for a carried one
    call_carried: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: an attempt still being decided when the run ended (pending): only what the nodes carried of it
    #: (``call_carried`` offers) counts; it is not among the decided ones
    call_undecided: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: per service type (SERVICE_TYPES): all attempts, including those still being set up when the run ended
    call_attempts: np.ndarray = field(default_factory=lambda: np.zeros(len(SERVICE_TYPES), dtype=np.int64))
    #: closed loop with random access only: its statistics over and per cell (``RandomAccessCells.stats``)
    rach: dict[str, Any] = field(default_factory=dict)
    #: and its RAOs, successes and failures over time (``RandomAccessCells.log``)
    rach_log: dict[str, np.ndarray] = field(default_factory=dict)
    #: closed loop only: per core restart (its index in the scenario's events), what its devices did
    restart_outcomes: dict[int, RestartOutcome] = field(default_factory=dict)
    #: float64, parallel to ``x_t``: when each transfer's content was generated (the app's send or the
    #: server's message, before any deferral: alarm batching, Doze, a dead connection's hold, a reconnect's
    #: wait, the device's and the network's queues, rejects); ``x_t`` is when it went on the radio.
    #: A reconnect and an unanswered transmission are generated when they go. None: every one at ``x_t``
    x_generated_t: np.ndarray | None = None
    #: transfers counted, not kept in ``x_*`` (``sim.metrics.transfers``: a compiled closed loop's that are no
    #: delivered message): per device in range and code, per bin and code (codes of ``x_table``). None: none
    x_counts: tuple[np.ndarray, np.ndarray] | None = None

    x_app = property(lambda self: self.x_table[self.x_code, 0])
    x_kind = property(lambda self: self.x_table[self.x_code, 1])
    x_up_bytes = property(lambda self: self.x_table[self.x_code, 2])
    x_down_bytes = property(lambda self: self.x_table[self.x_code, 3])
    x_packets = property(lambda self: self.x_table[self.x_code, 4])


class EventLog:
    """Append-only recorder; ``transition`` makes it a :class:`sim.radio.base.TransitionSink`.

    Records are appended flat to two lists (``list.extend`` of a tuple is the cheapest record
    CPython offers: a tenth of ``array.extend``) and become numpy arrays once, at the end.
    """

    __slots__ = ("_tr", "_x", "_calls", "held_messages", "transition", "transfer", "call")

    def __init__(self) -> None:
        self._tr: list[float] = []
        self._x: list[float] = []
        self._calls: list[float] = []
        self.held_messages = 0
        #: record a transition: ``(t, device, proc, owner, state)``
        self.transition = self._tr.extend
        #: record a transfer: ``(t, device, app, kind, up_bytes, down_bytes, packets, generated_t)``
        self.transfer = self._x.extend
        #: record a voice call attempt or short message: ``(t, device, succeeded, setup_s, procedure
        #: exchanged, service type, offers carried before a reject, undecided at the end)``
        self.call = self._calls.extend

    def mark(self) -> int:
        """Where the next transition will be recorded, for :meth:`void`."""
        return len(self._tr)

    def void(self, mark: int) -> None:
        """Make the transition recorded at ``mark`` signal nothing (procedure code -1): its state
        change stands, but a node rejected its procedure, so its messages were never exchanged."""
        self._tr[mark + 2] = -1

    def arrays(self) -> LogArrays:
        tr = np.array(self._tr, dtype=np.float64).reshape(-1, 5)  # integers are exact below 2**53
        x = np.array(self._x, dtype=np.float64).reshape(-1, 8)
        c = np.array(self._calls, dtype=np.float64).reshape(-1, 8)
        i = np.int64
        table, code = np.unique(x[:, 2:7].astype(i), axis=0, return_inverse=True)  # the kinds of transfer
        return LogArrays(tr[:, 0].copy(), tr[:, 1].astype(i), tr[:, 2].astype(i), tr[:, 3].astype(i),
                         tr[:, 4].astype(i), x[:, 0].copy(), x[:, 1].astype(i), code.reshape(-1),
                         table.reshape(-1, 5), self.held_messages, call_t=c[:, 0].copy(), call_device=c[:, 1].astype(i),
                         call_ok=c[:, 2].astype(bool), call_setup_s=c[:, 3].copy(), call_proc=c[:, 4].astype(i),
                         call_type=c[:, 5].astype(i), call_carried=c[:, 6].astype(i),
                         call_undecided=c[:, 7].astype(bool), x_generated_t=x[:, 7].copy())
