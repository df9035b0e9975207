"""The closed loop's random access as time-series columns (``docs/model.md`` §14)."""
from __future__ import annotations

import numpy as np


def rach_columns(log: dict[str, np.ndarray], edges: np.ndarray) -> dict[str, np.ndarray]:
    """Per bin, over every cell: ``rach_attempts`` (preambles sent), ``rach_collisions`` (preambles two
    or more devices chose), ``rach_failures`` (accesses that ran out of preamble transmissions) and
    ``rach_access_delay_mean_s`` (first preamble to Msg4, over the accesses completed in the bin; 0 where
    none did)."""
    raos, won = log["raos"], log["successes"]
    completed = np.histogram(won[:, 0], edges)[0]
    delay_sum = np.histogram(won[:, 0], edges, weights=won[:, 1])[0]
    return {"rach_attempts": np.histogram(raos[:, 0], edges, weights=raos[:, 1])[0].astype(np.int64),
            "rach_collisions": np.histogram(raos[:, 0], edges, weights=raos[:, 2])[0].astype(np.int64),
            "rach_failures": np.histogram(log["failures"], edges)[0],
            "rach_access_delay_mean_s": np.divide(delay_sum, completed, out=np.zeros(edges.size - 1),
                                                  where=completed > 0)}
