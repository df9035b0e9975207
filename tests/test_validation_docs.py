"""docs/model.md names every default parameter of every profile file, with a source and tag."""
from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ("umts", "lte", "nr", "controlplane")
TAGS = ("code", "page", "derived", "assumption")


def parameter_table() -> dict[str, tuple[str, str]]:
    """docs/model.md: ``| `file.toml` | `parameter` | default | source and tag |`` rows -> (default, source)."""
    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)\.toml` \| `([^`]+)` \| ([^|]+) \| ([^|]+) \|$", text, re.M)
    return {f"{f}:{p}": (default.strip(), source) for f, p, default, source in rows}


def parameters(profile: str) -> dict[str, Any]:
    """Every leaf of a profile file by dotted name (``messages.rrc_setup.RNC``, ``RNC.messages_per_s``)."""
    data = tomllib.loads(resources.files("sim.profiles").joinpath(f"{profile}.toml").read_text("utf-8"))

    def leaves(node: dict, prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            out |= leaves(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value}
        return out

    return {name: value for name, value in leaves(data, "").items() if name != "radio"}


def as_written(value: Any) -> str:
    """A default as the table writes it: TOML literals (``true``, ``"off"``, ``inf``, ``5.0``)."""
    if isinstance(value, bool):
        return str(value).lower()
    return f'"{value}"' if isinstance(value, str) else repr(value)


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_parameter_has_a_row_with_its_default_and_a_tagged_source(profile: str) -> None:
    table = parameter_table()
    params = parameters(profile)
    assert params
    assert [p for p in params if f"{profile}:{p}" not in table] == []
    assert [p for p, v in params.items() if table[f"{profile}:{p}"][0] != as_written(v)] == []
    assert [p for p in params if not any(tag in table[f"{profile}:{p}"][1] for tag in TAGS)] == []
