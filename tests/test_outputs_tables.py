"""The per-device table: each choice writes exactly its file, "auto" picks by the device count,
the scenario key and ``--devices`` choose it, and a resolved scenario reruns to the same choice."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import sim.outputs.tables as tables
from sim.api import simulate
from sim.cli import cli
from sim.metrics.results import Results
from sim.outputs.tables import CSV_MAX_DEVICES, device_format, write_devices
from sim.scenario import load_scenario
from test_cli import GOOD as SCENARIO  # a tiny LTE scenario: 20 phones, 10 minutes

TABLE_FILES = {"devices.csv", "devices.parquet"}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    path = tmp_path_factory.mktemp("scenario") / "s.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return simulate(load_scenario(path))


def run(tmp_path: Path, text: str, *args: str, out: str = "out"):
    scenario = tmp_path / "s.toml"
    scenario.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(tmp_path / out), "--no-plots", *args])
    return result, tmp_path / out


def table_files(out: Path) -> set[str]:
    return {p.name for p in out.iterdir()} & TABLE_FILES


def test_auto_picks_csv_up_to_the_threshold_and_parquet_above() -> None:
    assert CSV_MAX_DEVICES == 10**6
    assert device_format("auto", 10**6) == "csv"
    assert device_format("auto", 10**6 + 1) == "parquet"
    for choice in ("csv", "parquet", "none"):
        assert device_format(choice, 10**7) == choice
        assert device_format(choice, 1) == choice


def test_each_choice_writes_exactly_its_file(tmp_path: Path, results: Results) -> None:
    devices = results.devices
    for choice, name in (("csv", "devices.csv"), ("parquet", "devices.parquet"), ("auto", "devices.csv")):
        directory = tmp_path / choice
        directory.mkdir()
        assert write_devices(results.tables.devices, directory, choice) == directory / name
        assert [p.name for p in directory.iterdir()] == [name]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "parquet" / "devices.parquet"), devices)
    assert len(pd.read_csv(tmp_path / "csv" / "devices.csv")) == len(devices)
    (tmp_path / "none").mkdir()
    assert write_devices(results.tables.devices, tmp_path / "none", "none") is None
    assert not any((tmp_path / "none").iterdir())


def test_scenario_key_and_devices_option_and_the_option_wins(tmp_path: Path) -> None:
    result, out = run(tmp_path, SCENARIO, "--quiet")
    assert result.exit_code == 0, result.output
    assert table_files(out) == {"devices.csv"}
    assert json.loads((out / "summary.json").read_text())["outputs"] == {"devices": "devices.csv"}

    keyed = SCENARIO + '[outputs]\ndevices = "parquet"\n'
    result, out = run(tmp_path, keyed, "--quiet")
    assert result.exit_code == 0, result.output
    assert table_files(out) == {"devices.parquet"}

    result, out = run(tmp_path, keyed, "--devices", "none")
    assert result.exit_code == 0, result.output
    assert table_files(out) == set()
    assert json.loads((out / "summary.json").read_text())["outputs"] == {"devices": None}
    assert "per-device table: not written (20 devices)" in result.output
    assert 'devices = "none"' in (out / "scenario.resolved.toml").read_text()


def test_auto_above_the_threshold_says_so_and_reruns_the_same(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tables, "CSV_MAX_DEVICES", 10)  # 20 devices are "above" without running 10^6
    result, out = run(tmp_path, SCENARIO)
    assert result.exit_code == 0, result.output
    assert table_files(out) == {"devices.parquet"}
    assert "per-device table: devices.parquet (20 devices; --devices csv for a spreadsheet)" in result.output
    resolved = out / "scenario.resolved.toml"
    assert 'devices = "auto"' in resolved.read_text()  # the device count, recorded beside it, settles it
    again = CliRunner().invoke(cli, ["run", str(resolved), "--out", str(tmp_path / "again"), "--quiet",
                                     "--no-plots"])
    assert again.exit_code == 0, again.output
    assert table_files(tmp_path / "again") == {"devices.parquet"}
    assert (json.loads((tmp_path / "again" / "summary.json").read_text())
            == json.loads((out / "summary.json").read_text()))


def test_resolved_scenario_reruns_to_an_explicit_choice(tmp_path: Path) -> None:
    result, out = run(tmp_path, SCENARIO, "--devices", "parquet", "--quiet")
    assert result.exit_code == 0, result.output
    again = CliRunner().invoke(cli, ["run", str(out / "scenario.resolved.toml"), "--out", str(tmp_path / "again"),
                                     "--quiet", "--no-plots"])
    assert again.exit_code == 0, again.output
    assert table_files(tmp_path / "again") == {"devices.parquet"}


def test_bad_value_is_one_line_exit_2(tmp_path: Path) -> None:
    result, out = run(tmp_path, SCENARIO + '[outputs]\ndevices = "xlsx"\n', "--quiet")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {tmp_path / 's.toml'}: outputs.devices: ")
    assert "'csv'" in lines[0] and "'parquet'" in lines[0]
    assert not out.exists()
    result, _ = run(tmp_path, SCENARIO, "--devices", "xlsx", "--quiet")
    assert result.exit_code == 2
