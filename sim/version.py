"""The installed signalsim's version, written into every summary and results folder marker."""
from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version


@cache
def software_version() -> str:
    try:
        return version("signalsim")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "unknown"
