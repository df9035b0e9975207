"""What a run returns: the summary dict and its tables, numpy columns made pandas DataFrames on first use."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from sim.metrics.table import Table

if TYPE_CHECKING:  # a run that only writes its files never imports pandas (docs/performance.md)
    import pandas as pd


# The top-level keys a summary may have (a test checks every run's against it): sweep axes may
# not be named like them, since the sweep table's columns are the summary's flattened keys.
SUMMARY_KEYS = ("scenario", "seed", "engine", "software_version", "duration_s", "bin_s", "devices", "signalling",
                "rrc", "apps", "concentration", "concentration_apps", "energy", "traffic", "controlplane", "rach",
                "events", "calls", "outputs", "sms", "battery", "delivery")


class Tables(NamedTuple):
    """A run's tables as columns (:class:`sim.metrics.table.Table`)."""

    timeseries: Table
    apps: Table
    devices: Table


@dataclass(frozen=True)
class Results:
    """A run's results.

    - ``summary``: the content of ``summary.json``.
    - ``timeseries``: one row per bin: ``t_start_s``, ``t_end_s``, ``messages_total``,
      ``messages_<node>`` (messages in the bin), ``promotions``, ``devices_<state>``
      (time-averaged devices in the state), ``up_bytes``, ``down_bytes``, ``bytes``, ``delivered_messages``,
      ``delivery_mean_s``, ``delivery_delayed_share`` (by generation time), and what the scenario adds.
    - ``apps``: one row per app (``os-push`` is the OS push channel).
    - ``devices``: one row per device.

    The three are pandas DataFrames, made from ``tables`` (the same columns) when first read.
    """

    summary: dict[str, Any]
    tables: Tables
    nodes: list[str]
    states: list[str]

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        return self.tables.timeseries.frame()

    @cached_property
    def apps(self) -> pd.DataFrame:
        return self.tables.apps.frame()

    @cached_property
    def devices(self) -> pd.DataFrame:
        return self.tables.devices.frame()
