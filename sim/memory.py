"""How glibc's allocator keeps and gives back the memory numpy frees (a no-op under any other C library)."""
from __future__ import annotations

import ctypes


def _libc() -> ctypes.CDLL | None:
    """glibc, if this process runs on it."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if all(hasattr(libc, f) for f in ("mallopt", "malloc_trim")) else None


def keep_freed_memory() -> None:
    """Ask glibc's allocator to keep freed large blocks for reuse instead of returning them to the system.

    By default a block over 128 KiB is mapped afresh and unmapped when freed (the threshold
    adapts, but trimming keeps giving memory back), so each chunk's numpy arrays touch new
    pages: a 10^6-device run took 1.5 million page faults and 5.4 s of system time on the
    project's VM, against 62,000 and 0.6 s with this (docs/performance.md). Peak memory is
    unchanged.
    """
    libc = _libc()
    if libc is None:
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    libc.mallopt(m_mmap_threshold, 32 << 20)  # the largest glibc accepts
    libc.mallopt(m_trim_threshold, 1 << 30)


def give_back_freed_memory() -> None:
    """Return the freed blocks glibc keeps (:func:`keep_freed_memory`) to the system, for a long run that will not
    reuse them: a large closed loop's set-up frees its per-block columns (under 32 MiB each, so kept) and then
    grows only large, separately mapped buffers. Storm behind the MME at 10^5 phones: 659 MB at the loop's start
    before, 542 MB after; peak 1,074 MB against 971 MB. Memory given back is faulted in again when next used
    (about 3.6 µs a page on the project's VM), so small runs, which reuse it at once, keep it."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
