"""signalsim trace against hand computations: captures written here, packets at chosen times, whose
states, promotions, messages and energy are worked out from the profile files' numbers (docs/trace.md)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from tracefiles import PHONE, SERVER, frame, train, write_pcap, write_pcapng

from sim.cli import cli
from sim.radio.profiles import builtin_profile_data
from sim.trace.run import trace_capture

LTE = builtin_profile_data("lte")
UMTS = builtin_profile_data("umts")
NR = builtin_profile_data("nr")


def lte_tail_w() -> float:
    """The LTE tail's mean power by hand (docs/model.md §8): continuous reception, short DRX, long DRX."""
    p = LTE

    def drx_mw(cycle_s: float) -> float:
        return (p["drx_on_s"] * p["drx_on_power_mw"] + (cycle_s - p["drx_on_s"]) * p["connected_power_mw"]) / cycle_s

    short, long = drx_mw(p["short_drx_cycle_s"]), drx_mw(p["long_drx_cycle_s"])
    rest = p["tail_s"] - p["continuous_reception_s"] - p["short_drx_s"]
    return (p["continuous_reception_s"] * p["continuous_reception_power_mw"] + p["short_drx_s"] * short
            + rest * long) / p["tail_s"] / 1000.0


def test_lte_two_connections_by_hand(tmp_path):
    # up at 0 (promotes), 5 (connected: the tail restarts), 30 (idle again: promotes)
    s = trace_capture(write_pcap(tmp_path / "c.pcap", train((0.0, True, 100), (5.0, True, 100),
                                                                (30.0, True, 100)))).summary
    d, tail = LTE["promotion_delay_s"], LTE["tail_s"]
    connected = (5.0 + tail) + (d + tail)
    end = 30.0 + d + tail
    assert s["end_s"] == pytest.approx(end, abs=1e-9)
    assert s["rrc"]["promotions_total"] == 2 and s["rrc"]["releases_total"] == 2
    assert s["rrc"]["time_s_by_state"] == pytest.approx({"RRC_IDLE": end - connected, "RRC_CONNECTED": connected})
    assert s["rrc"]["promotion_s"] == pytest.approx(2 * d)
    energy_connected = 2 * d * LTE["promotion_power_mw"] / 1000 + (connected - 2 * d) * lte_tail_w()
    energy_idle = (end - connected) * LTE["idle_power_mw"] / 1000
    assert s["energy"]["radio_j_by_state"] == pytest.approx({"RRC_IDLE": energy_idle,
                                                             "RRC_CONNECTED": energy_connected}, rel=1e-12)
    assert s["energy"]["radio_j"] == pytest.approx(energy_idle + energy_connected, rel=1e-12)
    m = LTE["messages"]
    assert s["signalling"]["by_node"] == {n: 2 * m["service_request"].get(n, 0) + 2 * m["s1_release"].get(n, 0)
                                          for n in ("eNB", "MME", "S-GW", "HSS", "P-GW")}


def test_lte_downlink_first_burst_pages(tmp_path):
    # the server's packet finds the phone idle: the network paged it first; the phone's answer does not
    s = trace_capture(write_pcap(tmp_path / "c.pcap", train((0.0, False, 80), (0.05, True, 60))),
                      device=PHONE).summary
    area = LTE["paging_areas"]["paging"]
    stations, cells = area["base_stations"], area["cells_per_base_station"]
    page = {"eNB": stations * (area["per_base_station"]["eNB"] + cells * area["per_cell"]["eNB"]),
            "MME": LTE["messages"]["paging"]["MME"] + stations * area["per_base_station"]["MME"],
            "S-GW": LTE["messages"]["paging"]["S-GW"]}
    assert s["signalling"]["occurrences_by_procedure"] == {"paging": 1, "service_request": 1, "s1_release": 1}
    assert s["signalling"]["by_procedure"]["paging"] == sum(page.values())
    # the answer arrives during the promotion: it waits for it, and the tail runs from the promotion's end
    assert s["end_s"] == pytest.approx(LTE["promotion_delay_s"] + LTE["tail_s"])


def test_umts_setup_then_demotions_by_hand(tmp_path):
    s = trace_capture(write_pcap(tmp_path / "c.pcap", train((0.0, True, 100))), "umts").summary
    d, t1, t2 = UMTS["idle_to_dch_delay_s"], UMTS["t1_s"], UMTS["t2_s"]
    assert s["end_s"] == pytest.approx(d + t1 + t2)
    assert s["rrc"]["time_s_by_state"] == pytest.approx({"IDLE": 0.0, "CELL_FACH": t2, "CELL_DCH": d + t1,
                                                         "CELL_PCH": 0.0})
    energy = (d * UMTS["idle_to_dch_power_mw"] + t1 * UMTS["dch_power_mw"] + t2 * UMTS["fach_power_mw"]) / 1000
    assert s["energy"]["radio_j"] == pytest.approx(energy, rel=1e-12)
    assert s["signalling"]["occurrences_by_procedure"] == {"rrc_setup": 1, "dch_to_fach": 1, "release": 1}


@pytest.mark.parametrize("gap_s, promotes", [(0.05, True), (1.0, False)])
def test_umts_rlc_buffer_fills_across_packets(tmp_path, gap_s, promotes):
    # in CELL_FACH (from 7 s to 19 s), two uplink packets of 300 IP bytes: within the buffer's drain time
    # ((0.0014 x 300^2 + 1.6 x 300 + 20) ms = 0.626 s, ARO's rate) they add up to 600 > 543 B: FACH -> DCH
    packets = train((0.0, True, 100), (10.0, True, 300), (10.0 + gap_s, True, 300))
    s = trace_capture(write_pcap(tmp_path / "c.pcap", packets), "umts").summary
    assert ("fach_to_dch" in s["signalling"]["occurrences_by_procedure"]) is promotes
    assert s["rrc"]["promotions_total"] == 1 + promotes


def test_nr_suspends_and_resumes(tmp_path):
    # NR with RRC_INACTIVE: the tail suspends; the next downlink packet is paged by the RAN and resumes
    tail, d, resume = NR["tail_s"], NR["promotion_delay_s"], NR["resume_delay_s"]
    s = trace_capture(write_pcap(tmp_path / "c.pcap", train((0.0, True, 100), (30.0, False, 100))), "nr",
                      device=PHONE).summary
    assert s["signalling"]["occurrences_by_procedure"] == {"service_request": 1, "suspend": 2, "resume": 1,
                                                           "ran_paging": 1}
    assert s["end_s"] == pytest.approx(30.0 + resume + tail)
    assert s["rrc"]["time_s_by_state"]["RRC_CONNECTED"] == pytest.approx(d + tail + resume + tail)


def test_overrides_as_a_scenarios(tmp_path):
    path = write_pcap(tmp_path / "c.pcap", train((0.0, True, 100)))
    s = trace_capture(path, "lte", ["network.overrides.lte.tail_s=5"]).summary
    assert s["end_s"] == pytest.approx(LTE["promotion_delay_s"] + 5.0)
    assert trace_capture(path, "lte", ["network.radio=umts"]).summary["radio"] == "umts"


def test_periodic_flow_and_its_shares(tmp_path):
    # a keepalive every 30 s to one server, two other transfers to another: the keepalive is periodic
    packets = [(30.0 * k, frame(True, 80)) for k in range(6)]
    packets += [(t, frame(True, 500, server="198.51.100.7", port=80, client_port=41000)) for t in (35.0, 95.0)]
    s = trace_capture(write_pcap(tmp_path / "c.pcap", sorted(packets)), apps={"im": [f"{SERVER}:443"]}).summary
    (p,) = s["periodic"]
    assert (p["flow"], p["app"], p["count"]) == (f"{SERVER}:443/tcp", "im", 6)
    assert p["period_s"] == pytest.approx(30.0)
    # every keepalive promotes (30 s > the 10.38 s connection); 35 s and 95 s find the radio connected
    assert s["rrc"]["promotions_total"] == 6 and p["promotions"] == 6 and p["promotions_share"] == 1.0
    assert s["apps"]["198.51.100.7:80/tcp"]["promotions"] == 0
    assert p["energy_share"] == pytest.approx(p["radio_j"] / s["energy"]["radio_j"])
    assert sum(s["energy"]["radio_j_by_flow"].values()) == pytest.approx(s["energy"]["radio_j"])


def test_device_address_and_other_hosts(tmp_path):
    # a capture with another host's packet: --device keeps the phone's; without it, the phone is the
    # address in every packet but one, so the side that opened each connection decides
    packets = train((0.0, True, 100), (1.0, False, 100))
    packets.append((2.0, frame(True, 100, phone="10.0.0.9", client_port=40001)))
    path = write_pcap(tmp_path / "c.pcap", packets)
    assert trace_capture(path, device=PHONE).summary["capture"]["packets"] == 2
    assert trace_capture(path).summary["capture"]["packets"] == 3


def test_pcapng_reads_as_pcap(tmp_path):
    packets = train((0.0, True, 100), (12.5, False, 1400), (40.0, True, 60))
    a = trace_capture(write_pcap(tmp_path / "c.pcap", packets)).summary
    b = trace_capture(write_pcapng(tmp_path / "c.pcapng", packets)).summary
    assert {k: v for k, v in a.items() if k != "capture"} == {k: v for k, v in b.items() if k != "capture"}


def test_cli_writes_its_folder_and_refuses_others(tmp_path):
    path = write_pcap(tmp_path / "c.pcap", train((0.0, True, 100), (30.0, True, 100)))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["trace", str(path), "--out", str(out), "--app", "web=:443"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [".signalsim", "packets.csv", "plots", "report.html",
                                                    "states.csv", "summary.json"]
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["energy.png", "timeline.png"]
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["capture"]) >= {"packets", "bytes", "span_s", "flows"}
    assert "web" in result.output
    assert CliRunner().invoke(cli, ["trace", str(path), "--out", str(out)]).exit_code == 0  # its own: replaced
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    refused = CliRunner().invoke(cli, ["trace", str(path), "--out", str(mine)])
    assert refused.exit_code == 2 and (mine / "notes.txt").read_text() == "keep"
