"""Sweep files, their expansion into seeded runs, the table and plots, and bad input (in one process)."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sim
from sim.cli import cli
from sim.errors import ScenarioError
from sim.sweep import load_sweep, run_sweep
from sim.sweep.plots import METRICS, plot_name
from sim.sweep.points import expand
from sim.sweep.spec import Linspace, Range
from sim.sweep.table import flatten, mean_ci
from test_cli import GOOD as BASE  # a tiny LTE scenario: 20 phones, 10 minutes

ROOT = Path(__file__).resolve().parent.parent

SWEEP = """
base = "base.toml"
replications = 2
seed = 5
[[axes]]
path = "apps[0].heartbeat.interval_s"
values = [20.0, 300.0]
[[axes]]
path = "network.overrides.lte.tail_s"
name = "tail_s"
values = [5.0, 30.0]
"""


def write(tmp_path: Path, sweep: str = SWEEP, base: str = BASE) -> Path:
    (tmp_path / "base.toml").write_text(base, encoding="utf-8")
    path = tmp_path / "sweep.toml"
    path.write_text(sweep, encoding="utf-8")
    return path


def sweep_cli(*args: str):
    return CliRunner().invoke(cli, ["sweep", *args, "--quiet"])


def test_range_and_linspace_include_their_ends() -> None:
    assert Range(start=0.1, stop=0.5, step=0.1).values() == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert Range(start=60, stop=200, step=60).values() == [60.0, 120.0, 180.0]
    assert Linspace(start=10, stop=20, num=3).values() == [10.0, 15.0, 20.0]


def test_grid_expansion_order_seeds_and_ids(tmp_path: Path) -> None:
    runs = expand(load_sweep(write(tmp_path)))
    assert [(r.point, r.replication) for r in runs] == [(p, k) for p in range(4) for k in range(2)]
    assert [r.params for r in runs[::2]] == [
        {"apps[0].heartbeat.interval_s": i, "tail_s": t} for i in (20.0, 300.0) for t in (5.0, 30.0)]
    # replication k has the seed SeedSequence(5, spawn_key=(k,)) draws, at every point
    expected = [int(np.random.SeedSequence(5, spawn_key=(k,)).generate_state(1)[0]) for k in range(2)]
    assert [r.seed for r in runs] == expected * 4 and expected[0] != expected[1]
    assert len({r.run_id for r in runs}) == len(runs)
    # ids follow the base scenario's content, not the file's name or the order of the axes' values
    again = expand(load_sweep(write(tmp_path, SWEEP.replace("[20.0, 300.0]", "[300.0, 20.0]"))))
    assert {r.run_id for r in again} == {r.run_id for r in runs}
    changed = expand(load_sweep(write(tmp_path, base=BASE.replace("devices = 20", "devices = 21"))))
    assert not {r.run_id for r in changed} & {r.run_id for r in runs}


def test_zip_mode_moves_axes_together(tmp_path: Path) -> None:
    runs = expand(load_sweep(write(tmp_path, 'mode = "zip"\n' + SWEEP)))
    assert [r.params["tail_s"] for r in runs] == [5.0, 5.0, 30.0, 30.0]


def test_rows_equal_direct_runs_of_the_same_scenario(tmp_path: Path) -> None:
    path = write(tmp_path)
    report = run_sweep(load_sweep(path), tmp_path / "out", plots=False)
    table = pd.read_parquet(report.table)
    assert len(table) == 8 and set(table["status"]) == {"ok"}
    row = table.iloc[5]  # point 2 (interval 300, tail 5), replication 1
    direct = sim.run(tmp_path / "base.toml", seed=int(row["seed"]),
                     overrides=["apps[0].heartbeat.interval_s=300.0", "network.overrides.lte.tail_s=5.0"])
    assert (row["apps[0].heartbeat.interval_s"], row["tail_s"]) == (300.0, 5.0)
    for column, value in flatten(direct.summary).items():
        assert row[column] == value, column
    # a heartbeat shorter than the tail keeps the radio connected: no promotions after the first
    short = table[(table["apps[0].heartbeat.interval_s"] == 20.0) & (table["tail_s"] == 30.0)]
    assert (short["rrc.promotions_total"] <= 20).all()


def test_bad_point_is_recorded_and_the_rest_completes(tmp_path: Path) -> None:
    path = write(tmp_path, SWEEP.replace("[20.0, 300.0]", "[20.0, -300.0]"))
    out = tmp_path / "out"
    result = sweep_cli(str(path), "--out", str(out), "--workers", "1", "--csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "results.csv")
    failed = table[table["status"] == "failed"]
    assert set(failed["apps[0].heartbeat.interval_s"]) == {-300.0} and len(failed) == 4
    assert failed["error"].str.contains("apps[0].heartbeat.interval_s: Input should be greater than 0",
                                        regex=False).all()
    assert failed["signalling.messages_total"].isna().all()
    ok = table[table["status"] == "ok"]
    assert len(ok) == 4 and (ok["signalling.messages_total"] > 0).all()


@pytest.mark.parametrize(("sweep", "expected"), [
    ("base = 'base.toml'\n[[axes]]\npath = 'x'\nvalues = [1", ": malformed TOML: "),
    (SWEEP.replace("replications", "replicas"), ": replicas: unknown key (misspelled?)"),
    (SWEEP.replace("network.overrides.lte.tail_s", "network.overrides.lte.tail_sec"),
     ": axes[1].path: 'network.overrides.lte.tail_sec': no such parameter in the base scenario base.toml"),
    (SWEEP.replace("apps[0]", "apps[3]"), ": axes[0].path: 'apps[3].heartbeat.interval_s': no such parameter"),
    (SWEEP.replace("values = [5.0, 30.0]", "range = { start = 5.0, stop = 30.0 }"), ": axes[1].range.step: required"),
    (SWEEP.replace("values = [5.0, 30.0]", "values = [5.0]\nrange = { start = 1, stop = 2, step = 1 }"),
     ": axes[1]: give exactly one of values, range, linspace or cases"),
    ('mode = "zip"\n' + SWEEP.replace("[5.0, 30.0]", "[5.0]"), ": axes: mode = \"zip\" needs axes of the same length"),
    (SWEEP.replace("base.toml", "missing.toml"), ": base: cannot read"),
    (SWEEP.replace("[5.0, 30.0]", '[5.0, "long"]'), ": axes[1].values: values of one type, not number and str"),
    (SWEEP.replace('path = "apps[0].heartbeat.interval_s"', 'path = "simulation.seed"'), ": axes[0].path: seeds come"),
])
def test_malformed_sweep_exits_2_before_running(tmp_path: Path, sweep: str, expected: str) -> None:
    path = write(tmp_path, sweep)
    out = tmp_path / "out"
    result = sweep_cli(str(path), "--out", str(out))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}") and expected in lines[0], result.output
    assert not out.exists()


def test_invalid_base_scenario_is_reported_at_its_own_path(tmp_path: Path) -> None:
    path = write(tmp_path, base=BASE.replace("devices = 20", "devices = 0"))
    result = sweep_cli(str(path), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {tmp_path / 'base.toml'}: groups[0].devices: " \
                                    "Input should be greater than or equal to 1"


def test_cases_axis_keep_runs_and_plots(tmp_path: Path) -> None:
    sweep = SWEEP.replace('path = "apps[0].heartbeat.interval_s"\nvalues = [20.0, 300.0]', """name = "policy"
cases.fixed = { "apps[0].heartbeat.policy" = "fixed", "apps[0].heartbeat.interval_s" = 270.0 }
cases.adaptive = { "apps[0].heartbeat.policy" = "adaptive" }""")
    out = tmp_path / "out"
    result = sweep_cli(str(write(tmp_path, sweep)), "--out", str(out), "--workers", "1", "--keep-runs")
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "results.parquet")
    assert list(table["policy"]) == ["fixed"] * 4 + ["adaptive"] * 4
    assert (table["apps.chat.heartbeats"][:4] != table["apps.chat.heartbeats"][4:].to_numpy()).any()
    for run_id, total in zip(table["run_id"], table["signalling.messages_total"]):
        summary = json.loads((out / "runs" / run_id / "summary.json").read_text())
        assert summary["signalling"]["messages_total"] == total
    for metric in METRICS:
        for axis in ("policy", "tail_s"):
            # the call failure ratio only where a run placed calls (none here)
            assert (out / "plots" / plot_name(metric, axis)).exists() == (metric != "calls.failure_ratio")
            assert metric == "calls.failure_ratio" or (out / "plots" / plot_name(metric, axis)).stat().st_size > 0


def test_mean_ci_by_hand() -> None:
    table = pd.DataFrame({"x": [1, 1, 1, 2], "m": [1.0, 2.0, 3.0, 7.0]})
    stats = mean_ci(table, ["x"], "m")
    first = stats.iloc[0]
    half = 4.303 * 1.0 / math.sqrt(3)  # t(0.975, 2) x sd 1 / sqrt(3)
    assert (first["n"], first["mean"]) == (3, 2.0)
    assert first["low"] == pytest.approx(2.0 - half) and first["high"] == pytest.approx(2.0 + half)
    assert (stats.iloc[1]["low"], stats.iloc[1]["high"]) == (7.0, 7.0)  # one run: no interval


def test_flatten_uses_dotted_names() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": 2.5}}, "e": [{"k": 1}], "f": "x"}) == {
        "a.b": 1, "a.c.d": 2.5, "e": '[{"k": 1}]', "f": "x"}


@pytest.mark.parametrize("name", ["heartbeat-vs-tail.toml", "wechat-policies.toml"])
def test_example_sweeps_are_valid(name: str) -> None:
    sweep = load_sweep(ROOT / "scenarios" / "sweeps" / name)
    assert len(expand(sweep)) >= 2 * sweep.spec.replications


def test_load_sweep_collects_every_axis_problem(tmp_path: Path) -> None:
    sweep = SWEEP.replace("apps[0].heartbeat.interval_s", "apps[0].beat").replace("lte.tail_s", "lte.tail")
    with pytest.raises(ScenarioError) as exc:
        load_sweep(write(tmp_path, sweep))
    assert [p.path for p in exc.value.problems] == ["axes[0].path", "axes[1].path"]


def test_readme_sweep_example_runs(monkeypatch, tmp_path: Path) -> None:
    """As a user runs it from a checkout, but writing its results under a temporary directory."""
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [code] = [block for block in re.findall(r"```py\n(.*?)```", readme, re.S) if "run_sweep(" in block]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert len(namespace["table"]) == 45 and set(namespace["table"]["status"]) == {"ok"}
    assert (tmp_path / "results" / "sweeps" / "wechat-policies" / "results.parquet").is_file()


def test_a_point_file_that_is_not_a_record_is_run_again(tmp_path: Path) -> None:
    """A damaged ``points/<id>.json`` (edited by hand, a disk error) is no finished run: it runs again."""
    path, out = write(tmp_path), tmp_path / "out"
    first = pd.read_parquet(run_sweep(load_sweep(path), out, plots=False).table)
    damaged = sorted((out / "points").glob("*.json"))[:2]
    damaged[0].write_text('{"run_id": "trunc', encoding="utf-8")
    damaged[1].write_text(json.dumps({"something": "else"}), encoding="utf-8")
    report = run_sweep(load_sweep(path), out, plots=False)
    assert (report.ran, report.skipped) == (2, 6)
    again = pd.read_parquet(report.table)
    pd.testing.assert_frame_equal(first.drop(columns="wall_time_s"), again.drop(columns="wall_time_s"))


def test_a_point_file_with_missing_or_empty_fields_is_run_again(tmp_path: Path) -> None:
    """Records that parse but are incomplete (an ok run without metrics, a missing key) run again."""
    path, out = write(tmp_path), tmp_path / "out"
    run_sweep(load_sweep(path), out, plots=False)
    files = sorted((out / "points").glob("*.json"))
    ok = json.loads(files[0].read_text())
    files[0].write_text(json.dumps({"run_id": files[0].stem, "status": "ok", "error": "", "wall_time_s": 1.0,
                                    "metrics": {}}))
    files[1].write_text(json.dumps({k: v for k, v in ok.items() if k != "error"} | {"run_id": files[1].stem}))
    files[2].write_text(json.dumps(ok | {"run_id": files[2].stem, "status": "done"}))
    report = run_sweep(load_sweep(path), out, plots=False)
    assert (report.ran, report.skipped) == (3, 5)


def test_axis_sizes_are_counted_without_expanding() -> None:
    assert Range(start=0.0, stop=1e12, step=1.0).size() == 10**12 + 1
    assert Range(start=60.0, stop=600.0, step=60.0).size() == len(Range(start=60.0, stop=600.0, step=60.0).values())
    assert Linspace(start=0.0, stop=1.0, num=10**9).size() == 10**9


def test_summary_keys_are_the_reserved_column_prefixes() -> None:
    """Sweep axes may not be named like a summary section; the list the check uses must hold every key a
    summary has, closed loop (capacity, events, calls) included."""
    from sim.metrics.results import SUMMARY_KEYS
    from sim.scenario import load_scenario

    storm = load_scenario(ROOT / "scenarios" / "reconnect-storm.toml", ["groups[0].devices=30"])
    london = load_scenario(ROOT / "scenarios" / "london-2009.toml", ["groups[0].devices=30", "simulation.duration_s=600"])
    for rs in (storm, london, load_scenario(None, ["groups[0].devices=5"])):
        assert set(sim.run(rs).summary) <= set(SUMMARY_KEYS)


TRADEOFF = """
base = "base.toml"
replications = 2
seed = 5
[tradeoff]
axis = "mitigation"
baseline = "baseline"
by = "network"
[[axes]]
name = "network"
cases.lte = { "network.radio" = "lte", "groups[0].radio" = "lte" }
cases.nr = { "network.radio" = "nr", "groups[0].radio" = "nr", "network.overrides.nr.inactive_enabled" = false }
[[axes]]
name = "mitigation"
cases.baseline = { "apps[0].heartbeat.interval_s" = 270.0 }
cases.longer = { "apps[0].heartbeat.interval_s" = 540.0 }
cases.alignment = { "groups[0].alarm_window_s" = 120.0 }
cases.doze = { "groups[0].doze.enter_after_s" = 300.0 }
cases.inactive = { "network.overrides.nr.inactive_enabled" = true }
"""


def test_tradeoff_table_and_plot_against_the_runs(tmp_path: Path) -> None:
    # an axis may set keys inside a table the base leaves out (doze) and another radio's profile (nr)
    out = tmp_path / "out"
    result = sweep_cli(str(write(tmp_path, TRADEOFF)), "--out", str(out), "--workers", "1")
    assert result.exit_code == 0, result.output
    runs, trade = pd.read_parquet(out / "results.parquet"), pd.read_csv(out / "tradeoff.csv")
    assert list(zip(trade["network"], trade["mitigation"])) == [
        (n, m) for n in ("lte", "nr") for m in ("baseline", "longer", "alignment", "doze", "inactive")]
    mean = runs.groupby(["network", "mitigation"], sort=False).mean(numeric_only=True)
    for _, row in trade.iterrows():
        here, base = mean.loc[(row["network"], row["mitigation"])], mean.loc[(row["network"], "baseline")]
        metric = "signalling.messages_per_device_hour"
        assert row["signalling_saved"] == pytest.approx(1.0 - here[metric] / base[metric])
        node = "eNB" if row["network"] == "lte" else "gNB"  # the base station carries the most
        assert row["busiest_node"] == node
        assert row["busiest_peak_per_s"] == pytest.approx(here[f"signalling.peak_per_s.{node}"])
        assert row["message_p95_s"] == pytest.approx(here["delivery.by_kind.messages.p95_s"])
        assert row["battery_life_h"] == pytest.approx(here["battery.life_h"])
    by = trade.set_index(["network", "mitigation"])
    assert by.loc[("lte", "longer"), "signalling_saved"] > 0.3  # half the beats, about half the promotions
    assert by.loc[("lte", "alignment"), "delivery_p95_s"] > 60.0  # beats wait up to 120 s for the window
    assert by.loc[("lte", "doze"), "signalling_saved"] > 0.3  # in Doze from 300 s, no window before the end
    # RRC_INACTIVE is an NR setting: on LTE the case is the baseline
    assert by.loc[("lte", "inactive"), "signalling_saved"] == 0.0 < by.loc[("nr", "inactive"), "signalling_saved"]
    assert (out / "plots" / "tradeoff.png").stat().st_size > 0
    assert "Trade-off" in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("change, expected", [
    (('axis = "mitigation"', 'axis = "network2"'), ": tradeoff.axis: 'network2' is not an axis of cases"),
    (('baseline = "baseline"', 'baseline = "none"'), ": tradeoff.baseline: 'none' is not a case of 'mitigation'"),
    (('by = "network"', 'by = "mitigation"'), ": tradeoff.by: 'mitigation' is not another axis"),
])
def test_malformed_tradeoff_exits_2_before_running(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    path = write(tmp_path, TRADEOFF.replace(*change))
    result = sweep_cli(str(path), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}") and expected in lines[0], result.output
