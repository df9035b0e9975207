"""The sweep's tidy table: one row per run with its parameters, seed and every summary metric.

Columns, in order: ``point`` (parameter combination, in the sweep file's order),
``replication``, ``seed`` (the scenario seed the run used), ``run_id``, ``status`` (``ok`` or
``failed``), ``error`` (why a run failed; empty when ok), ``wall_time_s`` (the only column that
differs between identical runs), one column per axis (named by its ``name``, else its path),
then every ``summary.json`` field flattened with dotted names, e.g.
``signalling.messages_per_device_hour``, ``signalling.by_node.eNB``, ``apps.chat.promotions``,
``concentration.top_share.10``; a list (``events``) is kept as its JSON text. A failed run's
metric columns are empty. pandas appears here, at the edge, and nowhere earlier in the sweep.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from sim.sweep.points import Run
from sim.sweep.store import Record

# Two-sided 95 % Student t quantiles t(0.975, df) for df = 1..30 (standard tables); beyond 30 the
# normal 1.96 is within 2 % of t.
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)
Z_975 = 1.96


def flatten(summary: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> one level with dotted keys; lists -> their JSON text."""
    out: dict[str, Any] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = json.dumps(value)
        else:
            out[name] = value
    return out


def build_table(runs: Iterable[Run], records: dict[str, Record]) -> pd.DataFrame:
    """Rows of ``runs`` that have a record, in run order."""
    rows = []
    for run in runs:
        record = records.get(run.run_id)
        if record is None:
            continue
        rows.append({"point": run.point, "replication": run.replication, "seed": run.seed, "run_id": run.run_id,
                     "status": record["status"], "error": record["error"], "wall_time_s": record["wall_time_s"],
                     **run.params, **{k: v for k, v in record["metrics"].items() if k != "seed"}})
    return pd.DataFrame(rows)


def t_975(replications: int) -> float:
    """The 95 % two-sided Student t quantile for a mean over ``replications`` values."""
    df = replications - 1
    return T_975[df - 1] if df <= len(T_975) else Z_975


def mean_ci(table: pd.DataFrame, by: list[str], metric: str) -> pd.DataFrame:
    """Per group of ``by``: ``n``, ``mean`` and the 95 % confidence interval ``low``..``high`` of
    ``metric`` over the group's runs (t-based; no interval for a single run)."""
    rows = []
    for key, group in table.groupby(by, sort=False):
        values = group[metric].astype(float)
        n, mean = len(values), float(values.mean())
        half = t_975(n) * float(values.std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
        rows.append({**dict(zip(by, key)), "n": n, "mean": mean, "low": mean - half, "high": mean + half})
    return pd.DataFrame(rows)
