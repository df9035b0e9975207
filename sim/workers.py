"""Local worker processes (a ``ProcessPoolExecutor`` on the forkserver) that never outlive the command.

Left to multiprocessing, they do outlive a main process killed by SIGTERM or SIGKILL: a worker
waits on its task queue forever (it holds the queue's write end itself, so it never sees EOF);
the forkserver exits only when every holder of its "alive" pipe (the main process and each
worker) has closed it, and the resource tracker likewise for its pipe (CPython 3.11,
``multiprocessing/forkserver.py`` and ``resource_tracker.py``). So each worker watches the main
process and exits when it ends; the forkserver and the resource tracker then see EOF and exit.
"""
from __future__ import annotations

import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from typing import Any

ORPHANED = 70  # a worker's exit status once the main process is gone (nobody reads it; EX_SOFTWARE)
POLL_S = 1.0  # how often a worker checks on the main process where pidfd_open is missing
STOPS = {signal.SIGINT, signal.SIGTERM}  # the signals that stop a command (sim.cli.main)


@contextmanager
def process_pool(workers: int, preload: str, initializer: Callable[..., object] | None = None,
                 initargs: tuple[Any, ...] = ()) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``workers`` processes forked by a forkserver that has imported ``preload`` (a module).

    The forkserver starts workers from a clean process (never a fork of a threaded one) that has
    already imported the engine. Workers ignore SIGINT: on Ctrl-C the terminal signals the whole
    process group, and the main process stops them itself. Leaving the block normally waits for
    the pool's tasks; leaving it by an exception (KeyboardInterrupt and SIGTERM's included) kills
    the workers first, since ``shutdown(cancel_futures=True)`` still waits for running tasks.
    """
    context = get_context("forkserver")
    context.set_forkserver_preload([preload])
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                               initargs=(os.getpid(), initializer, initargs))
    try:
        with _stops_held():  # else 3.11 forks workers on submit, where a stop may cut in
            pool._launch_processes()  # type: ignore[attr-defined]
        yield pool
    except BaseException:
        _kill_workers(pool)
        raise
    finally:
        pool.shutdown(cancel_futures=True)


@contextmanager
def _stops_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back until the block ends, then act on them.

    A stop arriving while the pool forks a worker would leave that worker unknown to the pool,
    so never killed, printing a traceback once the queues it was about to open are gone (seen).
    A stop waits at most for the forkserver to start (its preload). Blocked, not just deferred:
    the forkserver inherits the mask and its workers with it, so a terminal's Ctrl-C cannot
    interrupt a worker before it ignores SIGINT (:func:`_start_worker`).
    """
    if threading.current_thread() is not threading.main_thread():  # signals are the main thread's
        yield
        return
    caught: list[int] = []
    handlers = {signum: signal.signal(signum, lambda got, _: caught.append(got)) for signum in STOPS}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)  # this thread's only: others can still take one
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        if caught:
            signal.raise_signal(caught[0])


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """SIGKILL every worker of ``pool``, so that its manager thread fails the pending futures and
    ``shutdown`` returns at once."""
    # private attributes: ProcessPoolExecutor has no public way to stop running tasks before
    # Python 3.14's kill_workers(); list(): the manager thread may change the dict meanwhile
    for process in list(pool._processes.values()):  # type: ignore[attr-defined]
        process.kill()
    # A worker killed while sending a result leaves half a message in the result pipe, and the
    # manager thread would wait forever for the rest (seen: shutdown hung). With this process's
    # copy of the write end closed too, once the workers are gone it reads EOF instead and stops.
    pool._result_queue._writer.close()  # type: ignore[attr-defined]


def _start_worker(main_pid: int, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]) -> None:
    """Each worker's first step: ignore Ctrl-C, exit with the main process, then ``initializer``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)  # held back when the forkserver started, inherited
    threading.Thread(target=_exit_with, args=(main_pid,), name="exit-with-main", daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def _exit_with(main_pid: int) -> None:
    """Wait for process ``main_pid`` to end, then end this one (``os._exit``: whatever its main
    thread is doing, and without cleanup that could wait on the dead process)."""
    try:
        fd = os.pidfd_open(main_pid)
    except ProcessLookupError:  # it has already ended
        os._exit(ORPHANED)
    except (AttributeError, OSError):  # no pidfd: not Linux, or a kernel before 5.3
        while _exists(main_pid):
            time.sleep(POLL_S)
    else:
        select.select([fd], [], [])  # a pidfd turns readable when its process ends
    os._exit(ORPHANED)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, another user's (the pid was reused)
        pass
    return True
