"""Read a packet capture (pcap or pcapng) into arrays of its TCP and UDP packets.

The container is walked here, record by record, so that a truncated or corrupt file is reported
with the offset where it breaks (dpkt's readers stop silently at a short record); each frame is
decoded with dpkt (link layer, IPv4/IPv6, TCP, UDP). Sizes come from the headers' length fields,
not from the bytes captured, so a capture cut at a small snap length still counts every byte.

Every way a capture can be unusable is one :class:`~sim.errors.ScenarioError` naming the file:
the CLI prints it as ``error: FILE: message`` (exit 2).
"""
from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from pathlib import Path

import dpkt
import numpy as np

from sim.errors import Problem, ScenarioError
from sim.scenario.loader import read_regular

# assumption: 30 days, longer than any one phone's capture; a span beyond it is corrupt time stamps, whose
# idle gaps would fill with periodic updates (one per T3412) for ever
MAX_SPAN_S = 30 * 86400
MAX_CAPTURE_BYTES = 1 << 30  # 1 GiB: a phone's capture of hours; larger is a mistake or a server's capture
TCP, UDP = 6, 17
PROTOCOLS = {TCP: "tcp", UDP: "udp"}
PCAP_MAGIC = {b"\xd4\xc3\xb2\xa1": ("<", 1e6), b"\xa1\xb2\xc3\xd4": (">", 1e6),  # microsecond stamps
              b"\x4d\x3c\xb2\xa1": ("<", 1e9), b"\xa1\xb2\x3c\x4d": (">", 1e9)}  # nanosecond stamps
PCAPNG_SHB, PCAPNG_IDB, PCAPNG_EPB, PCAPNG_SPB, PCAPNG_PB = 0x0A0D0D0A, 1, 6, 3, 2
BYTE_ORDER_MAGIC = 0x1A2B3C4D
# link types (tcpdump.org/linktypes.html) -> how a frame's IP packet is found
LINK_TYPES = {0: "NULL", 1: "EN10MB", 12: "RAW", 14: "RAW", 101: "RAW", 108: "LOOP", 113: "LINUX_SLL",
              228: "IPV4", 229: "IPV6", 276: "LINUX_SLL2"}


@dataclass(frozen=True)
class Capture:
    """The TCP and UDP packets of a capture, in time order (arrays over packets)."""

    file: str
    link_type: str
    t_s: np.ndarray  # seconds since the capture's first TCP/UDP packet
    src: np.ndarray  # object: address text
    dst: np.ndarray
    sport: np.ndarray  # int
    dport: np.ndarray
    proto: np.ndarray  # TCP or UDP
    ip_bytes: np.ndarray  # the IP packet's length (its header's length field)
    payload_bytes: np.ndarray  # the transport payload's
    syn: np.ndarray  # bool: a TCP SYN without ACK (who opened the connection)
    ignored: int  # frames that are not TCP or UDP over IP (ARP, ICMP, later IP fragments, undecodable)

    @property
    def packets(self) -> int:
        return int(self.t_s.size)


def read_capture(path: str | Path) -> Capture:
    """The TCP and UDP packets of the pcap or pcapng file at ``path``; raises :class:`ScenarioError`."""
    source = str(path)

    def fail(message: str) -> ScenarioError:
        return ScenarioError([Problem(source, "", message)])

    raw = read_regular(path, MAX_CAPTURE_BYTES, fail)
    if len(raw) > MAX_CAPTURE_BYTES:
        raise fail(f"larger than {MAX_CAPTURE_BYTES >> 30} GiB: cut the capture to the device's traffic first")
    return parse_capture(raw, source)


def parse_capture(raw: bytes, source: str) -> Capture:
    """The TCP and UDP packets of a capture's bytes (``source``: its name in errors)."""

    def fail(message: str) -> ScenarioError:
        return ScenarioError([Problem(source, "", message)])

    if not raw:
        raise fail("empty file: not a capture")
    if raw[:4] in PCAP_MAGIC:
        link, frames = _pcap(raw, fail)
    elif raw[:4] == struct.pack("<I", PCAPNG_SHB):
        link, frames = _pcapng(raw, fail)
    else:
        raise fail("not a pcap or pcapng capture (unknown magic number)")
    if link not in LINK_TYPES:
        raise fail(f"unsupported link type {link}; signalsim reads Ethernet, raw IP, Linux cooked (SLL, SLL2) "
                   "and BSD loopback captures")
    return _decode(source, LINK_TYPES[link], link, frames, fail)


def _pcap(raw: bytes, fail) -> tuple[int, list[tuple[int, bytes]]]:
    """The link type and ``(time in ns, frame)`` of every record of a pcap file."""
    if len(raw) < 24:
        raise fail("truncated: the pcap file header needs 24 bytes")
    order, ticks = PCAP_MAGIC[raw[:4]]
    link = struct.unpack(order + "I", raw[20:24])[0] & 0x0FFFFFFF  # the upper bits carry the FCS length
    scale = 10**9 // int(ticks)
    frames, at = [], 24
    while at < len(raw):
        if at + 16 > len(raw):
            raise fail(f"truncated: a packet record header at byte {at} is cut short")
        sec, frac, caplen, _ = struct.unpack(order + "IIII", raw[at:at + 16])
        if frac >= ticks:
            raise fail(f"corrupt: the packet record at byte {at} has a sub-second field of {frac}")
        if at + 16 + caplen > len(raw):
            raise fail(f"truncated: the packet at byte {at} needs {caplen} bytes, the file has "
                       f"{len(raw) - at - 16} more")
        frames.append((sec * 10**9 + frac * scale, raw[at + 16:at + 16 + caplen]))
        at += 16 + caplen
    return link, frames


def _pcapng(raw: bytes, fail) -> tuple[int, list[tuple[int, bytes]]]:
    """The link type and ``(time in ns, frame)`` of every packet block of a pcapng file (one interface)."""
    frames: list[tuple[int, bytes]] = []
    interfaces: list[tuple[int, int]] = []  # (link type, ticks per second)
    order, at = "<", 0
    while at < len(raw):
        if at + 12 > len(raw):
            raise fail(f"truncated: a block at byte {at} is cut short")
        kind = struct.unpack("<I", raw[at:at + 4])[0]
        if kind == PCAPNG_SHB:  # a section: its byte order holds until the next one
            magic = raw[at + 8:at + 12]
            order = "<" if magic == struct.pack("<I", BYTE_ORDER_MAGIC) else \
                ">" if magic == struct.pack(">I", BYTE_ORDER_MAGIC) else None
            if order is None:
                raise fail(f"corrupt: the section header at byte {at} has no byte-order magic")
            if interfaces:
                raise fail("holds several sections; signalsim reads captures of one interface")
        kind, length = struct.unpack(order + "II", raw[at:at + 8])
        if length < 12 or length % 4:
            raise fail(f"corrupt: the block at byte {at} claims a length of {length}")
        if at + length > len(raw):
            raise fail(f"truncated: the block at byte {at} needs {length} bytes, the file has {len(raw) - at}")
        body = raw[at + 8:at + length - 4]
        if struct.unpack(order + "I", raw[at + length - 4:at + length])[0] != length:
            raise fail(f"corrupt: the block at byte {at} ends with another length than it starts with")
        if kind == PCAPNG_IDB:
            if interfaces:
                raise fail("has several interfaces; capture one (e.g. tcpdump -i IFACE) or split it first")
            if len(body) < 8:
                raise fail(f"corrupt: the interface block at byte {at} is too short")
            interfaces.append((struct.unpack(order + "H", body[:2])[0], _ticks(body[8:], order, at, fail)))
        elif kind in (PCAPNG_EPB, PCAPNG_PB):
            if not interfaces:
                raise fail(f"corrupt: the packet block at byte {at} comes before any interface block")
            if len(body) < 20:
                raise fail(f"corrupt: the packet block at byte {at} is too short")
            if kind == PCAPNG_EPB:
                iface, high, low, caplen = struct.unpack(order + "IIII", body[:16])
            else:  # the obsolete packet block: a 16-bit interface id and a drops count
                iface, _, high, low, caplen = struct.unpack(order + "HHIII", body[:16])
            if iface != 0:
                raise fail(f"corrupt: the packet block at byte {at} names interface {iface}, which is not described")
            if 20 + caplen > len(body):
                raise fail(f"corrupt: the packet block at byte {at} claims {caplen} captured bytes, it holds "
                           f"{len(body) - 20}")
            ticks = interfaces[0][1]
            stamp = (high << 32) | low
            frames.append((stamp * 10**9 // ticks, body[20:20 + caplen]))
        elif kind == PCAPNG_SPB:
            raise fail("holds simple packet blocks, which have no time stamps: capture with time stamps")
        at += length
    if not interfaces:
        raise fail("has no interface block: not a complete pcapng capture")
    return interfaces[0][0], frames


def _ticks(options: bytes, order: str, at: int, fail) -> int:
    """Time-stamp ticks per second of an interface (its ``if_tsresol`` option; default microseconds)."""
    i = 0
    while i + 4 <= len(options):
        code, size = struct.unpack(order + "HH", options[i:i + 4])
        if code == 0:
            break
        if code == 9 and size >= 1 and i + 5 <= len(options):  # if_tsresol
            value = options[i + 4]
            exponent = value & 0x7F
            if exponent > 18:
                raise fail(f"corrupt: the interface block at byte {at} has a time resolution of 10^-{exponent}")
            return (2 if value & 0x80 else 10) ** exponent
        i += 4 + size + (-size % 4)
    return 10**6


def _ip(link: int, frame: bytes):
    """The IP packet (dpkt) inside a frame of ``link``, or None."""
    if link == 1:
        packet = dpkt.ethernet.Ethernet(frame).data
    elif link in (0, 108):
        packet = dpkt.loopback.Loopback(frame).data
    elif link == 113:
        packet = dpkt.sll.SLL(frame).data
    elif link == 276:
        packet = dpkt.sll2.SLL2(frame).data
    else:  # raw IP: the version nibble says which
        version = frame[0] >> 4 if frame else 0
        packet = dpkt.ip.IP(frame) if version == 4 else dpkt.ip6.IP6(frame) if version == 6 else None
    return packet if isinstance(packet, (dpkt.ip.IP, dpkt.ip6.IP6)) else None


def _decode(source: str, name: str, link: int, frames: list[tuple[int, bytes]], fail) -> Capture:
    rows: list[tuple] = []
    ignored = 0
    for stamp_ns, frame in frames:
        try:
            row = _packet(link, frame)
        except (dpkt.UnpackError, struct.error, ValueError, IndexError, KeyError, TypeError, AttributeError):
            row = None  # dpkt raises its own errors and, on some broken headers, plain ones
        if row is None:
            ignored += 1
        else:
            rows.append((stamp_ns, *row))
    if not frames:
        raise fail("no packets: an empty capture")
    if not rows:
        raise fail(f"no TCP or UDP packets over IPv4 or IPv6 (its {len(frames)} frames are of other kinds)")
    rows.sort(key=lambda r: r[0])  # stable: frames of the same instant keep the capture's order
    span_ns = rows[-1][0] - rows[0][0]
    if span_ns > MAX_SPAN_S * 10**9:
        raise fail(f"spans {span_ns / 1e9 / 86400:.3g} days: its time stamps are corrupt (at most "
                   f"{MAX_SPAN_S // 86400} days)")
    stamp = np.array([r[0] - rows[0][0] for r in rows], dtype=np.int64)
    cols = list(zip(*rows))
    return Capture(source, name, stamp / 1e9, np.array(cols[1], dtype=object),
                   np.array(cols[2], dtype=object), np.array(cols[3], dtype=np.int64),
                   np.array(cols[4], dtype=np.int64), np.array(cols[5], dtype=np.int64),
                   np.array(cols[6], dtype=np.int64), np.array(cols[7], dtype=np.int64),
                   np.array(cols[8], dtype=bool), ignored)


def _packet(link: int, frame: bytes) -> tuple | None:
    """``(src, dst, sport, dport, proto, ip bytes, payload bytes, syn)`` of a TCP or UDP frame, else None."""
    ip = _ip(link, frame)
    if ip is None:
        return None
    if isinstance(ip, dpkt.ip.IP):
        if ip.offset:  # a later fragment: no transport header
            return None
        family, ip_bytes, header = socket.AF_INET, ip.len, ip.hl * 4
    else:
        family, ip_bytes, header = socket.AF_INET6, 40 + ip.plen, 40 + _ext_bytes(ip)
    segment = ip.data
    if isinstance(segment, dpkt.tcp.TCP):
        proto, payload = TCP, ip_bytes - header - segment.off * 4
        syn = bool(segment.flags & dpkt.tcp.TH_SYN) and not segment.flags & dpkt.tcp.TH_ACK
    elif isinstance(segment, dpkt.udp.UDP):
        proto, payload, syn = UDP, segment.ulen - 8, False
    else:
        return None
    if payload < 0 or ip_bytes <= 0:
        return None
    return (socket.inet_ntop(family, ip.src), socket.inet_ntop(family, ip.dst), segment.sport, segment.dport,
            proto, ip_bytes, payload, syn)


def _ext_bytes(ip6) -> int:
    """Bytes of an IPv6 packet's extension headers before its transport header."""
    return sum(len(bytes(h)) for h in getattr(ip6, "extension_hdrs", {}).values() if h is not None)
