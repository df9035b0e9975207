"""UMTS RRC machine: the heartbeat cycle by hand, thresholds, fast dormancy, CELL_PCH."""
from __future__ import annotations

import pytest

from conftest import run, scenario
from sim.radio.profiles import UmtsProfile, builtin_profile_data, merge
from sim.radio.tables import build_tables


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[float, str, str]] = []

    def bind(self, tables):
        self.tables = tables
        return self

    def transition(self, record: tuple[float, int, int, int, int]) -> None:
        t, _, proc, _, state = record
        name = "start" if proc < 0 else self.tables.procedures[proc][1]
        self.events.append((t, name, self.tables.states[state][1]))


def machine(**override):
    profile = UmtsProfile.model_validate(merge(builtin_profile_data("umts"), override))
    tables = build_tables({"umts": profile}, ["umts"])
    rec = Recorder().bind(tables)
    return tables.machine("umts", 0, rec), rec, tables


def messages(tables, events) -> dict[str, int]:
    out = {n: 0 for n in tables.nodes}
    names = [p for _, p in tables.procedures]
    for _, proc, _ in events:
        if proc != "start":
            for j, node in enumerate(tables.nodes):
                out[node] += int(tables.messages[names.index(proc), j])
    return out


def test_heartbeat_cycle_walks_idle_dch_fach_idle_with_profile_counts() -> None:
    m, rec, tables = machine()
    m.data(100.0, 0, 70, 60, False)
    m.finish(1000.0)
    # ARO AT&T: promotion 2.0 s, T1 5 s, T2 12 s
    assert rec.events == [(0.0, "start", "IDLE"), (100.0, "rrc_setup", "CELL_DCH"),
                          (107.0, "dch_to_fach", "CELL_FACH"), (119.0, "release", "IDLE")]
    # reference §3: IDLE->DCH RNC 17 / SGSN 5, DCH->FACH RNC 4; release RNC 8 / SGSN 3 (Iu release 3, §6)
    assert messages(tables, rec.events) == {"RNC": 29, "SGSN": 8, "HLR": 0, "GGSN": 0}


def test_small_transfer_stays_on_fach_and_large_one_goes_to_dch() -> None:
    m, rec, _ = machine()
    m.data(0.0, 0, 70, 60, False)  # -> DCH at 0, delivered at 2, FACH at 7
    m.data(10.0, 0, 500, 400, False)  # below 543 / 475: carried on FACH, T2 restarts
    m.data(15.0, 0, 70, 1500, False)  # 1500 B down > 475: FACH -> DCH
    m.finish(100.0)
    assert [e[1] for e in rec.events] == ["start", "rrc_setup", "dch_to_fach", "fach_to_dch", "dch_to_fach", "release"]
    assert rec.events[3][0] == 15.0
    assert rec.events[4][0] == pytest.approx(15.0 + 1.5 + 5.0)
    assert rec.events[5][0] == pytest.approx(15.0 + 1.5 + 5.0 + 12.0)


def test_legacy_fast_dormancy_releases_to_idle_after_the_ue_timer() -> None:
    m, rec, _ = machine(fast_dormancy="legacy", fast_dormancy_s=4.0)
    m.data(0.0, 0, 70, 60, False)
    m.finish(100.0)
    assert rec.events[1:] == [(0.0, "rrc_setup", "CELL_DCH"), (6.0, "fd_release", "IDLE")]


def test_rel8_fast_dormancy_parks_in_pch_and_resumes_with_a_cell_update() -> None:
    m, rec, _ = machine(fast_dormancy="rel8", fast_dormancy_s=8.0)
    m.data(0.0, 0, 70, 60, False)  # DCH 0..2+5, FACH, SCRI at 2 + 8 = 10 -> PCH
    m.data(60.0, 0, 70, 60, False)  # cell update to FACH (1 s), stays on FACH
    m.finish(200.0)
    assert [(e[1], e[2]) for e in rec.events[1:]] == [
        ("rrc_setup", "CELL_DCH"), ("dch_to_fach", "CELL_FACH"), ("fd_to_pch", "CELL_PCH"),
        ("cell_update", "CELL_FACH"), ("fd_to_pch", "CELL_PCH")]
    assert rec.events[3][0] == 10.0
    assert rec.events[5][0] == 60.0 + 1.0 + 8.0


def _chatty(fast_dormancy: str) -> int:
    # A burst of chat: Poisson messages every 10 s on average, so most gaps fall between the
    # UE's 5 s dormancy timer and the network's T1 + T2 = 17 s: the case operators complained of.
    rs = scenario(network={"radio": "umts", "overrides": {"umts": {"fast_dormancy": fast_dormancy}}},
                  simulation={"duration_s": 3600.0, "seed": 5, "bin_s": 60.0},
                  apps=[{"name": "chat", "messages": {"per_hour": 360.0, "up_bytes": 400, "down_bytes": 1500}}],
                  groups=[{"name": "phones", "devices": 20, "apps": {"chat": 1.0}}])
    return run(rs).summary["signalling"]["messages_total"]


def test_legacy_fast_dormancy_raises_and_rel8_lowers_signalling() -> None:
    off, legacy, rel8 = _chatty("off"), _chatty("legacy"), _chatty("rel8")
    assert legacy > 1.5 * off
    assert rel8 < 0.9 * off


def test_energy_of_a_heartbeat_cycle_matches_aro_by_hand() -> None:
    # ARO default 3G profile: 2.0 s promotion at 0.53 W, T1 5 s at 0.7 W, T2 12 s at 0.35 W.
    rs = scenario(network={"radio": "umts"}, simulation={"duration_s": 600.0, "seed": 2, "bin_s": 60.0},
                  apps=[{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 100.0}}])
    res = run(rs)
    beats = res.summary["apps"]["chat"]["heartbeats"]
    cycles = res.summary["signalling"]["by_procedure"]["release"] // 11  # RNC 8 + SGSN 3 per release (Iu release 3)
    assert cycles == beats  # every cycle completed inside the run (checked, not assumed)
    assert res.devices["radio_energy_j"].iloc[0] == pytest.approx(beats * (2.0 * 0.53 + 5 * 0.7 + 12 * 0.35))


def test_pch_enabled_parks_in_pch_after_t2_and_releases_after_pch_timer() -> None:
    m, rec, tables = machine(pch_enabled=True, pch_release_s=600.0)
    m.data(0.0, 0, 70, 60, True)  # mobile-terminated: paging first
    m.finish(1000.0)
    assert rec.events[1:] == [(0.0, "paging", "IDLE"), (0.0, "rrc_setup", "CELL_DCH"),
                              (7.0, "dch_to_fach", "CELL_FACH"), (19.0, "to_pch", "CELL_PCH"),
                              (619.0, "pch_release", "IDLE")]
