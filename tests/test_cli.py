"""The command line: a full run's files, and every class of bad input exiting 2 with one line each."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sim.cli import cli

GOOD = """
name = "tiny"
[simulation]
duration_s = 600.0
seed = 1
[network]
radio = "lte"
[[apps]]
name = "chat"
heartbeat = { policy = "fixed", interval_s = 270.0 }
[[groups]]
name = "phones"
devices = 20
apps = { chat = 1.0 }
"""


def invoke(tmp_path: Path, text: str, *args: str):
    scenario = tmp_path / "s.toml"
    scenario.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(out), "--quiet", *args])
    return result, out, str(scenario)


def test_run_writes_every_output(tmp_path: Path) -> None:
    result, out, _ = invoke(tmp_path, GOOD)
    assert result.exit_code == 0, result.output
    for name in ("summary.json", "timeseries.csv", "apps.csv", "devices.csv", "scenario.resolved.toml",
                 "plots/signalling.png", "plots/rrc_states.png", "plots/apps.png", "plots/lorenz.png",
                 "report.html"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    for key in ("scenario", "seed", "engine", "duration_s", "devices"):
        assert key in summary
    assert summary["devices"] == 20
    # the resolved scenario reruns to the same summary
    rerun = CliRunner().invoke(cli, ["run", str(out / "scenario.resolved.toml"), "--out", str(tmp_path / "again"),
                                     "--quiet", "--no-plots"])
    assert rerun.exit_code == 0, rerun.output
    again = json.loads((tmp_path / "again" / "summary.json").read_text())
    assert again == summary


def test_set_and_seed_override_the_file(tmp_path: Path) -> None:
    result, out, _ = invoke(tmp_path, GOOD, "--set", "simulation.duration_s=300", "--set", "groups[0].devices=7",
                            "--seed", "9", "--no-plots")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["duration_s"], summary["devices"], summary["seed"]) == (300.0, 7, 9)


BAD = [
    ("malformed", GOOD.replace('name = "tiny"', 'name = "tiny'), "", "malformed TOML"),
    ("typo", GOOD.replace("duration_s", "duraton_s"), "simulation.duraton_s", "unknown key"),
    ("wrong type", GOOD.replace("devices = 20", 'devices = "many"'), "groups[0].devices", "integer"),
    ("negative interval", GOOD.replace("interval_s = 270.0", "interval_s = -5.0"),
     "apps[0].heartbeat.interval_s", "greater than 0"),
    ("probability above 1", GOOD.replace("chat = 1.0 }", "chat = 1.5 }"), "groups[0].apps.chat", "less than or equal to 1"),
    ("unknown profile", GOOD.replace('radio = "lte"', 'radio = "lte5"'), "network.radio", "'umts', 'lte' or 'nr'"),
    ("unknown app", GOOD.replace("chat = 1.0 }", "chatt = 1.0 }"), "groups[0].apps.chatt", "unknown app"),
    ("profile override typo", GOOD + "\n[network.overrides.lte]\ntail_sx = 3.0\n", "network.overrides.lte.tail_sx",
     "unknown key"),
    ("impossible profile value", GOOD + "\n[network.overrides.lte]\ntail_s = -3.0\n", "network.overrides.lte.tail_s",
     "greater than 0"),
    ("unknown node", GOOD + "\n[network.overrides.lte.messages.paging]\nAMF = 3\n", "network.overrides.lte.messages",
     "unknown node"),
    ("unknown control-plane node", GOOD + "\n[controlplane.nodes.RNC]\nmessages_per_s = 100.0\n",
     "controlplane.nodes.RNC", "unknown node"),
    ("event beyond the run", GOOD + '\n[[events]]\nkind = "server_outage"\napp = "chat"\nstart_s = 100.0\nend_s = 9000.0\n',
     "events[0].end_s", "after the run"),
    ("negative capacity", GOOD + "\n[controlplane.nodes.MME]\nmessages_per_s = -5.0\n",
     "controlplane.nodes.MME.messages_per_s", "greater than 0"),
]


@pytest.mark.parametrize("label,text,path,message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_exits_2_with_one_line_per_problem(tmp_path: Path, label: str, text: str, path: str,
                                                     message: str) -> None:
    result, out, file = invoke(tmp_path, text)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {file}: {path}")
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert not out.exists()


def test_every_problem_is_reported(tmp_path: Path) -> None:
    text = GOOD.replace("duration_s", "duraton_s").replace("devices = 20", "devices = -1")
    result, out, _ = invoke(tmp_path, text)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 2
    assert not out.exists()


def test_bad_set_and_missing_file(tmp_path: Path) -> None:
    result, out, _ = invoke(tmp_path, GOOD, "--set", "simulation.duration_s=-1")
    assert result.exit_code == 2 and "simulation.duration_s" in result.output
    result, _, _ = invoke(tmp_path, GOOD, "--set", "groups[3].devices=1")
    assert result.exit_code == 2 and result.output.startswith("error: --set: groups[3]")
    missing = CliRunner().invoke(cli, ["run", str(tmp_path / "nope.toml"), "--quiet"])
    assert missing.exit_code == 2 and "cannot read file" in missing.output
    assert not out.exists()


def test_failed_run_keeps_the_earlier_results(tmp_path: Path) -> None:
    result, out, _ = invoke(tmp_path, GOOD, "--no-plots")
    assert result.exit_code == 0
    before = (out / "summary.json").read_text()
    bad, _, _ = invoke(tmp_path, GOOD.replace("devices = 20", "devices = 0"))
    assert bad.exit_code == 2
    assert (out / "summary.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_python_dash_m_runs_the_embedded_default(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "sim", "run", "--out", str(tmp_path / "q"), "--quiet",
                           "--no-plots", "--set", "groups[0].devices=30"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "q" / "summary.json").read_text())["scenario"] == "quickstart"


# What each command imports, seen in sys.modules of a fresh interpreter (nothing here is timed; the
# start-up times are benchmarks/startup.py's): listing the commands loads no engine, no table library
# and no plotting; a fast-engine run without plots neither SimPy nor matplotlib, nor the capture reader,
# nor pandas (its tables are written from numpy; the DataFrames are made when a user reads them).
IMPORTS = """
import json, sys
from sim.cli import cli
HEAVY = ("matplotlib", "pandas", "pyarrow", "numba", "simpy", "dask", "distributed", "sim.api", "dpkt")
seen = {"import": [m for m in HEAVY if m in sys.modules]}
cli(["--help"], standalone_mode=False)
seen["--help"] = [m for m in HEAVY if m in sys.modules]
cli(sys.argv[1:], standalone_mode=False)
seen["run"] = [m for m in HEAVY if m in sys.modules]
print(json.dumps(seen))
"""


def run_script(tmp_path: Path, code: str) -> dict[str, Any]:
    """The JSON that ``code`` prints last, run in a fresh interpreter with ``run`` on GOOD as its arguments."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(GOOD, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", code, "run", str(scenario), "--out", str(tmp_path / "out"),
                           "--quiet", "--no-plots"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_commands_import_only_what_they_run(tmp_path: Path) -> None:
    seen = run_script(tmp_path, IMPORTS)
    assert seen["import"] == seen["--help"] == []
    # the capture reader (dpkt) only for a scenario that replays a capture; pandas only for a Parquet file
    assert "numba" in seen["run"] and not ({"matplotlib", "simpy", "dask", "distributed", "dpkt", "pandas", "pyarrow"}
                                           & set(seen["run"]))


# The console script's collector (sim.cli.main): off while the command starts (what start-up makes lives as
# long as the process), then on, with start-up's objects frozen, for the simulation and what follows.
COLLECTOR = """
import gc, json, sys
import sim.api
from sim.cli import main
simulate, seen = sim.api.simulate, {}
def watched(*args, **kwargs):
    seen.update(enabled=gc.isenabled(), frozen=gc.get_freeze_count(), collections=gc.get_stats()[0]["collections"])
    return simulate(*args, **kwargs)
sim.api.simulate = watched
before = gc.get_stats()[0]["collections"]
try:
    main()
finally:
    print(json.dumps(seen | {"collections": seen["collections"] - before, "enabled_at_exit": gc.isenabled()}))
"""


def test_console_script_collects_once_started(tmp_path: Path) -> None:
    seen = run_script(tmp_path, COLLECTOR)
    assert seen["collections"] == 0 and seen["enabled"] and seen["enabled_at_exit"]
    assert seen["frozen"] > 10_000  # start-up's objects: modules, classes, the scenario's validators
