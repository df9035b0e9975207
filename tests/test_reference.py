"""README's scenario reference against the schema: every key the loader takes is documented with
the default the loader uses, and every key documented is one the loader takes.

The reference (README.md, "Scenario reference") has a subsection per table (``### `[simulation]```,
``### `[[apps]]```, ...; each event kind under ``#### `kind = "..."```) holding a table of
``| key | default | meaning |`` rows. A key cell names one or more keys in backticks, relative to
its table (``heartbeat.policy``; ``<NODE>`` stands for any name of a table of tables); a key after
the first without a dot takes the first one's prefix (```heartbeat.up_bytes`, `down_bytes```). A
default cell gives one TOML value in backticks per key (or one for all of them), or words for a
key without one: ``required`` for a key that must be given, anything else (``absent (no NAT)``,
```network.radio```) for one whose default is "not set".
"""
from __future__ import annotations

import re
import tomllib
import types
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from sim.scenario.schema import EVENTS, Scenario

ROOT = Path(__file__).resolve().parents[1]
ANY_NAME = "<>"  # a key of a table of tables, as a path segment


def _models(annotation: object) -> tuple[list[type[BaseModel]], bool]:
    """The models a field's type holds (through Optional, list, Annotated, unions) and whether they sit
    under names of a table of tables (``dict[str, Model]``)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _models(args[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation], False
    if origin in (typing.Union, types.UnionType, list):
        found = [_models(a) for a in args]
        return [m for models, _ in found for m in models], any(named for _, named in found)
    if origin is dict:
        return _models(args[1])[0], bool(_models(args[1])[0])
    return [], False


def _is_list(annotation: object) -> bool:
    origin = typing.get_origin(annotation)
    return origin is list or (origin is typing.Annotated and _is_list(typing.get_args(annotation)[0]))


def schema_keys(model: type[BaseModel], prefix: str = "") -> dict[str, object]:
    """Every scalar key under ``model``: its dotted path -> its default (``PydanticUndefined`` if required)."""
    keys: dict[str, object] = {}
    for name, field in model.model_fields.items():
        models, named = _models(field.annotation)
        if models:
            for sub in models:
                keys |= schema_keys(sub, f"{prefix}{name}.{ANY_NAME + '.' if named else ''}")
        else:
            keys[f"{prefix}{name}"] = field.default
    return keys


def sections() -> dict[str, str]:
    """The reference's subsections by the backticked text of their heading (``Top level`` for that one)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    reference = readme.split("\n## Scenario reference\n", 1)[1].split("\n## ", 1)[0]
    parts = re.split(r"^#{3,4} (.+)$", reference, flags=re.M)
    return {re.sub(r"^`(.*)`$", r"\1", heading.strip()): body for heading, body in zip(parts[1::2], parts[2::2])}


def documented(body: str) -> dict[str, str]:
    """A subsection's rows: each documented key -> the text of its default."""
    out: dict[str, str] = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) < 3 or cells[0] in ("key", "") or set(cells[0]) <= set("-"):
            continue
        keys = re.findall(r"`([^`]+)`", cells[0])
        prefix = keys[0].rsplit(".", 1)[0] + "." if "." in keys[0] else ""
        keys = [keys[0]] + [k if "." in k else prefix + k for k in keys[1:]]
        # <NODE> is any name; a trailing one (`overrides.<radio>`) names the entries of a plain table
        keys = [re.sub(r"\.<>$", "", re.sub(r"<[^>]+>", ANY_NAME, k)) for k in keys]
        values = re.findall(r"`([^`]+)`", cells[1])
        literals = [v for v in values if _literal(v) is not None]
        if literals and len(literals) not in (1, len(keys)):
            raise AssertionError(f"{cells[0]}: {len(keys)} keys but {len(literals)} defaults ({cells[1]})")
        for i, key in enumerate(keys):
            out[key] = literals[i if len(literals) > 1 else 0] if literals else cells[1]
    return out


def _literal(text: str) -> list[object] | None:
    """``text`` as a TOML value (in a list, so that a falsy value is not None), or None if it is not one."""
    try:
        return [tomllib.loads(f"v = {text}")["v"]]
    except tomllib.TOMLDecodeError:
        return None


def expected() -> dict[str, dict[str, object]]:
    """Subsection -> key -> default, from the schema."""
    top = {k: v for k, v in schema_keys(Scenario).items() if "." not in k}
    out: dict[str, dict[str, object]] = {"Top level": top}
    for name, field in Scenario.model_fields.items():
        models, _ = _models(field.annotation)
        if not models or name == "events":
            continue
        heading = f"[[{name}]]" if _is_list(field.annotation) else f"[{name}]"
        out[heading] = {k: v for m in models for k, v in schema_keys(m).items()}
    for event in EVENTS:
        kind = typing.get_args(event.model_fields["kind"].annotation)[0]
        out[f'kind = "{kind}"'] = {k: v for k, v in schema_keys(event).items() if k != "kind"}
    return out


CASES = [(heading, key, default) for heading, keys in expected().items() for key, default in keys.items()]


@pytest.mark.parametrize(("heading", "key", "default"), CASES, ids=[f"{h}:{k}" for h, k, _ in CASES])
def test_every_schema_key_is_documented_with_its_default(heading: str, key: str, default: object) -> None:
    found = sections()
    assert heading in found, f"README's scenario reference has no subsection `{heading}`"
    rows = documented(found[heading])
    assert key in rows, f"`{key}` is not documented under `{heading}` in README's scenario reference"
    shown = _literal(rows[key])
    if default is PydanticUndefined:
        assert "required" in rows[key], f"`{heading}` `{key}` must be given, but README says `{rows[key]}`"
    elif default is None:
        assert shown is None, f"`{heading}` `{key}` has no default, but README gives `{rows[key]}`"
    else:
        assert shown == [default], f"`{heading}` `{key}`: the loader's default is {default!r}, README's `{rows[key]}`"


def test_every_documented_key_exists() -> None:
    keys = expected()
    stale = [f"{heading}: {key}" for heading, body in sections().items() if heading in keys
             for key in documented(body) if key not in keys[heading]]
    assert not stale, "README documents keys the loader does not take: " + "; ".join(stale)
    assert set(keys) <= set(sections())


def test_the_reference_check_catches_an_undocumented_key_and_a_wrong_default() -> None:
    rows = documented("| key | default | meaning |\n|---|---|---|\n| `a.up_bytes`, `down_bytes` | `70`, `60` | x |\n"
                      "| `b` | absent (none) | y |\n| `c` | required | z |\n")
    assert rows == {"a.up_bytes": "70", "a.down_bytes": "60", "b": "absent (none)", "c": "required"}
    assert _literal(rows["a.down_bytes"]) == [60] != [70.5]
    assert _literal("false") == [False] and _literal("network.radio") is None
