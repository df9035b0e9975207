"""The per-device table: CSV at the sizes people open in a spreadsheet, Parquet above, or none.

A CSV of 10^7 devices is about 0.9 GB and takes longer to write than the run took to simulate;
Parquet (pyarrow, columnar and compressed) writes the same table in a few seconds.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the CLI reads CSV_MAX_DEVICES without importing numpy
    from sim.metrics.table import Table
    from sim.scenario.schema import DeviceTable

# "auto": CSV up to this many devices, Parquet above (the one place the threshold is set)
CSV_MAX_DEVICES = 1_000_000

Format = Literal["csv", "parquet", "none"]
DEVICE_FILES = ("devices.csv", "devices.parquet")


def device_format(choice: DeviceTable, n_devices: int) -> Format:
    """The format ``outputs.devices`` asks for, "auto" settled by the device count."""
    if choice == "auto":
        return "csv" if n_devices <= CSV_MAX_DEVICES else "parquet"
    return choice


def device_file(choice: DeviceTable, n_devices: int) -> str | None:
    """The per-device table's file name (``devices.csv`` or ``devices.parquet``); None: not written."""
    fmt = device_format(choice, n_devices)
    return None if fmt == "none" else f"devices.{fmt}"


def write_devices(devices: Table, directory: Path, choice: DeviceTable) -> Path | None:
    """Write the per-device table into ``directory`` as ``choice`` asks; its path, or None if not written."""
    name = device_file(choice, len(devices))
    if name is None:
        return None
    path = Path(directory) / name
    if name.endswith(".csv"):
        devices.to_csv(path)
    else:  # pandas and pyarrow only here
        devices.frame().to_parquet(path, index=False)
    return path
