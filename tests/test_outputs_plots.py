"""Plots and the terminal report, on a hand-built fake results object."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from rich.console import Console

from sim.outputs.plots import write_plots
from sim.outputs.report import render

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLOTS = ("signalling.png", "rrc_states.png", "apps.png", "lorenz.png")


def fake_results(devices: int = 1000, apps: tuple[str, ...] = ("wechat", "whatsapp", "os-push"),
                 zero: bool = False) -> SimpleNamespace:
    """Plausible LTE results: 60 one-minute bins, three nodes, heavy-tailed per-device signalling."""
    rng = np.random.default_rng(3)
    nodes, states = ["eNB", "MME", "S-GW"], ["RRC_IDLE", "RRC_CONNECTED"]
    t = np.arange(0.0, 3600.0, 60.0)
    base = np.zeros(len(t), dtype=int) if zero else rng.poisson(1200, len(t))
    ts = pd.DataFrame({"t_start_s": t, "t_end_s": t + 60.0})
    for node, ratio in zip(nodes, (1.0, 0.6, 0.3)):
        ts[f"messages_{node}"] = (base * ratio).astype(int)
    ts["messages_total"] = ts[[f"messages_{n}" for n in nodes]].sum(axis=1)
    ts["promotions"] = base // 5
    connected = rng.uniform(50, 150, len(t))
    ts["devices_RRC_IDLE"], ts["devices_RRC_CONNECTED"] = devices - connected, connected
    ts["up_bytes"] = rng.integers(10**5, 10**6, len(t))
    ts["down_bytes"] = rng.integers(10**5, 10**7, len(t))
    ts["bytes"] = ts["up_bytes"] + ts["down_bytes"]
    per_device = np.zeros(devices, dtype=int) if zero else (rng.pareto(1.5, devices) * 100).astype(int)
    sig_share = np.linspace(3, 1, len(apps)) / np.linspace(3, 1, len(apps)).sum()
    byte_share = np.linspace(1, 3, len(apps)) / np.linspace(1, 3, len(apps)).sum()
    total = int(ts["messages_total"].sum())
    app_df = pd.DataFrame({"app": list(apps), "signalling_messages": (sig_share * total).astype(int),
                           "signalling_share": sig_share, "promotions": (sig_share * 5000).astype(int),
                           "bytes": (byte_share * 1e9).astype(int), "bytes_share": byte_share})
    summary = {
        "scenario": "fake-heartbeats", "seed": 3, "engine": "des", "duration_s": 3600.0, "devices": devices,
        "signalling": {"messages_total": total,
                       "by_node": {n: int(ts[f"messages_{n}"].sum()) for n in nodes},
                       "by_procedure": {"service_request": total},
                       "peak_per_s": {n: float(ts[f"messages_{n}"].max() / 60.0) for n in nodes}},
        "rrc": {"promotions_total": int(ts["promotions"].sum()), "promotions_per_device_hour": 4.2,
                "time_share_by_state": {"RRC_IDLE": 0.9, "RRC_CONNECTED": 0.1}},
        "apps": {row["app"]: {k: row[k] for k in app_df.columns if k != "app"} for _, row in app_df.iterrows()},
        "concentration": {"top_share": {"1": 0.2, "5": 0.45, "8": 0.55, "10": 0.6, "20": 0.75}, "gini": 0.6},
        "energy": {"radio_j_per_device_hour": 120.5},
        "traffic": {"packets_total": 10**6, "bytes_total": int(ts["bytes"].sum())},
    }
    return SimpleNamespace(summary=summary, timeseries=ts, apps=app_df,
                           devices=pd.DataFrame({"signalling_messages": per_device}), nodes=nodes, states=states)


def assert_pngs(paths: list[Path], directory: Path) -> None:
    assert [p.name for p in paths] == list(PLOTS)
    for path in paths:
        assert path.parent == directory
        data = path.read_bytes()
        assert len(data) > 1000 and data.startswith(PNG_MAGIC)


def test_write_plots_writes_four_pngs(tmp_path: Path) -> None:
    directory = tmp_path / "nested" / "plots"
    assert_pngs(write_plots(fake_results(), directory), directory)


def test_write_plots_zero_signalling_and_single_app(tmp_path: Path) -> None:
    assert_pngs(write_plots(fake_results(apps=("wechat",), zero=True), tmp_path), tmp_path)


def test_render_mentions_scenario_and_apps() -> None:
    console = Console(record=True, width=100)
    render(fake_results(), console)
    text = console.export_text()
    for expected in ("fake-heartbeats", "wechat", "whatsapp", "os-push", "eNB", "S-GW", "Gini"):
        assert expected in text
    assert len(text.splitlines()) <= 25
