"""NR RRC machine: RRC_INACTIVE resumes cost the core nothing."""
from __future__ import annotations

from conftest import run, scenario


def _nr(inactive: bool):
    return run(scenario(network={"radio": "nr", "overrides": {"nr": {"inactive_enabled": inactive}}},
                        apps=[{"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 60.0},
                               "messages": {"per_hour": 10.0, "up_bytes": 300, "down_bytes": 900}}],
                        groups=[{"name": "phones", "devices": 5, "apps": {"chat": 1.0}}]))


def test_resume_from_inactive_puts_no_messages_on_the_core() -> None:
    res = _nr(inactive=True)
    s = res.summary["signalling"]
    resumes = s["by_procedure"]["resume"] // 3  # gNB 3 per resume (reference §3)
    assert resumes > 5 * 50  # every beat after the first finds the UE in RRC_INACTIVE
    # Only each device's first promotion (from RRC_IDLE at the start) reaches AMF and SMF.
    # (a first promotion may be mobile-terminated: core paging comes first, to the 50 gNBs of 3
    # cells of the registration area: gNB 50 x (1 + 3), AMF 2 + 50, SMF 2 (nr.toml, by hand))
    per_page = {"gNB": 50 * (1 + 3), "AMF": 2 + 50, "SMF": 2}
    core_pagings = s["by_procedure"]["paging"] // sum(per_page.values())
    assert core_pagings <= 5 and s["by_procedure"]["paging"] == core_pagings * sum(per_page.values())
    # service request, one PDU session (TS 23.502 §4.2.3.2): gNB 10, AMF 7, SMF 6, UPF 2
    assert s["by_procedure"]["service_request"] == 5 * (10 + 7 + 6 + 2)
    assert s["by_node"]["AMF"] == 5 * 7 + per_page["AMF"] * core_pagings
    assert s["by_node"]["SMF"] == 5 * 6 + per_page["SMF"] * core_pagings
    assert s["by_procedure"]["ran_paging"] > 0  # later MT data reaches INACTIVE UEs by RAN paging


def test_without_inactive_every_promotion_reaches_the_core() -> None:
    res = _nr(inactive=False)
    s = res.summary["signalling"]
    promotions = res.summary["rrc"]["promotions_total"]
    assert s["by_procedure"]["service_request"] == promotions * 25
    assert s["by_node"]["AMF"] >= promotions * 7
    assert s["by_procedure"]["resume"] == 0
    assert res.summary["rrc"]["time_share_by_state"]["RRC_INACTIVE"] == 0.0


def test_inactive_release_timer_returns_the_ue_to_idle() -> None:
    from sim.radio.profiles import NrProfile, builtin_profile_data, merge
    from sim.radio.tables import build_tables

    events = []
    profile = NrProfile.model_validate(merge(builtin_profile_data("nr"), {"inactive_release_s": 100.0}))
    tables = build_tables({"nr": profile}, ["nr"])

    class Sink:
        def transition(self, record):
            events.append((record[0], tables.procedures[record[2]][1] if record[2] >= 0 else "start"))

    m = tables.machine("nr", 0, Sink())
    m.data(5.0, 0, 70, 60, False)
    m.data(50.0, 0, 70, 60, True)  # INACTIVE: RAN paging, then resume
    m.finish(1000.0)
    tail = 10.12
    assert events == [(0.0, "start"), (5.0, "service_request"), (5.0 + 0.26 + tail, "suspend"),
                      (50.0, "ran_paging"), (50.0, "resume"), (50.0 + 0.1 + tail, "suspend"),
                      (50.0 + 0.1 + tail + 100.0, "inactive_release")]


def test_small_data_from_inactive_stays_inactive_with_two_gnb_messages_on_both_engines() -> None:
    # a 60 s heartbeat of 70/60 B (under the 1,000 B threshold): after the first promotion and its tail
    # suspend the UE, every beat is an SDT (gNB 2, nothing at the core) and the radio never reconnects;
    # a 2,000 B message is over the threshold: it resumes the connection as before
    from test_engines import assert_same_results
    app = {"name": "chat", "heartbeat": {"policy": "fixed", "interval_s": 60.0}}
    rs = scenario(network={"radio": "nr", "overrides": {"nr": {"sdt_enabled": True, "t3512_s": float("inf"),
                                                               "t380_s": float("inf")}}},
                  apps=[app], groups=[{"name": "phones", "devices": 5, "apps": {"chat": 1.0}}])
    s = run(rs).summary
    beats = s["apps"]["chat"]["heartbeats"]
    sig = s["signalling"]
    assert s["rrc"]["promotions_total"] == 5  # each phone's first beat, from RRC_IDLE
    assert sig["occurrences_by_procedure"]["sdt"] == beats - 5
    assert sig["by_procedure"]["sdt"] == 2 * (beats - 5) and sig["occurrences_by_procedure"]["resume"] == 0
    assert sig["by_node"]["AMF"] == 5 * 7  # the five service requests only
    assert_same_results(rs)
    big = scenario(network={"radio": "nr", "overrides": {"nr": {"sdt_enabled": True}}},
                   apps=[{"name": "chat", "messages": {"per_hour": 20.0, "up_bytes": 2000, "down_bytes": 100}}],
                   groups=[{"name": "phones", "devices": 5, "apps": {"chat": 1.0}}])
    assert run(big).summary["signalling"]["occurrences_by_procedure"]["sdt"] == 0
    assert_same_results(big)
