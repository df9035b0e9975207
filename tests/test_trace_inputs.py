"""Bad captures: one line ``error: FILE: message``, exit 2, nothing written; and a fuzz test of mutated captures."""
from __future__ import annotations

import random
import struct

import dpkt
import pytest
from click.testing import CliRunner
from tracefiles import frame, train, write_pcap, write_pcapng

from sim.cli import cli
from sim.errors import ScenarioError
from sim.trace.capture import parse_capture
from sim.trace.flows import device_train
from sim.trace.run import run_trace, trace_profile


def arp_frame() -> bytes:
    return bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\xff" * 6, type=dpkt.ethernet.ETH_TYPE_ARP,
                                        data=dpkt.arp.ARP()))


def good(tmp_path):
    return write_pcap(tmp_path / "good.pcap", train((0.0, True, 100), (1.0, False, 1400), (30.0, True, 60)))


BAD = {
    "empty": (lambda tmp: (tmp / "x.pcap").write_bytes(b""), "empty file"),
    "not a capture": (lambda tmp: (tmp / "x.pcap").write_text("hello, world\n"), "not a pcap or pcapng"),
    "truncated header": (lambda tmp: (tmp / "x.pcap").write_bytes(good(tmp).read_bytes()[:20]), "truncated"),
    "truncated packet": (lambda tmp: (tmp / "x.pcap").write_bytes(good(tmp).read_bytes()[:-7]), "truncated"),
    "corrupt record": (lambda tmp: (tmp / "x.pcap").write_bytes(good(tmp).read_bytes()[:24] + b"\xff" * 16),
                       "corrupt"),
    "link type": (lambda tmp: write_pcap(tmp / "x.pcap", train((0.0, True, 100)), linktype=147),
                  "unsupported link type 147"),
    "interfaces": (lambda tmp: write_pcapng(tmp / "x.pcap", train((0.0, True, 100)), interfaces=2),
                   "several interfaces"),
    "no tcp or udp": (lambda tmp: write_pcap(tmp / "x.pcap", [(0.0, arp_frame()), (1.0, arp_frame())]),
                      "no TCP or UDP packets"),
    "no packets": (lambda tmp: write_pcap(tmp / "x.pcap", []), "no packets"),
    "folder": (lambda tmp: (tmp / "x.pcap").mkdir(), "not a regular file"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_capture_is_one_line(tmp_path, case):
    make, words = BAD[case]
    make(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["trace", str(tmp_path / "x.pcap"), "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {tmp_path / 'x.pcap'}: ") and words in lines[0], lines
    assert not out.exists() and result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("args, words", [
    (["--set", "simulation.duration_s=5"], "error: --set: simulation.duration_s: signalsim trace takes"),
    (["--set", "network.overrides.lte.tail_s=-1"], "error: --set: network.overrides.lte.tail_s: "),
    (["--device", "192.0.2.1"], "error: --device: 192.0.2.1: no packet"),
    (["--app", "web"], "error: --app: web: expected NAME=FLOW"),
])
def test_bad_options_are_one_line(tmp_path, args, words):
    result = CliRunner().invoke(cli, ["trace", str(good(tmp_path)), "--out", str(tmp_path / "out"), *args])
    assert result.exit_code == 2 and result.output.startswith(words) and len(result.output.splitlines()) == 1, \
        result.output
    assert not (tmp_path / "out").exists()


def test_fuzzed_captures_never_crash(tmp_path):
    """2,000 mutations (bytes flipped, cut, repeated, length fields rewritten) of a small pcap and pcapng:
    each is read and run, or refused with a ScenarioError; never another exception or a hang."""
    packets = train((0.0, True, 100), (0.2, False, 1400), (3.0, True, 60))
    packets.append((4.0, frame(True, 200, proto="udp", port=53)))
    seeds = [write_pcap(tmp_path / "a.pcap", packets).read_bytes(), write_pcapng(tmp_path / "a.pcapng", packets)
             .read_bytes()]
    radio, profile = trace_profile("lte")
    rng = random.Random(15)
    outcomes = {"read": 0, "refused": 0}
    for _ in range(2000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            kind, at = rng.randrange(5), rng.randrange(max(len(data), 1))
            if kind == 0:
                data[at] = rng.randrange(256)
            elif kind == 1:
                del data[at:]
            elif kind == 2:
                data[at:at] = data[at:at + rng.randint(1, 64)]
            elif kind == 3 and at + 4 <= len(data):
                data[at:at + 4] = struct.pack("<I", rng.choice([0, 1, 12, 0xFFFFFFFF, rng.randrange(1 << 32)]))
            else:
                del data[at:at + rng.randint(1, 32)]
        try:
            run_trace(device_train(parse_capture(bytes(data), "f.cap")), radio, profile, {"file": "f.cap"})
            outcomes["read"] += 1
        except ScenarioError as exc:
            assert len(exc.problems) == 1 and "\n" not in str(exc)
            outcomes["refused"] += 1
    assert outcomes["read"] > 50 and outcomes["refused"] > 500, outcomes
