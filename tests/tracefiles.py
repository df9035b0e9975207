"""Captures the trace tests write themselves: packets at chosen times, sizes and directions (dpkt)."""
from __future__ import annotations

import socket
from pathlib import Path

import dpkt

PHONE = "10.0.0.2"
SERVER = "93.184.216.34"
T0 = 1_700_000_000.0  # the first packet's time stamp (any epoch time)


def frame(up: bool, ip_bytes: int, server: str = SERVER, port: int = 443, proto: str = "tcp", client_port: int = 40000,
          syn: bool = False, phone: str = PHONE) -> bytes:
    """An Ethernet frame of an IPv4 packet of ``ip_bytes`` between the phone and ``server:port``."""
    src, dst = (phone, server) if up else (server, phone)
    sport, dport = (client_port, port) if up else (port, client_port)
    header = 20 + (20 if proto == "tcp" else 8)
    payload = b"x" * (ip_bytes - header)
    if proto == "tcp":
        segment = dpkt.tcp.TCP(sport=sport, dport=dport, flags=dpkt.tcp.TH_SYN if syn else dpkt.tcp.TH_ACK,
                               data=payload)
        number = dpkt.ip.IP_PROTO_TCP
    else:
        segment = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
        segment.ulen = 8 + len(payload)
        number = dpkt.ip.IP_PROTO_UDP
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=number, data=segment)
    ip.len = ip_bytes
    return bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip))


def write_pcap(path: Path, packets: list[tuple[float, bytes]], linktype: int = dpkt.pcap.DLT_EN10MB) -> Path:
    """A pcap file of ``(seconds after T0, frame)`` packets."""
    with open(path, "wb") as handle:
        writer = dpkt.pcap.Writer(handle, linktype=linktype)
        for t, data in packets:
            writer.writepkt(data, ts=T0 + t)
    return path


def write_pcapng(path: Path, packets: list[tuple[float, bytes]], interfaces: int = 1) -> Path:
    """A pcapng file of the same; ``interfaces`` > 1 describes more interfaces than it uses."""
    idb = [dpkt.pcapng.InterfaceDescriptionBlockLE(snaplen=65535, linktype=dpkt.pcap.DLT_EN10MB)
           for _ in range(interfaces)]
    with open(path, "wb") as handle:
        writer = dpkt.pcapng.Writer(handle, idb=idb if interfaces > 1 else idb[0])
        for t, data in packets:
            writer.writepkt(data, ts=T0 + t)
    return path


def train(*packets: tuple[float, bool, int]) -> list[tuple[float, bytes]]:
    """``(t, up, ip_bytes)`` packets of one TCP flow to SERVER:443."""
    return [(t, frame(up, size)) for t, up, size in packets]
