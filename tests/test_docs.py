"""Examples in the documentation run as written."""
from __future__ import annotations

import doctest
import os
import re
from pathlib import Path

import sim.api

ROOT = Path(__file__).resolve().parent.parent


def test_readme_python_examples_run(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    assert blocks
    for code in blocks:
        namespace: dict = {}
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert namespace["res"].summary["scenario"] == "wechat-2013"


def test_api_doctest(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    failures, tried = doctest.testmod(sim.api)
    assert tried > 0 and failures == 0


def test_every_profile_default_is_documented() -> None:
    from sim.radio.profiles import RADIOS, builtin_profile_data

    model = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    for radio in RADIOS:
        for key in builtin_profile_data(radio):
            if key not in ("radio", "messages"):
                assert f"`{key}`" in model, (radio, key)
        for proc in builtin_profile_data(radio)["messages"]:
            assert f"`{proc}`" in model, (radio, proc)
    assert os.path.exists(ROOT / "docs" / "performance.md")


def test_every_tcp_parameter_is_documented_with_its_default() -> None:
    from sim.scenario.schema import Tcp

    model = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    rows: dict[str, list[str]] = {}  # the first row of each key: §6's table (default, source and tag)
    for line in model.splitlines():
        if line.startswith("| `network.tcp."):
            rows.setdefault(line.split("|")[1].strip(), [c.strip() for c in line.split("|")[2:4]])
    for name, field in Tcp.model_fields.items():
        default, source = rows[f"`network.tcp.{name}`"]
        assert default.split()[0] == str(field.default).lower() or float(default.split()[0]) == field.default, name
        assert source.split(":")[0] in ("page", "code", "derived", "assumption"), name
