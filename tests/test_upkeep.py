"""Periodic upkeep (docs/model.md §3): periodic TAU/RAU/registration updates in idle, cell updates in
CELL_PCH and RNA updates in RRC_INACTIVE, counted by hand."""
from __future__ import annotations

import math

import pytest

from sim.radio.compiled import PHASE_STREAM, start
from sim.radio.profiles import PROFILE_MODELS, builtin_profile_data, merge
from sim.radio.tables import build_tables
from sim.radio.umts import pch_update_s


class Sink:
    def __init__(self):
        self.records: list[tuple] = []

    def transition(self, record):
        self.records.append(record)


def machine(radio: str, apps: int = 1, **override):
    profile = PROFILE_MODELS[radio](**merge(builtin_profile_data(radio), override))
    tables = build_tables({radio: profile}, [radio], apps=apps)
    sink = Sink()
    return tables.machine(radio, 0, sink), sink, tables


def names(tables, records):
    return [tables.procedures[r[2]][1] for r in records if r[2] >= 0]


def test_an_idle_lte_phone_makes_one_periodic_tau_per_t3412():
    m, sink, tables = machine("lte")
    phase = m.last  # the timer last started before t = 0, at a uniform phase
    assert -3240.0 < phase <= 0.0
    m.finish(3 * 3600.0)
    taus = [r for r in sink.records if r[2] >= 0]
    expected = [phase + 3240.0 * k for k in range(1, 5) if phase + 3240.0 * k < 3 * 3600.0]
    assert [r[0] for r in taus] == pytest.approx(expected)
    assert len(taus) in (3, 4) and names(tables, taus) == ["periodic_tau"] * len(taus)
    assert {r[3] for r in taus} == {1 + 2}  # the mobility pseudo-app: after 1 app, os-push and network
    assert {r[4] for r in taus} == {m.spec.idle}  # the state stays RRC_IDLE
    code = tables.procedures.index(("lte", "periodic_tau"))
    # by hand: RRC 5 + S1AP 4 at the eNB, S1AP 4 at the MME (sim/profiles/lte.toml)
    assert dict(zip(tables.nodes, tables.messages[code])) == {"eNB": 9, "MME": 4, "S-GW": 0, "HSS": 0, "P-GW": 0}


def test_the_timer_starts_at_the_release_and_a_promotion_cancels_it():
    m, sink, tables = machine("lte", t3412_s=1000.0)
    m.last = 0.0  # a timer started at t = 0, for round numbers
    m.data(900.0, 0, 100, 100, False)  # before the first update: none
    released = 900.0 + m.spec.promotion_delay_s + m.spec.tail_s
    m.finish(released + 2500.0)
    recs = [(r[0], tables.procedures[r[2]][1]) for r in sink.records if r[2] >= 0]
    assert recs == [(900.0, "service_request"), (pytest.approx(released), "s1_release"),
                    (pytest.approx(released + 1000.0), "periodic_tau"),
                    (pytest.approx(released + 2000.0), "periodic_tau")]


def test_an_update_due_with_a_transfer_comes_first_and_one_due_at_the_end_never_happens():
    m, sink, tables = machine("lte", t3412_s=1000.0)
    m.last = 0.0
    m.data(1000.0, 0, 100, 100, False)
    assert names(tables, sink.records) == ["periodic_tau", "service_request"]
    m, sink, tables = machine("lte", t3412_s=1000.0)
    m.last = 0.0
    m.finish(2000.0)
    assert [r[0] for r in sink.records if r[2] >= 0] == [1000.0]


def test_the_phase_is_a_counter_based_draw_of_the_device():
    spec = machine("lte")[0].spec
    assert start(spec.paging_key, 0, spec.upkeep, spec.idle) == start(spec.paging_key, 0, spec.upkeep, spec.idle)
    assert start(spec.paging_key, 0, spec.upkeep, spec.idle) != start(spec.paging_key, 1, spec.upkeep, spec.idle)
    assert PHASE_STREAM != 0
    off = machine("lte", t3412_s=math.inf)[0]
    assert off.last == 0.0
    off.finish(1e6)
    assert off.wake() == math.inf


def test_umts_makes_rau_in_idle_and_cell_updates_in_pch():
    m, sink, tables = machine("umts", pch_enabled=True, pch_release_s=5000.0, t305_s=1800.0, t3312_s=3240.0)
    m.data(0.0, 0, 100, 100, False)  # IDLE -> CELL_DCH; T1, T2 later CELL_PCH; 5000 s later IDLE
    s = m.spec
    in_pch = s.idle_to_dch_delay_s + s.t1_s + s.t2_s
    m.finish(in_pch + 5000.0 + 3300.0)
    recs = [(r[0], tables.procedures[r[2]][1]) for r in sink.records if r[2] >= 0][3:]  # after the rrc_setup chain
    assert recs == [(pytest.approx(in_pch + 1800.0), "pch_cell_update"),
                    (pytest.approx(in_pch + 3600.0), "pch_cell_update"),
                    (pytest.approx(in_pch + 5000.0), "pch_release"),
                    (pytest.approx(in_pch + 5000.0 + 3240.0), "periodic_rau")]
    code = tables.procedures.index(("umts", "periodic_rau"))
    assert dict(zip(tables.nodes, tables.messages[code]))["RNC"] == 11


def test_mobility_cell_updates_shorten_the_mean_gap_as_a_renewal_process():
    base = builtin_profile_data("umts")
    profile = PROFILE_MODELS["umts"](**merge(base, {"t305_s": 1800.0, "pch_mobility_updates_per_h": 2.0}))
    rate = 2.0 / 3600.0
    assert pch_update_s(profile) == pytest.approx((1.0 - math.exp(-rate * 1800.0)) / rate)  # 1137.9 s
    assert pch_update_s(PROFILE_MODELS["umts"](**base)) == 1800.0


def test_nr_registers_in_idle_and_updates_its_rna_in_inactive():
    m, sink, tables = machine("nr", inactive_enabled=True, inactive_release_s=5000.0, t380_s=3600.0,
                              t3512_s=3240.0)
    m.data(0.0, 0, 100, 100, False)
    suspended = m.spec.promotion_delay_s + m.spec.tail_s
    m.finish(suspended + 5000.0 + 3300.0)
    recs = [(r[0], tables.procedures[r[2]][1]) for r in sink.records if r[2] >= 0][2:]
    assert recs == [(pytest.approx(suspended + 3600.0), "rna_update"),
                    (pytest.approx(suspended + 5000.0), "inactive_release"),
                    (pytest.approx(suspended + 5000.0 + 3240.0), "periodic_registration")]


def test_three_hours_idle_with_the_timer_started_at_zero_make_three_taus_of_13_messages():
    m, sink, tables = machine("lte")
    m.last = 0.0
    m.finish(3 * 3600.0)
    taus = [r for r in sink.records if r[2] >= 0]
    assert [r[0] for r in taus] == [3240.0, 6480.0, 9720.0]  # 54, 108, 162 min; 216 min is past the end
    assert sum(int(tables.messages[r[2]].sum()) for r in taus) == 3 * (9 + 4)
