"""A run split into chunks of devices, each simulated and reduced on its own, in this process or
in worker processes, and merged in device order. The worker processes are either started here
(``workers``) or those of a ``concurrent.futures.Executor`` passed in, such as a Dask client's
(``client.get_executor()``).

An open loop's chunks are runs of draw blocks (``sim.engine.fast.chunks``); a closed loop's are its
partitions, device ranges that share no limited node's instance (``Scenario.partitions``), each
a compiled closed loop of its own. Both are fixed by the scenario, never by the number of workers, and
their partial metrics are merged in chunk order, so the results are the same, bit for bit, whether one
process or many compute them.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from contextlib import ExitStack
from functools import partial

from sim.engine.fast import chunks, run_chunk
from sim.memory import keep_freed_memory
from sim.metrics.reduce import Reducer
from sim.radio.tables import ModelTables
from sim.scenario import ResolvedScenario
from sim.workers import process_pool

Chunk = list[tuple[int, int, int, int]] | tuple[int, int]  # draw blocks (open loop) or a device range (closed)
_job: tuple[ResolvedScenario, ModelTables] | None = None  # a worker's run (set once per worker)


def _chunks(rs: ResolvedScenario) -> list[Chunk]:
    scn = rs.scenario
    if scn.closed_loop() and not scn.per_device_feedback():
        return scn.partitions()
    return list(chunks(rs))


def _reduce(rs: ResolvedScenario, tables: ModelTables, chunk: Chunk) -> Reducer:
    if isinstance(chunk, tuple):  # a closed loop's partition
        from sim.engine.closed import run_closed  # imported by closed loops alone (start-up)
        part = Reducer(tables, rs, chunk[0], chunk[1] - chunk[0])
        part.add(run_closed(rs, tables, chunk, part.stream_transitions))
        return part
    _, _, first, _ = chunk[0]
    part = Reducer(tables, rs, first, sum(n for *_, n in chunk))
    part.add(run_chunk(rs, tables, chunk))
    return part


def _start_worker(rs: ResolvedScenario, tables: ModelTables) -> None:
    global _job
    _job = (rs, tables)
    keep_freed_memory()


def _worker_reduce(chunk: Chunk) -> Reducer:
    assert _job is not None
    return _reduce(*_job, chunk)


def _reduce_remote(rs: ResolvedScenario, tables: ModelTables, chunk: Chunk) -> Reducer:
    keep_freed_memory()  # a worker of someone else's executor: set on each call (cheap, idempotent)
    return _reduce(rs, tables, chunk)


def reduce_fast(rs: ResolvedScenario, tables: ModelTables, progress: Callable[[float], None] | None = None,
                workers: int = 1, executor: Executor | None = None) -> Reducer:
    """Every chunk of ``rs`` on the fast engine, reduced and merged; ``workers`` > 1: in that many processes.

    ``executor`` (e.g. a Dask client's ``get_executor()``) runs the chunks instead of local
    processes; ``workers`` is then ignored. It is not shut down here: its owner does that."""
    keep_freed_memory()
    total = Reducer(tables, rs)
    todo = _chunks(rs)
    parts: Iterable[Reducer]
    with ExitStack() as stack:
        if executor is not None:
            parts = executor.map(partial(_reduce_remote, rs, tables), todo)
        elif workers > 1 and len(todo) > 1:
            pool = stack.enter_context(process_pool(min(workers, len(todo)), "sim.split", _start_worker,
                                                    (rs, tables)))
            # not pool.map: on an interrupt its iterator cancels the pending futures, and Python 3.11's
            # pool, its workers then killed, fails on them (InvalidStateError, a traceback on stderr)
            parts = (future.result() for future in [pool.submit(_worker_reduce, chunk) for chunk in todo])
        else:
            parts = (_reduce(rs, tables, chunk) for chunk in todo)
        for done, part in enumerate(parts, 1):
            total.absorb(part)
            if progress is not None:
                progress(done / len(todo))
    return total
