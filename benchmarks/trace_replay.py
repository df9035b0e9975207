"""Cost per device-hour of an app replaying a capture against a modelled app, timed in the same run.

The replayed app is the MQTT client of ``tests/data/mqtt-keepalive-20s.pcap`` (a 20 s keepalive); the
modelled one a fixed 20 s heartbeat. Each runs alone on 10^6 LTE devices for an hour on the fast
engine (one process); the script prints wall time, transfers and the ratio of the costs per
device-hour (the issue's target: within 1.5x). ``--devices N`` for a quicker look.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from sim.api import simulate
from sim.scenario import resolve

CAPTURE = Path(__file__).resolve().parent.parent / "tests" / "data" / "mqtt-keepalive-20s.pcap"
APPS = {"replayed": {"name": "mqtt", "traffic": {"trace": str(CAPTURE), "flow": ":18830"}},
        "modelled": {"name": "mqtt", "heartbeat": {"policy": "fixed", "interval_s": 20.0}}}


def timed(app: dict, devices: int) -> tuple[float, int, int]:
    data = {"name": "bench", "simulation": {"duration_s": 3600.0, "seed": 1}, "apps": [app],
            "groups": [{"name": "g", "devices": devices, "apps": {"mqtt": 1.0}}]}
    rs = resolve(data, "benchmark")
    start = time.perf_counter()
    results = simulate(rs)
    return time.perf_counter() - start, results.summary["traffic"]["packets_total"], \
        results.summary["rrc"]["promotions_total"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10**6)
    devices = parser.parse_args().devices
    timed(APPS["replayed"], 2048)  # compile and warm the kernels first
    timed(APPS["modelled"], 2048)
    seconds = {}
    for kind, app in APPS.items():
        wall, packets, promotions = timed(app, devices)
        seconds[kind] = wall
        print(f"{kind:>9}: {wall:7.1f} s for {devices:,} device-hours, {wall / devices * 1e6:6.2f} µs per "
              f"device-hour, {promotions / devices:.1f} promotions and {packets / devices:.1f} packets per device-hour")
    print(f"replayed / modelled cost per device-hour: {seconds['replayed'] / seconds['modelled']:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
