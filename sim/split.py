"""A run split into chunks of devices, each simulated and reduced on its own, in this process or
in worker processes, and merged in device order.

Chunks are fixed by the scenario (``sim.engine.fast.chunks``), never by the number of workers,
and their partial metrics are merged in chunk order, so the results are the same, bit for bit,
whether one process or many compute them.
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from sim.engine.fast import chunks, run_chunk
from sim.metrics.reduce import Reducer
from sim.radio.tables import ModelTables
from sim.scenario import ResolvedScenario

Chunk = list[tuple[int, int, int, int]]
_job: tuple[ResolvedScenario, ModelTables] | None = None  # a worker's run (set once per worker)


def _reduce(rs: ResolvedScenario, tables: ModelTables, chunk: Chunk) -> Reducer:
    _, _, first, _ = chunk[0]
    part = Reducer(tables, rs, first, sum(n for *_, n in chunk))
    part.add(run_chunk(rs, tables, chunk))
    return part


def _start_worker(rs: ResolvedScenario, tables: ModelTables) -> None:
    global _job
    _job = (rs, tables)


def _worker_reduce(chunk: Chunk) -> Reducer:
    assert _job is not None
    return _reduce(*_job, chunk)


def reduce_fast(rs: ResolvedScenario, tables: ModelTables, progress: Callable[[float], None] | None = None,
                workers: int = 1) -> Reducer:
    """Every chunk of ``rs`` on the fast engine, reduced and merged; ``workers`` > 1: in that many processes."""
    total = Reducer(tables, rs)
    todo = list(chunks(rs))
    if workers > 1 and len(todo) > 1:
        # forkserver: workers start from a clean process, never from a fork of a threaded one
        pool = ProcessPoolExecutor(min(workers, len(todo)), mp_context=get_context("forkserver"),
                                   initializer=_start_worker, initargs=(rs, tables))
        parts = pool.map(_worker_reduce, todo)
    else:
        pool, parts = None, (_reduce(rs, tables, chunk) for chunk in todo)
    try:
        for done, part in enumerate(parts, 1):
            total.absorb(part)
            if progress is not None:
                progress(done / len(todo))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return total
