"""`signalsim validate`: the table, the files under --out, exit status on failure and on bad input."""
from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner

from sim.cli import cli


def test_validate_writes_table_csv_and_plots(tmp_path: Path) -> None:
    out = tmp_path / "val"
    result = CliRunner().invoke(cli, ["validate", "--quick", "--engine", "fast", "--case", "renewal-fixed",
                                      "--case", "lte-cycle", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "renewal-fixed" in result.output and "checks passed" in result.output and "FAIL" not in result.output
    with open(out / "validation.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["case"] for r in rows} == {"renewal-fixed", "lte-cycle"} and all(r["passed"] == "True" for r in rows)
    assert (out / "validation.md").read_text(encoding="utf-8").startswith("| case | quantity |")
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["renewal-fixed.png"]


def test_broken_model_exits_1_and_marks_the_failures() -> None:
    result = CliRunner().invoke(cli, ["validate", "--quick", "--engine", "des", "--case", "lte-cycle",
                                      "--set", "lte.connected_power_mw=1000"])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "FAILED" in result.output


def test_bad_override_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", "--set", "lte.tail_s=-1", "--out", str(tmp_path / "val")])
    assert result.exit_code == 2
    assert result.output.strip() == "error: --set: network.overrides.lte.tail_s: Input should be greater than 0"
    assert not (tmp_path / "val").exists()


def test_rach_rows_are_found_by_model_and_devices_in_the_csv(tmp_path: Path) -> None:
    out = tmp_path / "val"
    result = CliRunner().invoke(cli, ["validate", "--quick", "--case", "rach-tr37868", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with open(out / "validation.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    found = [r for r in rows if (r["quantity"], r["model"], r["devices"]) == ("access_success_probability", "2", "30000")]
    assert len(found) == 1 and found[0]["expected"] == "0.295"
    assert "collision_probability (model=1, devices=5000)" in (out / "validation.md").read_text(encoding="utf-8")
