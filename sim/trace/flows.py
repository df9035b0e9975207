"""A capture as one device's packet train: which side is the device, each packet's direction, its
flow (server address and port), the app a flow belongs to, and bursts.

The device is the address given (``--device``), else the one address that is in every packet;
where there is no such single address (a loopback capture, where every packet is 127.0.0.1 both
ways, or a capture of two hosts only) the device is, connection by connection, the side that opened
it: the sender of the TCP SYN, else (UDP, or a TCP connection whose opening the capture missed) the
sender of its first packet. Packets the device neither sent nor received are left out.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import numpy as np

from sim.errors import Problem, ScenarioError
from sim.trace.capture import PROTOCOLS, Capture

# code: ARO Profile.burstTh (VideoOptimizer ARO.Core configuration/pojo/Profile.java): packets less
# than 1.5 s apart belong to one burst
BURST_GAP_S = 1.5


@dataclass(frozen=True)
class Flow:
    """One server endpoint the device talked to."""

    name: str  # "ADDR:PORT/PROTO" ("[ADDR]:PORT/PROTO" for IPv6)
    app: str  # the app the mapping names it, else its own name


@dataclass(frozen=True)
class Train:
    """One device's packets, in time order (arrays over packets), and its flows."""

    t_s: np.ndarray  # seconds since the device's first packet
    up: np.ndarray  # bool: sent by the device
    flow: np.ndarray  # int: index in ``flows``
    ip_bytes: np.ndarray
    payload_bytes: np.ndarray
    flows: tuple[Flow, ...]
    device: str  # the device's address, or how it was found

    def bursts(self, gap_s: float = BURST_GAP_S) -> np.ndarray:
        """Each packet's burst number within its flow: a new burst begins after ``gap_s`` without a packet."""
        out = np.zeros(self.t_s.size, dtype=np.int64)
        for f in range(len(self.flows)):
            mine = np.flatnonzero(self.flow == f)
            out[mine] = np.concatenate([[0], np.cumsum(np.diff(self.t_s[mine]) >= gap_s)])
        return out


def flow_name(addr: str, port: int, proto: int) -> str:
    host = f"[{addr}]" if ":" in addr else addr
    return f"{host}:{port}/{PROTOCOLS[proto]}"


def _parts(text: str) -> tuple[str, str, str]:
    """``(host, port, proto)`` of "ADDR:PORT/PROTO" ("[ADDR]" for IPv6); a part left out is ``*``."""
    text, _, proto = text.partition("/")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:  # a bare address (IPv6 ones hold several colons)
        host, port = text, ""
    return host or "*", port or "*", proto or "*"


def matches(pattern: str, name: str) -> bool:
    """Whether flow ``name`` fits ``pattern``: the same form, any part ``*`` (a wildcard) or left out:
    "93.184.216.34", ":1883", "*:443/udp", "[::1]:1883", "10.0.0.*"."""
    return all(fnmatch.fnmatchcase(n, p) for p, n in zip(_parts(pattern), _parts(name)))


def device_train(capture: Capture, device: str | None = None, apps: dict[str, list[str]] | None = None) -> Train:
    """The packet train of the device (``device``: its address; None: found as the module says), with
    each flow named by the first app of ``apps`` (app -> flow patterns) whose pattern matches it."""
    c = capture
    how = device
    if device is None:
        addresses = np.unique(np.concatenate([c.src, c.dst]).astype(str))
        in_all = [a for a in addresses if ((c.src == a) | (c.dst == a)).all()]
        device = in_all[0] if len(in_all) == 1 else None
        how = device or "the side that opened each connection"
    elif not ((c.src == device) | (c.dst == device)).any():
        raise ScenarioError([Problem("--device", device, "no packet of the capture is to or from this address")])
    src = list(zip(c.src.tolist(), c.sport.tolist()))
    dst = list(zip(c.dst.tolist(), c.dport.tolist()))
    keys = [(p, *sorted((s, d))) for p, s, d in zip(c.proto.tolist(), src, dst)]
    first: dict[tuple, tuple[str, int]] = {}  # connection -> the sender of its first packet
    syn: dict[tuple, tuple[str, int]] = {}  # ... of its first SYN
    for key, s, opening in zip(keys, src, c.syn.tolist()):
        first.setdefault(key, s)
        if opening:
            syn.setdefault(key, s)
    keep, up, names = [], [], []
    for i, (key, s, d) in enumerate(zip(keys, src, dst)):
        if device is not None and device not in (s[0], d[0]):
            continue  # another host's packet
        if device is not None and (s[0] == device) != (d[0] == device):
            mine = s if s[0] == device else d
        else:
            mine = syn.get(key, first[key])
        keep.append(i)
        up.append(s == mine)
        server = d if s == mine else s
        names.append(flow_name(server[0], server[1], key[0]))
    order = list(dict.fromkeys(names))
    index = {n: k for k, n in enumerate(order)}
    flows = tuple(Flow(n, next((a for a, patterns in (apps or {}).items() if any(matches(p, n) for p in patterns)),
                               n)) for n in order)
    t = c.t_s[keep]
    return Train(t - t[0], np.array(up, dtype=bool), np.array([index[n] for n in names], dtype=np.int64),
                 c.ip_bytes[keep], c.payload_bytes[keep], flows, how)


def rlc_bytes(train: Train, up_rate: tuple[float, float, float], down_rate: tuple[float, float, float]
              ) -> tuple[np.ndarray, np.ndarray]:
    """The bytes in the device's uplink and downlink RLC buffers when each packet arrives, as ARO fills
    them (``FachQueue.simFACH``): a buffer empties once the time since its last packet exceeds the time
    it takes to send what it holds, ``(p2 q^2 + p1 q + p0) / 1000`` s for q bytes (``*_rate``: p2, p1,
    p0), else the packet's IP bytes add to it. ``(up, down)``: per packet, the buffer of its direction
    (0 for the other), what a UMTS machine compares with its FACH -> DCH thresholds."""
    out = (np.zeros(train.t_s.size, dtype=np.int64), np.zeros(train.t_s.size, dtype=np.int64))
    held, last = [0, 0], [-np.inf, -np.inf]
    for i, (t, up, size) in enumerate(zip(train.t_s.tolist(), train.up.tolist(), train.ip_bytes.tolist())):
        d = 0 if up else 1
        p2, p1, p0 = up_rate if up else down_rate
        if t - last[d] > (p2 * held[d] ** 2 + p1 * held[d] + p0) / 1000.0:
            held[d] = 0
        held[d] += size
        last[d] = t
        out[d][i] = held[d]
    return out

