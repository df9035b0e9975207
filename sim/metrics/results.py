"""What a run returns: the summary dict and pandas tables (built at the edge, from numpy)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the tables are made in sim.metrics.reduce; this module stays light for the CLI
    import pandas as pd


# The top-level keys a summary may have (a test checks every run's against it): sweep axes may
# not be named like them, since the sweep table's columns are the summary's flattened keys.
SUMMARY_KEYS = ("scenario", "seed", "engine", "software_version", "duration_s", "bin_s", "devices", "signalling",
                "rrc", "apps", "concentration", "concentration_apps", "energy", "traffic", "controlplane", "rach",
                "events", "calls", "outputs", "sms", "battery", "delivery")


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
    """

    summary: dict[str, Any]
    timeseries: pd.DataFrame
    apps: pd.DataFrame
    devices: pd.DataFrame
    nodes: list[str]
    states: list[str]
