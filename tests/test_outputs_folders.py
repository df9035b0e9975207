"""Output safety: no command deletes or empties a folder signalsim did not write; its own are replaced."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.outputs.files import RUN
from sim.outputs.folders import MARKER, OutputError, check_target, remove_leftovers, write_directory
from test_cli import GOOD as SCENARIO  # a tiny LTE scenario: 20 phones, 10 minutes

SWEEP = """
base = "s.toml"
[[axes]]
path = "apps[0].heartbeat.interval_s"
values = [200.0, 300.0]
"""


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its content (links by their target)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[rel] = os.readlink(path).encode()
        elif path.is_file():
            out[rel] = path.read_bytes()
    return out


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "s.toml").write_text(SCENARIO, encoding="utf-8")
    (tmp_path / "sweep.toml").write_text(SWEEP, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


COMMANDS = {
    "run": ("run", "s.toml", "--quiet", "--no-plots", "--out"),
    "validate": ("validate", "--quick", "--case", "g1-battery", "--engine", "fast", "--out"),
    "sweep": ("sweep", "sweep.toml", "--quiet", "--no-plots", "--workers", "1", "--out"),
}


def assert_refused(result, folder: str, before: dict[str, bytes], root: Path) -> None:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {folder}: "), result.output
    assert "Traceback" not in result.output
    assert tree(root) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_of_user_files_is_refused(home: Path, command: str) -> None:
    docs = home / "mydocs"
    (docs / "chapter").mkdir(parents=True)
    (docs / "thesis.tex").write_text("years of work")
    (docs / "chapter" / "one.tex").write_text("more")
    before = tree(home)
    assert_refused(invoke(*COMMANDS[command], "mydocs"), "mydocs", before, home)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_git_checkout_and_the_current_folder_are_refused(home: Path, command: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    repo = home / "clone"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "README").write_text("code")
    before = tree(home)
    assert_refused(invoke(*COMMANDS[command], "clone"), "clone", before, home)
    monkeypatch.chdir(repo)
    (repo / "s.toml").write_text(SCENARIO)
    (repo / "sweep.toml").write_text(SWEEP)
    before = tree(home)
    for out in (str(repo), ".", ".."):
        assert_refused(invoke(*COMMANDS[command], out), out, before, home)


def test_results_holding_other_runs_is_refused_and_a_run_is_replaced(home: Path) -> None:
    for name in ("a", "b"):
        assert invoke("run", "s.toml", "-q", "--no-plots", "--out", f"results/{name}").exit_code == 0
    before = tree(home)
    assert_refused(invoke("run", "s.toml", "-q", "--no-plots", "--out", "results"), "results", before, home)
    # an earlier run in the same place is replaced, as documented
    old = json.loads((home / "results/a/summary.json").read_text())
    assert invoke("run", "s.toml", "-q", "--no-plots", "--seed", "5", "--out", "results/a").exit_code == 0
    new = json.loads((home / "results/a/summary.json").read_text())
    assert (old["seed"], new["seed"]) == (1, 5)
    assert (home / "results/b/summary.json").read_text() == before["results/b/summary.json"].decode()
    assert sorted(p.name for p in (home / "results").iterdir()) == ["a", "b"]  # no leftovers


def test_a_scenario_named_like_its_folder_writes_beside_other_runs(home: Path) -> None:
    assert invoke("run", "s.toml", "-q", "--no-plots").exit_code == 0
    assert (home / "results" / "tiny" / "summary.json").is_file()
    dot = SCENARIO.replace('name = "tiny"', 'name = "."')
    (home / "dot.toml").write_text(dot)
    before = tree(home)
    result = invoke("run", "dot.toml", "-q", "--no-plots")
    assert result.exit_code == 2 and result.output.startswith("error: dot.toml: name: ")
    assert tree(home) == before


def test_symbolic_links_are_never_followed(home: Path) -> None:
    assert invoke("run", "s.toml", "-q", "--no-plots", "--out", "real").exit_code == 0
    (home / "link").symlink_to(home / "real")
    before = tree(home)
    assert_refused(invoke("run", "s.toml", "-q", "--no-plots", "--out", "link"), "link", before, home)
    # a link inside a results folder makes it foreign too: replacing would delete what it points into
    (home / "precious").mkdir()
    (home / "precious" / "data").write_text("keep")
    (home / "real" / "plots").mkdir(exist_ok=True)
    (home / "real" / "plots" / "x.png").symlink_to(home / "precious")
    before = tree(home)
    assert_refused(invoke("run", "s.toml", "-q", "--no-plots", "--out", "real"), "real", before, home)


def test_a_run_folder_from_before_the_marker_is_recognised_by_its_files(home: Path) -> None:
    assert invoke("run", "s.toml", "-q", "--out", "old").exit_code == 0
    (home / "old" / MARKER).unlink()
    assert invoke("run", "s.toml", "-q", "--no-plots", "--seed", "2", "--out", "old").exit_code == 0
    assert json.loads((home / "old/summary.json").read_text())["seed"] == 2
    # only part of the signature: not recognised
    partial = home / "half"
    partial.mkdir()
    (partial / "summary.json").write_text("{}")
    before = tree(home)
    assert_refused(invoke("run", "s.toml", "-q", "--no-plots", "--out", "half"), "half", before, home)


def test_a_folder_of_another_kind_is_refused(home: Path) -> None:
    assert invoke("run", "s.toml", "-q", "--no-plots", "--out", "r").exit_code == 0
    before = tree(home)
    assert_refused(invoke(*COMMANDS["sweep"], "r"), "r", before, home)
    assert_refused(invoke(*COMMANDS["validate"], "r"), "r", before, home)


def test_a_sweep_folder_resumes_in_place_and_keeps_its_runs(home: Path) -> None:
    first = invoke(*COMMANDS["sweep"][:-1], "--keep-runs", "--out", "sw")
    assert first.exit_code == 0, first.output
    again = invoke(*COMMANDS["sweep"][:-1], "--keep-runs", "--out", "sw")
    assert again.exit_code == 0, again.output
    assert len(list((home / "sw" / "runs").iterdir())) == 2
    (home / "sw" / "runs" / "mine.txt").write_text("x")
    before = tree(home)
    assert_refused(invoke(*COMMANDS["sweep"][:-1], "--out", "sw"), "sw", before, home)


def test_a_failure_after_simulating_keeps_the_earlier_run(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke("run", "s.toml", "-q", "--no-plots", "--out", "r").exit_code == 0
    before = tree(home)

    def broken(*_: object) -> None:
        raise RuntimeError("plotting failed")

    monkeypatch.setattr("sim.outputs.plots.write_plots", broken)
    result = invoke("run", "s.toml", "-q", "--seed", "3", "--out", "r")
    assert result.exit_code != 0
    assert tree(home) == before  # nothing replaced, no partial folder left


def test_names_with_markup_and_escapes_show_literally(home: Path) -> None:
    text = SCENARIO.replace('"chat"', '"[/][bold red]chat"').replace("{ chat = 1.0 }", '{ "[/][bold red]chat" = 1.0 }')
    (home / "m.toml").write_text(text)
    result = invoke("run", "m.toml", "--no-plots", "--out", "m")
    assert result.exit_code == 0, result.output
    assert "[/][bold red]chat" in result.output


def test_leftovers_of_a_killed_write_are_removed_by_the_next_write(home: Path) -> None:
    assert invoke("run", "s.toml", "-q", "--no-plots", "--out", "r").exit_code == 0
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead, alive = home / ".r.partial-999999999-dead", home / f".r.partial-{sleeper.pid}-live"
        old_format = home / ".r.old-k2j4h5"  # a version before the pid in the name
        foreign = home / ".r.partial-999999998-user"
        for folder in (dead, alive, old_format, foreign):
            folder.mkdir()
        for folder in (dead, alive, old_format):
            (folder / MARKER).write_text(json.dumps({"kind": "run"}))
            (folder / "summary.json").write_text("{}")
        (foreign / "thesis.tex").write_text("not signalsim's")
        removed = remove_leftovers(home / "r", RUN)
        assert sorted(removed) == sorted([dead, old_format])
        assert alive.is_dir() and (foreign / "thesis.tex").is_file()
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize("umask,mode", [(0o022, 0o755), (0o077, 0o700), (0o002, 0o775)])
def test_folders_follow_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        out = write_directory(tmp_path / "r" / "deep", RUN, lambda d: (d / "summary.json").write_text("{}"))
    finally:
        os.umask(old)
    assert (out.stat().st_mode & 0o777, (tmp_path / "r").stat().st_mode & 0o777) == (mode, mode)
    assert (out / "summary.json").stat().st_mode & 0o777 == mode & 0o666


def test_a_bad_out_is_reported_before_simulating(home: Path) -> None:
    (home / "afile").write_text("x")
    with pytest.raises(OutputError, match="afile is not a folder"):
        check_target(home / "afile" / "out", RUN)
    with pytest.raises(OutputError, match="exists and is not a folder"):
        check_target(home / "afile", RUN)
    before = tree(home)
    # a scenario that would take long: refused at once, before any simulation
    result = invoke("run", "s.toml", "-q", "--set", "groups[0].devices=3000000", "--out", "afile/out")
    assert_refused(result, "afile/out", before, home)
