"""Connect to an existing Dask distributed cluster (the optional ``dask`` extra).

Dask is imported here only, and only when a scheduler is asked for, so signalsim runs without
it. The caller owns the returned client and closes it (it is a context manager).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distributed import Client


class ClusterError(Exception):
    """No cluster to run on: Dask is not installed, or the scheduler cannot be reached."""


CONNECT_TIMEOUT_S = 10.0  # a scheduler that has not answered by then is not there (Dask's default waits 30 s)


def connect(address: str) -> Client:
    """A client of the scheduler at ``address`` (``tcp://host:port``) or named in a scheduler file
    (the JSON file ``dask scheduler --scheduler-file PATH`` or dask-jobqueue writes). Gives up
    after :data:`CONNECT_TIMEOUT_S`, or Dask's ``distributed.comm.timeouts.connect`` if shorter."""
    try:
        import dask
        from dask.utils import parse_timedelta
        from distributed import Client
    except ImportError:
        raise ClusterError('needs Dask: pip install -e ".[dask]"') from None
    timeout_s = min(CONNECT_TIMEOUT_S, parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), "s"))
    target = _scheduler_file_address(Path(address)) if Path(address).is_file() else address
    try:
        return Client(target, timeout=timeout_s)
    # TypeError: Dask's answer to a scheme whose transport is not installed (ucx://: "Can't instantiate
    # abstract class UCXConnector")
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise ClusterError(f"cannot connect to the Dask scheduler {address}: {exc}") from None


def _scheduler_file_address(path: Path) -> str:
    """The scheduler's address from a scheduler file, read here: Dask asserts on an empty file and
    raises TypeError on an address that is not text, both tracebacks rather than messages."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ClusterError(f"{path}: not a Dask scheduler file (JSON with an address): {exc}") from None
    address = info.get("address") if isinstance(info, dict) else None
    if not isinstance(address, str):
        raise ClusterError(f"{path}: not a Dask scheduler file: no \"address\" text in it")
    return address
