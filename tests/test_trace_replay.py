"""Population from traces: a captured flow as a pattern each device replays from its own phase."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import run, scenario
from test_trace_mqtt import CAPTURE, packet_times
from tracefiles import frame, write_pcap

from sim.cli import cli
from sim.errors import ScenarioError
from sim.radio.tables import build_tables
from sim.scenario import load_scenario
from sim.scenario.budget import estimate
from sim.trace.replay import BURST_GAP_S, load_pattern, replay_times
from sim.trace.run import trace_capture, trace_profile


def test_mqtt_pattern_by_hand():
    p = load_pattern(str(CAPTURE), ":18830")
    times = [t for t, _ in packet_times()]
    starts = [t for k, t in enumerate(times) if k == 0 or t - times[k - 1] >= BURST_GAP_S]
    assert len(starts) == 9  # the connection, 7 keepalives, the disconnection
    assert p.cycle_s == pytest.approx(times[-1] + float(np.median(np.diff(starts))))
    # every burst is shorter than MERGE_S but the first: its last packet (an ACK 43 ms later) is merged too
    assert p.offsets_s.tolist() == pytest.approx(starts)
    assert [p.kinds[k][2] for k in p.kind] == [10, 3, 3, 3, 3, 3, 3, 3, 4]  # packets per burst
    assert sum(p.kinds[k][0] + p.kinds[k][1] for k in p.kind) == sum(
        trace_capture(CAPTURE).packets.ip_bytes)
    assert not p.incoming.any()  # the client opens and keeps its connection: every burst is its own


def records(radio: str, times, incoming, up, down) -> list[tuple]:
    _, profile = trace_profile(radio)
    tables = build_tables({radio: profile}, [radio], 0, 1)
    out: list[tuple] = []
    sink = type("Sink", (), {"transition": staticmethod(out.append)})
    machine = tables.machine(radio, 0, sink)
    for t, i, u, d in zip(times, incoming, up, down):
        machine.data(t, 0, u, d, i)
    machine.finish(1000.0)
    return out


@pytest.mark.parametrize("radio", ["lte", "nr", "umts"])
def test_a_replay_makes_the_records_of_every_packet(tmp_path, radio):
    # bursts whose first packet finds the radio idle (every 40 s, longer than any connection here), with
    # packets spread over 3 s: the few transfers standing for them give the records all packets give
    packets = []
    for start in (0.0, 40.0, 80.0, 120.0):
        packets += [(start + dt, up, size) for dt, up, size in ((0.0, True, 80), (0.05, False, 80), (0.8, True, 100),
                                                                  (2.0, False, 100), (3.1, True, 60))]
    path = write_pcap(tmp_path / "c.pcap", [(t, frame(up, size)) for t, up, size in packets])
    p = load_pattern(str(path), "*")
    times, kind, incoming = replay_times(p, np.zeros(1), p.cycle_s)
    kept = np.isfinite(times[0])
    assert kept.sum() == 4 * 4  # per burst: the first (with the packet 50 ms later), 0.8 s, 2.0 s, 3.1 s
    up = np.array([p.kinds[k][0] for k in kind[0][kept]]) * 0  # small bursts: bytes change nothing here
    every = records(radio, [t for t, _, _ in packets], [not u for _, u, _ in packets], [0] * len(packets),
                    [0] * len(packets))
    few = records(radio, times[0][kept].tolist(), incoming[0][kept].tolist(), up.tolist(), up.tolist())
    assert few == every


def test_each_device_replays_from_its_own_phase():
    p = load_pattern(str(CAPTURE), "*")
    times, _, _ = replay_times(p, np.array([0.0, 0.25, 0.999]), 2000.0)
    firsts = [row[np.isfinite(row)][0] for row in times]
    assert firsts[0] == 0.0 and all(np.all(np.diff(row[np.isfinite(row)]) > 0) for row in times)
    # device 1 starts a quarter into the cycle: its first transfer is the first offset beyond that point
    assert firsts[1] == pytest.approx(min(o for o in p.offsets_s if o >= 0.25 * p.cycle_s) - 0.25 * p.cycle_s)


def write_scenario(tmp_path: Path, traffic: str, extra: str = "") -> Path:
    path = tmp_path / "s.toml"
    path.write_text(f'name = "s"\n[simulation]\nduration_s = 600.0\n{extra}\n[[apps]]\nname = "mqtt"\n'
                    f"traffic = {traffic}\n[[groups]]\nname = \"g\"\ndevices = 50\napps = {{ mqtt = 1.0 }}\n")
    return path


def test_scenario_path_is_relative_to_the_scenario(tmp_path):
    (tmp_path / "caps").mkdir()
    (tmp_path / "caps" / "m.pcap").write_bytes(CAPTURE.read_bytes())
    rs = load_scenario(write_scenario(tmp_path, '{ trace = "caps/m.pcap", flow = ":18830" }'))
    assert rs.scenario.apps[0].traffic.trace == str(tmp_path / "caps" / "m.pcap")
    result = run(rs)
    per_hour = result.summary["rrc"]["promotions_per_device_hour"]
    p = load_pattern(str(tmp_path / "caps" / "m.pcap"), ":18830")
    assert per_hour == pytest.approx(8 * 3600.0 / p.cycle_s, rel=0.05)  # 8 of a cycle's 9 bursts promote
    assert result.summary["apps"]["mqtt"]["messages"] > 0


@pytest.mark.parametrize("traffic, extra, words", [
    ('{ trace = "missing.pcap" }', "", "apps[0].traffic.trace: "),
    ('{ trace = "m.pcap", flow = ":80" }', "", "no flow matches ':80'"),
    ('{ trace = "m.pcap" }\nheartbeat = { policy = "fixed", interval_s = 60.0 }', "", "apps[0]: "),
    ('{ trace = "m.pcap" }', "[controlplane.nodes.eNB]\nmessages_per_s = 100.0", "open loop only"),
])
def test_bad_replays_are_one_line(tmp_path, traffic, extra, words):
    (tmp_path / "m.pcap").write_bytes(CAPTURE.read_bytes())
    path = write_scenario(tmp_path, traffic, extra)
    result = CliRunner().invoke(cli, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and words in result.output and result.output.startswith(f"error: {path}: "), \
        result.output
    assert not (tmp_path / "out").exists()


def test_budget_counts_replays_and_refuses_too_large_runs():
    apps = [{"name": "mqtt", "traffic": {"trace": str(CAPTURE)}}]
    rs = scenario(apps=apps, groups=[{"name": "g", "devices": 1000, "apps": {"mqtt": 1.0}}])
    p = load_pattern(str(CAPTURE), "*")
    assert estimate(rs).transfers == pytest.approx(1000 * (3600.0 / p.cycle_s + 1) * p.offsets_s.size)
    with pytest.raises(ScenarioError, match="simulation.duration_s: (needs|would take) about"):
        scenario(apps=apps, groups=[{"name": "g", "devices": 10**7, "apps": {"mqtt": 1.0}}],
                 simulation={"duration_s": 86400.0 * 30, "bin_s": 3600.0})
