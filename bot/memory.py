"""Giving freed memory back to the system.

glibc's malloc keeps the memory a program frees, to reuse it; it returns only the free end of
each heap. The bot frees many small blocks in the middle of its heaps (there is one heap per
thread that allocates: asyncio's executor, aiosqlite's connection threads, besides the main
one): a reply's rows, a tick's prices, a page of SQLite's cache. That free memory stays counted
in the process's RSS, which then creeps up by a few MiB an hour though nothing is kept
(measured with benchmarks/memory.py: malloc's free bytes grew 4.0 -> 7.1 MiB in 10 minutes
while the bytes in use grew 0.7 MiB). `malloc_trim(0)` hands every free page of every heap
back (madvise), so RSS follows what the process really holds. It costs about a millisecond
(17 ms when it returns 190 MiB). Where the C library has no `malloc_trim` (musl, macOS),
nothing is done.

No import from the rest of the bot: the chart-drawing process uses it too.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _find_malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library this process already uses
    except (OSError, AttributeError):  # no such symbol: not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_malloc_trim = _find_malloc_trim()


def resident_bytes() -> int:
    """This process's resident memory (RSS), or 0 where /proc is not there."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def can_give_back() -> bool:
    return _malloc_trim is not None


def give_back() -> int:
    """Returns the free pages of every malloc heap to the system; the bytes RSS went down by."""
    if _malloc_trim is None:
        return 0
    before = resident_bytes()
    _malloc_trim(0)
    return max(0, before - resident_bytes())


async def keep_giving_back(every: float, returned: Callable[[int], object]) -> None:
    """Gives memory back every `every` seconds for the life of the process, reporting each
    return to `returned` (a metric). Off the event loop: a large return takes a few ms."""
    if _malloc_trim is None or every <= 0:
        log.debug("freed memory is left to malloc (no malloc_trim, or MEMORY_TRIM_INTERVAL=0)")
        return
    while True:
        await asyncio.sleep(every)
        started = time.perf_counter()
        amount = await asyncio.to_thread(give_back)
        returned(amount)
        log.debug("gave %.1f MiB of freed memory back to the system in %.1f ms",
                  amount / 2**20, (time.perf_counter() - started) * 1000)
