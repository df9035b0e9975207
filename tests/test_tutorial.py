"""docs/tutorial.md and examples/signalsim.ipynb run as tests.

The tutorial: its blocks run in order in a scratch folder holding the repository's scenarios (so
``results/`` is written there), each ```sh block in bash with ``.venv`` the environment running the
tests, each ```python block in one Python namespace; a ```text block must match what the block
before it printed, line by line, figures aside (numbers masked, runs of spaces collapsed).

The notebook runs in a real kernel (nbclient), from examples/ as Jupyter would; a cell that fails
fails the test.

Both at small sizes: :func:`small` rewrites the million phones to a tenth of them in every block
and cell before it runs, and nothing else.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)


def small(code: str) -> str:
    """A million phones made a hundred thousand (``1000000`` or ``1_000_000``)."""
    return code.replace("1000000", "100000").replace("1_000_000", "100_000")


def masked(text: str) -> list[str]:
    """Lines with every number as ``#`` and runs of spaces as one."""
    return [" ".join(re.sub(r"\d[\d,]*(?:\.\d+)?", "#", line).split()) for line in text.splitlines() if line.strip()]


def blocks() -> list[tuple[str, str]]:
    return BLOCK.findall((ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8"))


def scratch(tmp_path: Path) -> dict[str, str]:
    """A folder with the scenarios and ``.venv`` (this environment), and the environment to run in it."""
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    venv = Path(sys.prefix)
    if (venv / "bin" / "activate").is_file():
        (tmp_path / ".venv").symlink_to(venv)
    else:  # tests run outside a virtual environment: an activate that puts this Python first
        (tmp_path / ".venv" / "bin").mkdir(parents=True)
        (tmp_path / ".venv" / "bin" / "activate").write_text(f'PATH="{Path(sys.executable).parent}:$PATH"\n')
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "COLUMNS": "120"}


def test_the_tutorial_runs_and_prints_what_it_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = scratch(tmp_path)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    printed, kinds = "", []
    for kind, code in blocks():
        kinds.append(kind)
        if kind == "sh":
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", small(code)], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, f"{code}\n{done.stdout}\n{done.stderr}"
            printed = done.stdout + done.stderr
        elif kind == "python":
            with contextlib.redirect_stdout(io.StringIO()) as out:
                exec(compile(small(code), "docs/tutorial.md", "exec"), namespace)  # noqa: S102 - our own docs
            printed = out.getvalue()
        elif kind == "text":
            missing = [line for line in masked(code) if line not in masked(printed)]
            assert not missing, f"shown but not printed: {missing}\nprinted:\n{printed}"
        else:
            raise AssertionError(f"a ```{kind} block: the test runs sh and python, and compares text")
    assert kinds.count("sh") >= 7 and kinds.count("python") >= 3 and kinds.count("text") >= 8
    for folder in ("quickstart", "million", "wechat-2013", "chatty-minority", "london-fifth-storm"):
        assert (tmp_path / "results" / folder / "report.html").is_file(), folder


def test_masking_keeps_the_words() -> None:
    assert masked("  53.6%  of voice calls failed   18,009 attempts\n\n") == ["#% of voice calls failed # attempts"]
    assert masked("RNC load") != masked("SGSN load")
    assert small("devices=1000000, n = 1_000_000") == "devices=100000, n = 100_000"


def test_the_notebook_runs() -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(ROOT / "examples" / "signalsim.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs for cell in code)  # kept without outputs: they are made by running it
    for cell in code:
        cell.source = small(cell.source)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "examples")}}).execute()
    outputs = [o for cell in code for o in cell.outputs]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3  # a plot for each answer
    assert sum("text/html" in o.get("data", {}) for o in outputs) >= 3  # and DataFrames
