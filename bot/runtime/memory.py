"""Giving freed memory back to the system, once a minute.

glibc's malloc keeps the memory a program frees, to reuse it; it returns only the free end of
each heap. Over hours the bot frees many small blocks in the middle of its heaps (one per
SQLite connection's thread, besides the main one): a reply's rows, a tick's prices, a page of
SQLite's cache. That free memory stays counted in the process's RSS, which then creeps up by
a few MiB an hour though nothing is kept (measured with benchmarks/memory.py: malloc's free
bytes grew 4.0 -> 7.1 MiB in 10 minutes while the bytes in use grew 0.7 MiB).
`malloc_trim(0)` hands every free page of every heap back (madvise), so RSS follows what the
bot really holds. It costs about a millisecond. Where the C library has no `malloc_trim`
(musl, macOS), nothing is done.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import os
import time
from collections.abc import Callable

from bot.metrics import MEMORY_RETURNED

log = logging.getLogger(__name__)

GIVE_BACK_EVERY = 60.0  # seconds
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _find_malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
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
    returned = max(0, before - resident_bytes())
    MEMORY_RETURNED.inc(returned)
    return returned


async def keep_giving_back(every: float = GIVE_BACK_EVERY) -> None:
    """Runs for the life of the process (every role: a standby frees memory too)."""
    if _malloc_trim is None:
        log.debug("no malloc_trim in this C library: freed memory is left to malloc")
        return
    while True:
        await asyncio.sleep(every)
        started = time.perf_counter()
        returned = give_back()
        log.debug("gave %.1f MiB of freed memory back to the system in %.1f ms",
                  returned / 2**20, (time.perf_counter() - started) * 1000)
