"""When a phone's TCP sends again what nobody answered (``network.tcp``; docs/model.md §6).

Pure functions of the scenario, shared by both engines so that they put the same transfers on
the radio at the same times (``t + offset``, the same float arithmetic in both):

- an **unanswered send** (on a connection the NAT dropped, or to a server that is down) is
  retransmitted after RTO, 3 RTO, 7 RTO, ... (RFC 6298 (5.5): the RTO doubles, up to
  ``rto_max_s``) until TCP gives up after ``retries`` retransmissions or the app's own timeout
  (``app_timeout_s``) ends the wait, whichever comes first; then the app reconnects;
- a **connect attempt** sends its SYN, then retransmits it after 1, 3, 7, ... s (``syn_rto_s``
  doubling) until the server answers, the attempt's timeout ends it, or TCP gives up after
  ``syn_retries`` retransmissions.
"""
from __future__ import annotations

from dataclasses import dataclass

from sim.population.traffic import MSS_BYTES, Payload
from sim.scenario.schema import Tcp


@dataclass(frozen=True)
class Backoff:
    """A segment's retransmissions, seconds after its first transmission, and when TCP gives up on it."""

    at_s: tuple[float, ...]
    give_up_s: float


def backoff(rto_s: float, retries: int, rto_max_s: float) -> Backoff:
    """Retransmissions ``retries`` times at a doubling RTO (at most ``rto_max_s``); TCP gives up when the
    next RTO after the last expires (Linux ip-sysctl tcp_retries2: 15 from 200 ms give up at 924.6 s)."""
    at, t, rto = [], 0.0, rto_s
    for _ in range(retries):
        t += min(rto, rto_max_s)
        at.append(t)
        rto *= 2.0
    return Backoff(tuple(at), t + min(rto, rto_max_s))


@dataclass(frozen=True)
class TcpTiming:
    """What ``network.tcp`` makes of an unanswered send and of a connect attempt."""

    retransmit: bool
    #: retransmissions of an unanswered send, seconds after it, before the app gives up (``wait_s``)
    unanswered_s: tuple[float, ...]
    #: how long after an unanswered send the app reconnects: its timeout, or TCP's give-up if sooner
    wait_s: float
    syn: Backoff | None  # None: no SYN retransmission

    @property
    def nat_wait_s(self) -> float:
        """How long after a send finds its connection dropped by the NAT the app reconnects (0: at once,
        the reconnect in the send's own radio transfer, when TCP does not retransmit)."""
        return self.wait_s if self.retransmit else 0.0

    def connect(self, timeout_s: float) -> tuple[tuple[float, ...], float]:
        """One connect attempt: its SYNs, seconds after the first (0 included), and when it has failed
        (the app's ``timeout_s``, or TCP's give-up if sooner)."""
        if self.syn is None:
            return (0.0,), timeout_s
        end_s = min(timeout_s, self.syn.give_up_s)
        return (0.0, *(t for t in self.syn.at_s if t < end_s)), end_s


def tcp_timing(tcp: Tcp) -> TcpTiming:
    if not tcp.retransmit:
        return TcpTiming(False, (), tcp.app_timeout_s, None)
    data = backoff(tcp.rto_s, tcp.retries, tcp.rto_max_s)
    wait_s = min(tcp.app_timeout_s, data.give_up_s)
    return TcpTiming(True, tuple(t for t in data.at_s if t < wait_s), wait_s,
                     backoff(tcp.syn_rto_s, tcp.syn_retries, tcp.rto_max_s))


def unanswered(p: Payload) -> tuple[Payload, Payload]:
    """What an unanswered send of ``p`` puts on the radio: its first transmission (its uplink bytes,
    nothing back) and each retransmission (the earliest unacknowledged segment, RFC 6298 (5.4): up to
    one MSS)."""
    return (Payload(p.up_bytes, 0, -(-p.up_bytes // MSS_BYTES)),
            Payload(min(p.up_bytes, MSS_BYTES), 0, 1))
