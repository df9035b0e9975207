"""RRC profiles: the radio model as data.

Built-in profiles live in ``sim/profiles/<radio>.toml`` with a source on every figure; these
models only state each field's type and range, so that a profile (or a scenario's override of
one) with a typo or an impossible value is rejected before anything runs.
"""
from __future__ import annotations

import tomllib
from importlib import resources
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

RADIOS = ("umts", "lte", "nr")

NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
Timer = Annotated[float, Field(gt=0.0)]  # inf allowed: "never"
# A NAS retry timer (T3411, T3402, ...): at least 1 s (assumption: the standard's are 10 s to minutes; shorter
# would make a rejected attach spin); inf allowed: "never again"
RetryTimer = Annotated[float, Field(ge=1.0)]
AttachAttempts = Annotated[int, Field(ge=1, le=100)]  # the attach attempt counter's limit (TS 24.301: 5)
Count = Annotated[int, Field(ge=0, le=1_000_000)]  # bounded so that every message total fits in 64 bits
MAX_PAGING_REPETITIONS = 10  # further whole-area attempts at most (TS 23.401 leaves the count to the MME)


class PagingArea(BaseModel):
    """Where a paging procedure pages, how, and what each paged base station and cell costs.

    One attempt that pages ``n`` base stations costs ``n x per_base_station + (n - 1) x
    per_other_base_station + n x cells_per_base_station x per_cell`` messages at each node; the
    procedure's own ``messages`` row counts what happens once per page (the core's downlink data
    notification, say). The first attempt pages the whole area (``strategy = "area"``) or only the
    base station the phone was last seen at (``"last_seen"``); an attempt is answered with
    ``answer_probability``, else the whole area is paged again, up to ``repetitions`` times
    (``sim.radio.tables``, ``docs/model.md`` §6)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    base_stations: Annotated[int, Field(ge=1, le=100_000)]
    cells_per_base_station: Annotated[int, Field(ge=1, le=10_000)]
    strategy: Literal["area", "last_seen"]
    answer_probability: Annotated[float, Field(gt=0.0, le=1.0)]
    repetitions: Annotated[int, Field(ge=0, le=MAX_PAGING_REPETITIONS)]
    per_base_station: dict[str, Count] = {}
    per_other_base_station: dict[str, Count] = {}
    per_cell: dict[str, Count] = {}

    def serving(self, base_stations: int, node: str) -> int:
        """What the phone's own base station (``node``) processes of an attempt paging
        ``base_stations``: its own paging and cells, and one XnAP message to each other base station
        (``per_other_base_station`` counts it sent and received). The closed loop offers this
        share, not the whole area's, to the phone's instance: the others are other instances."""
        return (self.per_base_station.get(node, 0) + self.cells_per_base_station * self.per_cell.get(node, 0)
                + (base_stations - 1) * (self.per_other_base_station.get(node, 0) // 2))

    def attempt(self, base_stations: int) -> dict[str, int]:
        """Messages per node of one attempt that pages ``base_stations`` of the area."""
        out: dict[str, int] = {}
        for counts, times in ((self.per_base_station, base_stations),
                              (self.per_other_base_station, base_stations - 1),
                              (self.per_cell, base_stations * self.cells_per_base_station)):
            for node, count in counts.items():
                out[node] = out.get(node, 0) + count * times
        return out


class RandomAccess(BaseModel):
    """Contention-based random access in each cell (``sim.radio.rach``; docs/model.md §14): off unless
    ``enabled``. Ranges are those TS 36.321 / TS 36.331 allow where they give one."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    enabled: bool
    preambles: Annotated[int, Field(ge=1, le=64)]  # contention preambles (numberOfRA-Preambles: 4 ... 64)
    rao_period_ms: Annotated[int, Field(ge=1, le=20)]  # prach-ConfigIndex: every 1 ... 20 subframes
    ul_grants_per_rao: Annotated[int, Field(ge=1, le=1000)]
    preamble_trans_max: Annotated[int, Field(ge=1, le=200)]  # preambleTransMax: n3 ... n200
    backoff_ms: Annotated[float, Field(ge=0.0, le=960.0, allow_inf_nan=False)]  # TS 36.321 Table 7.2-1
    detection: Literal["tr37868", "ideal"]  # 1 - e^(-k) on the k-th transmission, or always detected
    preamble_processing_ms: Annotated[int, Field(ge=0, le=100)]
    rar_window_ms: Annotated[int, Field(ge=1, le=10)]  # ra-ResponseWindowSize: sf2 ... sf10 (1 allowed)
    msg3_delay_ms: Annotated[int, Field(ge=0, le=100)]
    msg3_rtt_ms: Annotated[int, Field(ge=1, le=100)]
    msg4_delay_ms: Annotated[int, Field(ge=0, le=100)]
    msg4_rtt_ms: Annotated[int, Field(ge=1, le=100)]
    harq_retx_probability: Annotated[float, Field(ge=0.0, lt=1.0)]
    harq_max_tx: Annotated[int, Field(ge=1, le=8)]  # maxHARQ-Msg3Tx: 1 ... 8
    contention_resolution_timer_ms: Annotated[int, Field(ge=1, le=64)]  # sf8 ... sf64 (shorter allowed)


class _Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    #: node names this technology's procedures may count messages at
    NODES: ClassVar[tuple[str, ...]] = ()
    #: procedures the state machine uses; each must have a row in ``messages``
    PROCEDURES: ClassVar[tuple[str, ...]] = ()
    #: the node that pages cells (one instance per base station in the closed loop)
    BASE_STATION: ClassVar[str] = ""
    #: paging procedures, each with a ``paging_areas`` entry; each also has a ``<name>_repeat``
    #: procedure (a further attempt over the whole area), derived from it
    PAGINGS: ClassVar[tuple[str, ...]] = ("paging",)
    #: the fields of the UE's retry after a failed attach: the short timer, the long one, the attempts before it
    ATTACH_RETRY: ClassVar[tuple[str, str, str]] = ("", "", "")

    messages: dict[str, dict[str, Count]]
    paging_areas: dict[str, PagingArea]

    def attach_retry(self) -> tuple[float, float, int]:
        """After a failed attach: the short wait, the long one and the attempts before it (``ATTACH_RETRY``)."""
        short_s, long_s, attempts = (getattr(self, f) for f in self.ATTACH_RETRY)
        return short_s, long_s, attempts

    @field_validator("paging_areas")
    @classmethod
    def _areas_cover_pagings(cls, value: dict[str, PagingArea]) -> dict[str, PagingArea]:
        unknown = sorted(set(value) - set(cls.PAGINGS))
        if unknown:
            raise ValueError(f"unknown paging procedure {unknown[0]!r} (expected one of: {', '.join(cls.PAGINGS)})")
        missing = [p for p in cls.PAGINGS if p not in value]
        if missing:
            raise ValueError(f"missing paging procedure {missing[0]!r}")
        for proc, area in value.items():
            for counts in (area.per_base_station, area.per_other_base_station, area.per_cell):
                bad = sorted(set(counts) - set(cls.NODES))
                if bad:
                    raise ValueError(f"{proc}: unknown node {bad[0]!r} (expected one of: {', '.join(cls.NODES)})")
        return value

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

    NODES: ClassVar[tuple[str, ...]] = ("RNC", "SGSN", "HLR", "GGSN")
    BASE_STATION: ClassVar[str] = "RNC"
    ATTACH_RETRY: ClassVar[tuple[str, str, str]] = ("t3311_s", "t3302_s", "attach_attempts")  # TS 24.008 §4.7.3.1.5
    PROCEDURES: ClassVar[tuple[str, ...]] = (
        "rrc_setup", "release", "dch_to_fach", "fach_to_dch", "to_pch",
        "cell_update", "pch_release", "paging", "fd_release", "fd_to_pch", "call_setup", "attach",
        "rrc_reject", "service_reject", "periodic_rau", "pch_cell_update", "sms",
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
    t3312_s: Timer
    t3311_s: RetryTimer
    t3302_s: RetryTimer
    attach_attempts: AttachAttempts
    t305_s: Timer
    pch_mobility_updates_per_h: NonNegative
    idle_power_mw: NonNegative
    fach_power_mw: NonNegative
    dch_power_mw: NonNegative
    pch_power_mw: NonNegative
    idle_to_dch_power_mw: NonNegative
    fach_to_dch_power_mw: NonNegative
    pch_to_fach_power_mw: NonNegative


class LteProfile(_Profile):
    """LTE (4G) RRC: RRC_IDLE, RRC_CONNECTED."""

    NODES: ClassVar[tuple[str, ...]] = ("eNB", "MME", "S-GW", "HSS", "P-GW")
    BASE_STATION: ClassVar[str] = "eNB"
    ATTACH_RETRY: ClassVar[tuple[str, str, str]] = ("t3411_s", "t3402_s", "attach_attempts")  # TS 24.301 §5.5.1.2.6
    PROCEDURES: ClassVar[tuple[str, ...]] = (
        "service_request", "s1_release", "paging", "call_setup", "attach", "rrc_reject", "service_reject",
        "periodic_tau", "csfb_call", "sms",
    )
    radio: Literal["lte"]
    tail_s: Positive
    t3412_s: Timer
    t3411_s: RetryTimer
    t3402_s: RetryTimer
    attach_attempts: AttachAttempts
    promotion_delay_s: NonNegative
    idle_power_mw: NonNegative
    promotion_power_mw: NonNegative
    continuous_reception_s: NonNegative
    short_drx_s: NonNegative
    drx_on_s: NonNegative
    short_drx_cycle_s: Positive
    long_drx_cycle_s: Positive
    continuous_reception_power_mw: NonNegative
    drx_on_power_mw: NonNegative
    connected_power_mw: NonNegative
    rach: RandomAccess | None = None

    @model_validator(mode="after")
    def _on_duration_fits_cycles(self) -> LteProfile:
        if self.drx_on_s > min(self.short_drx_cycle_s, self.long_drx_cycle_s):
            raise ValueError("drx_on_s must not exceed short_drx_cycle_s or long_drx_cycle_s")
        return self


class NrProfile(_Profile):
    """NR (5G SA) RRC: RRC_IDLE, RRC_INACTIVE, RRC_CONNECTED."""

    NODES: ClassVar[tuple[str, ...]] = ("gNB", "AMF", "SMF", "AUSF", "UDM", "UPF")
    BASE_STATION: ClassVar[str] = "gNB"
    ATTACH_RETRY: ClassVar[tuple[str, str, str]] = ("t3511_s", "t3502_s", "attach_attempts")  # TS 24.501 §5.5.1.2.7
    PAGINGS: ClassVar[tuple[str, ...]] = ("paging", "ran_paging")
    PROCEDURES: ClassVar[tuple[str, ...]] = (
        "service_request", "release", "suspend", "resume", "inactive_release", "paging", "ran_paging",
        "call_setup", "attach", "rrc_reject", "service_reject", "periodic_registration", "rna_update", "sms", "sdt",
    )
    radio: Literal["nr"]
    tail_s: Positive
    promotion_delay_s: NonNegative
    resume_delay_s: NonNegative
    inactive_enabled: bool
    inactive_release_s: Timer
    t3512_s: Timer
    t3511_s: RetryTimer
    t3502_s: RetryTimer
    attach_attempts: AttachAttempts
    t380_s: Timer
    sdt_enabled: bool
    sdt_max_bytes: Annotated[int, Field(ge=0, le=10**6)]
    idle_power_mw: NonNegative
    inactive_power_mw: NonNegative
    connected_power_mw: NonNegative
    promotion_power_mw: NonNegative
    rach: RandomAccess | None = None


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


