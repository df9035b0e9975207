"""RRC profiles: the radio model as data.

Built-in profiles live in ``sim/profiles/<radio>.toml`` with a source on every figure; these
models only state each field's type and range, so that a profile (or a scenario's override of
one) with a typo or an impossible value is rejected before anything runs.
"""
from __future__ import annotations

import tomllib
from importlib import resources
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

RADIOS = ("umts", "lte", "nr")

NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
Timer = Annotated[float, Field(gt=0.0)]  # inf allowed: "never"
Count = Annotated[int, Field(ge=0, le=1_000_000)]  # bounded so that every message total fits in 64 bits


class _Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    #: node names this technology's procedures may count messages at
    NODES: ClassVar[tuple[str, ...]] = ()
    #: procedures the state machine uses; each must have a row in ``messages``
    PROCEDURES: ClassVar[tuple[str, ...]] = ()

    messages: dict[str, dict[str, Count]]

    @field_validator("messages")
    @classmethod
    def _messages_cover_procedures(cls, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        procs, nodes = cls.PROCEDURES, cls.NODES
        unknown = sorted(set(value) - set(procs))
        if unknown:
            raise ValueError(f"unknown procedure {unknown[0]!r} (expected one of: {', '.join(procs)})")
        missing = [p for p in procs if p not in value]
        if missing:
            raise ValueError(f"missing procedure {missing[0]!r}")
        for proc, counts in value.items():
            bad = sorted(set(counts) - set(nodes))
            if bad:
                raise ValueError(f"{proc}: unknown node {bad[0]!r} (expected one of: {', '.join(nodes)})")
        return value


class UmtsProfile(_Profile):
    """UMTS (3G) RRC: IDLE, CELL_FACH, CELL_DCH, CELL_PCH."""

    NODES: ClassVar[tuple[str, ...]] = ("RNC", "SGSN")
    PROCEDURES: ClassVar[tuple[str, ...]] = (
        "rrc_setup", "release", "dch_to_fach", "fach_to_dch", "to_pch",
        "cell_update", "pch_release", "paging", "fd_release", "fd_to_pch", "call_setup", "attach",
        "rrc_reject", "service_reject",
    )
    radio: Literal["umts"]
    t1_s: Positive
    t2_s: Positive
    idle_to_dch_delay_s: NonNegative
    fach_to_dch_delay_s: NonNegative
    pch_to_fach_delay_s: NonNegative
    fach_to_dch_up_bytes: Count
    fach_to_dch_down_bytes: Count
    pch_enabled: bool
    pch_release_s: Timer
    fast_dormancy: Literal["off", "legacy", "rel8"]
    fast_dormancy_s: Positive
    idle_power_mw: NonNegative
    fach_power_mw: NonNegative
    dch_power_mw: NonNegative
    pch_power_mw: NonNegative
    idle_to_dch_power_mw: NonNegative
    fach_to_dch_power_mw: NonNegative
    pch_to_fach_power_mw: NonNegative


class LteProfile(_Profile):
    """LTE (4G) RRC: RRC_IDLE, RRC_CONNECTED."""

    NODES: ClassVar[tuple[str, ...]] = ("eNB", "MME", "S-GW")
    PROCEDURES: ClassVar[tuple[str, ...]] = (
        "service_request", "s1_release", "paging", "call_setup", "attach", "rrc_reject", "service_reject",
    )
    radio: Literal["lte"]
    tail_s: Positive
    promotion_delay_s: NonNegative
    idle_power_mw: NonNegative
    connected_power_mw: NonNegative
    promotion_power_mw: NonNegative


class NrProfile(_Profile):
    """NR (5G SA) RRC: RRC_IDLE, RRC_INACTIVE, RRC_CONNECTED."""

    NODES: ClassVar[tuple[str, ...]] = ("gNB", "AMF", "SMF")
    PROCEDURES: ClassVar[tuple[str, ...]] = (
        "service_request", "release", "suspend", "resume", "inactive_release", "paging", "ran_paging",
        "call_setup", "attach", "rrc_reject", "service_reject",
    )
    radio: Literal["nr"]
    tail_s: Positive
    promotion_delay_s: NonNegative
    resume_delay_s: NonNegative
    inactive_enabled: bool
    inactive_release_s: Timer
    idle_power_mw: NonNegative
    inactive_power_mw: NonNegative
    connected_power_mw: NonNegative
    promotion_power_mw: NonNegative


Profile = UmtsProfile | LteProfile | NrProfile
PROFILE_MODELS: dict[str, type[_Profile]] = {"umts": UmtsProfile, "lte": LteProfile, "nr": NrProfile}


def builtin_profile_data(radio: str) -> dict[str, Any]:
    """The raw data of a built-in profile file (``sim/profiles/<radio>.toml``)."""
    text = resources.files("sim.profiles").joinpath(f"{radio}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base`` (tables merge, values replace)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


