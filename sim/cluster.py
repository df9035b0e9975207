"""Connect to an existing Dask distributed cluster (the optional ``dask`` extra).

Dask is imported here only, and only when a scheduler is asked for, so signalsim runs without
it. The caller owns the returned client and closes it (it is a context manager).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distributed import Client


class ClusterError(Exception):
    """No cluster to run on: Dask is not installed, or the scheduler cannot be reached."""


def connect(address: str) -> Client:
    """A client of the scheduler at ``address`` (``tcp://host:port``) or named in a scheduler file
    (the JSON file ``dask scheduler --scheduler-file PATH`` or dask-jobqueue writes). Gives up
    after Dask's ``distributed.comm.timeouts.connect`` (30 s by default)."""
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError('--scheduler needs Dask: pip install -e ".[dask]"') from None
    try:
        if Path(address).is_file():
            return Client(scheduler_file=address)
        return Client(address)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot connect to the Dask scheduler {address}: {exc}") from None
