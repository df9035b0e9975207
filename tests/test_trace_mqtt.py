"""Acceptance: a real MQTT client's capture with a 20 s keepalive (tests/data/mqtt-keepalive-20s.pcap:
mosquitto 2.0.11 on 127.0.0.1:18830, ``mosquitto_sub -k 20`` for 150 s, ``tcpdump -i lo``).

The expectations are computed here from the packet times (read with dpkt, not signalsim) and the
default LTE profile's numbers: each keepalive (PINGREQ, PINGRESP, ACK within a millisecond) finds the
radio idle, 20 s being longer than a promotion and a tail; the final DISCONNECT falls inside the last
keepalive's tail."""
from __future__ import annotations

from pathlib import Path

import dpkt
import pytest
from test_trace import LTE, lte_tail_w

from sim.trace.run import trace_capture

CAPTURE = Path(__file__).parent / "data" / "mqtt-keepalive-20s.pcap"


def packet_times() -> list[tuple[float, bytes]]:
    """``(seconds since the first packet, TCP payload)``: the file's stamps are whole microseconds, so
    the differences are rounded to them (the epoch time as a float is only good to 0.2 µs)."""
    with open(CAPTURE, "rb") as handle:
        stamped = [(t, bytes(dpkt.ethernet.Ethernet(b).data.data.data)) for t, b in dpkt.pcap.Reader(handle)]
    return [(round((t - stamped[0][0]) * 1e6) / 1e6, payload) for t, payload in stamped]


def test_mqtt_keepalive_by_hand():
    packets = packet_times()
    times = [t for t, _ in packets]
    pings = [t for t, payload in packets if payload == b"\xc0\x00"]  # MQTT PINGREQ
    assert len(pings) == 7
    run = trace_capture(CAPTURE)
    s = run.summary
    (periodic,) = s["periodic"]
    assert periodic["period_s"] == pytest.approx(20.0, abs=0.05)
    # one promotion per keepalive, and the connection's own at the start
    assert s["rrc"]["promotions_total"] == len(pings) + 1 == s["rrc"]["releases_total"]
    triggered = run.packets[run.packets.triggered != ""]
    assert triggered.t_s.tolist() == pytest.approx([0.0, *pings]) and set(triggered.triggered) == {"service_request"}
    d, tail = LTE["promotion_delay_s"], LTE["tail_s"]
    starts = [0.0, *pings]
    ends = [start + d + tail for start in starts[:-1]] + [times[-1] + tail]  # the DISCONNECT restarts the last tail
    assert all(end < nxt for end, nxt in zip(ends, starts[1:]))
    connected = sum(e - b for b, e in zip(starts, ends))
    end = ends[-1]
    assert s["end_s"] == pytest.approx(end, abs=1e-9)
    assert s["rrc"]["time_s_by_state"] == pytest.approx({"RRC_IDLE": end - connected, "RRC_CONNECTED": connected},
                                                        abs=1e-9)
    promotions = len(starts)
    energy = (promotions * d * LTE["promotion_power_mw"] / 1000 + (connected - promotions * d) * lte_tail_w()
              + (end - connected) * LTE["idle_power_mw"] / 1000)
    assert s["energy"]["radio_j"] == pytest.approx(energy, rel=1e-12)
    m = LTE["messages"]
    assert s["signalling"]["by_node"] == {
        n: promotions * m["service_request"].get(n, 0) + s["rrc"]["releases_total"] * m["s1_release"].get(n, 0)
        for n in ("eNB", "MME", "S-GW", "HSS", "P-GW")}
