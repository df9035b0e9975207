"""london-2009: call failures appear only when the smartphones' IM app is present."""
from __future__ import annotations

import sim
from conftest import LONDON_FIFTH


def test_calls_fail_only_with_the_chatty_smartphones() -> None:
    with_im = sim.run("scenarios/london-2009.toml").summary
    without = sim.run("scenarios/london-2009.toml", overrides=["groups[1].apps.im=0.0"]).summary
    assert without["calls"]["attempts"] == with_im["calls"]["attempts"] > 1000  # same call draws
    assert without["calls"]["failed"] == 0
    # busy, not saturated: voice, plus every phone's periodic routing-area update (T3312 54 min:
    # about a fifth of the RNC's work here), leaves headroom; the IM heartbeats take it away
    assert without["controlplane"]["RNC"]["utilization"] < 0.8
    assert with_im["controlplane"]["RNC"]["utilization"] > 0.95
    assert with_im["calls"]["failure_ratio"] > 0.05




def test_priority_admission_moves_the_failures_from_calls_to_data() -> None:
    fifo = sim.run("scenarios/london-2009.toml", overrides=LONDON_FIFTH).summary
    priority = sim.run("scenarios/london-2009.toml",
                       overrides=[*LONDON_FIFTH, 'controlplane.nodes.RNC.admission="priority"']).summary
    assert fifo["calls"]["attempts"] == priority["calls"]["attempts"]  # the same calls and heartbeats offered
    assert fifo["calls"]["failure_ratio"] > 0.3 and priority["calls"]["failure_ratio"] < 0.05
    assert priority["controlplane"]["RNC"]["utilization"] > 0.95  # as loaded as before
    assert priority["controlplane"]["failed_sends"] > 2 * fifo["controlplane"]["failed_sends"]
