"""The headline facts: what a run's summary leads with, each figure the summary's own value, and the
terminal summary that prints them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sim
from sim.outputs.headline import Fact, headline, limited_nodes
from test_outputs_html import at


def figures(facts: list[Fact]):
    for fact in facts:
        yield fact.figure
        yield from (figure for _, figure in fact.details)


def open_loop() -> dict[str, Any]:
    return {"devices": 10, "signalling": {"messages_total": 5000, "messages_per_device_hour": 500.0},
            "apps": {"chat": {"signalling_share": 0.25, "bytes_share": 0.5},
                     "web": {"signalling_share": 0.7, "bytes_share": 0.1}},
            "concentration": {"top_share": {"10": 0.4}, "gini": 0.3}, "calls": {"attempts": 0}}


def closed_loop() -> dict[str, Any]:
    node = {"offered_load": 1.5, "utilization": 0.99, "rejected_procedures": 12, "wait_p95_s": 1.9}
    return {**open_loop(), "calls": {"attempts": 200, "failed": 50, "failure_ratio": 0.25, "setup_p95_s": 2.5},
            "controlplane": {"RNC": node, "SGSN": {**node, "offered_load": 0.2}, "rrc_rejects": 3, "failed_sends": 1}}


def test_an_open_loop_leads_with_the_load_then_who_makes_it() -> None:
    facts = headline(open_loop())
    assert [f.key for f in facts] == ["signalling", "top_app", "concentration"]
    assert facts[1].label == "of signalling from web" and facts[1].figure.text == "70.0%"
    assert facts[1].details[0][1].text == "10.0%"  # its share of the bytes
    with_calls = {**open_loop(), "calls": {"attempts": 5, "failed": 0, "failure_ratio": 0.0, "setup_p95_s": 0.1}}
    assert [f.key for f in headline(with_calls)][-1] == "calls"  # open loop: calls never fail, told last


def test_a_closed_loop_leads_with_failed_calls_and_the_busiest_node() -> None:
    facts = headline(closed_loop())
    assert [f.key for f in facts] == ["calls", "node", "signalling", "top_app", "concentration"]
    assert facts[0].figure.text == "25.0%" and facts[1].label == "RNC load against capacity"
    assert facts[1].figure.text == "150.0%"
    assert [name for name, _ in limited_nodes(closed_loop())] == ["RNC", "SGSN"]  # not the counters beside them


@pytest.mark.parametrize("summary", [open_loop(), closed_loop()], ids=["open", "closed"])
def test_every_figure_is_the_summarys_value_at_its_path(summary: dict[str, Any]) -> None:
    for figure in figures(headline(summary)):
        assert figure.value == at(summary, figure.path)


def test_a_storm_without_a_level_before_it_is_its_peak() -> None:
    storm = {"start_s": 0.0, "baseline_per_s": None, "peak_per_s": 40.0, "peak_t_s": 600.0, "peak_ratio": None}
    summary = {**open_loop(), "controlplane": {}, "signalling": {**open_loop()["signalling"], "storm": storm}}
    fact = headline(summary)[0]
    assert (fact.key, fact.figure.value, fact.details[0][1].text) == ("storm", 40.0, "10.0 min")


def test_a_runs_summary_holds_its_storm_and_capacity_as_its_time_series_does(london_storm: tuple[Path, str]) -> None:
    """The new summary figures, recomputed from timeseries.csv and the scenario by hand."""
    folder, _ = london_storm
    summary = json.loads((folder / "summary.json").read_text())
    ts = pd.read_csv(folder / "timeseries.csv")
    storm, rnc = summary["signalling"]["storm"], summary["controlplane"]["RNC"]
    before, after = ts[ts["t_end_s"] <= 1200.0], ts[ts["t_start_s"] >= 1200.0]
    rate = after["messages_total"] / (after["t_end_s"] - after["t_start_s"])
    assert storm["start_s"] == 1200.0
    assert storm["baseline_per_s"] == pytest.approx(before["messages_total"].sum() / 1200.0)
    assert storm["peak_per_s"] == pytest.approx(rate.max())
    assert storm["peak_t_s"] == after["t_start_s"].iloc[int(np.argmax(rate))] >= 1800.0  # after the outage
    assert storm["peak_ratio"] == pytest.approx(storm["peak_per_s"] / storm["baseline_per_s"])
    assert rnc["capacity_messages"] == pytest.approx(78.62 * 3600) == pytest.approx(ts["capacity_RNC"].sum())
    assert rnc["offered_load"] == pytest.approx(rnc["offered_messages"] / rnc["capacity_messages"])
    assert rnc["offered_load"] > 1  # a fifth of london-2009 with the IM app: more than the RNC can carry
    assert "storm" not in sim.run(None, overrides=["groups[0].devices=5"]).summary["signalling"]


def test_london_prints_its_call_failures_and_rnc_load_first(london_storm: tuple[Path, str]) -> None:
    folder, printed = london_storm
    summary = json.loads((folder / "summary.json").read_text())
    lines = printed.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("london-2009: "))
    calls, node, storm = lines[first + 1:first + 4]
    assert "of voice calls failed" in calls and calls.split()[0] == f"{100 * summary['calls']['failure_ratio']:.1f}%"
    assert "RNC load against capacity" in node
    assert node.split()[0] == f"{100 * summary['controlplane']['RNC']['offered_load']:.1f}%"
    assert "storm peak / pre-event level" in storm
    table = [line.strip() for line in lines].index("capacity-limited nodes")
    name, shown = limited_nodes(summary)[0]
    assert lines[table + 3].split() == [name, *" ".join(f.text for f in shown).split()]
