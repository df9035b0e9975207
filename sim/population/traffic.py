"""What each kind of transfer carries: bytes each way and the packets that takes."""
from __future__ import annotations

import math
from dataclasses import dataclass

from sim.scenario.schema import App, Group, Reconnect

# assumption: a typical TCP maximum segment size over a 1500-byte MTU.
MSS_BYTES = 1460


@dataclass(frozen=True, slots=True)
class Payload:
    up_bytes: int
    down_bytes: int
    packets: int


def payload(up_bytes: int, down_bytes: int) -> Payload:
    """A transfer of ``up_bytes`` and ``down_bytes`` in MSS-sized packets (ACKs not counted)."""
    return Payload(up_bytes, down_bytes, math.ceil(up_bytes / MSS_BYTES) + math.ceil(down_bytes / MSS_BYTES))


def reconnect_payload(r: Reconnect) -> Payload:
    return Payload(r.up_bytes, r.down_bytes, r.up_packets + r.down_packets)


@dataclass(frozen=True, slots=True)
class AppTraffic:
    heartbeat: Payload
    message: Payload
    reconnect: Payload


def app_traffic(app: App) -> AppTraffic:
    return AppTraffic(payload(app.heartbeat.up_bytes, app.heartbeat.down_bytes),
                      payload(app.messages.up_bytes, app.messages.down_bytes),
                      reconnect_payload(app.reconnect))


def push_traffic(group: Group) -> AppTraffic:
    """The OS push channel's own traffic: its heartbeat and (assumption) a default reconnect."""
    beat = payload(group.push_up_bytes, group.push_down_bytes)
    return AppTraffic(beat, Payload(0, 0, 0), reconnect_payload(Reconnect()))


# A call-back call's request to the app's platform (reference §6, DingTalk): assumption, one small
# HTTPS request and its answer.
CALLBACK_REQUEST = payload(500, 500)
# A VoIP call's voice: a second of frames as one radio transfer each way (VOIP_BATCH_S, schema).
# assumption: 50 frames a second of ~40 B of codec payload + 40 B of IPv4/UDP/RTP headers, each way
VOIP_BATCH = Payload(50 * 80, 50 * 80, 2 * 50)
