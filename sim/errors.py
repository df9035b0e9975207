"""Exceptions raised by the library; only the CLI turns them into messages and exit codes."""
from __future__ import annotations

from dataclasses import dataclass


def printable(text: str) -> str:
    """``text`` with newlines, ANSI escapes and other unprintable characters written as escapes
    (``\\n``, ``\\x1b``), so that any name or value shows literally on one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and what is wrong."""

    source: str  # file name, or "--set" for command-line overrides
    path: str  # dotted field path, e.g. "groups[0].apps.chat"; "" for the whole file
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.path}" if self.path else self.source
        return printable(f"{where}: {self.message}")


class ScenarioError(Exception):
    """A scenario (or profile, or override) is invalid; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))
