"""Giving freed memory back to the system.

glibc's malloc keeps the memory a program frees, to reuse it; it returns only the free end of
each heap. The bot frees many small blocks in the middle of its heap (one heap for all its
threads, see `share_one_heap`): a reply's rows, a tick's prices, a page of SQLite's cache. That
free memory stays counted in the process's RSS, which then creeps up by a few MiB an hour though
nothing is kept (measured with benchmarks/memory.py: malloc's free bytes grew 4.0 -> 7.1 MiB in
10 minutes while the bytes in use grew 0.7 MiB). `malloc_trim(0)` hands every free page of every
heap back (madvise), so RSS follows what the process really holds. It costs about a millisecond
(17 ms when it returns 190 MiB). Where the C library has no `malloc_trim` (musl, macOS),
nothing is done.

No import from the rest of the bot: the chart-drawing process uses it too.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import os
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def c_function(name: str) -> Any:
    """A function of the C library this process already uses, or None where it has no such name."""
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):  # not there: not glibc
        return None


def _find_malloc_trim() -> Callable[[int], int] | None:
    trim = c_function("malloc_trim")
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_malloc_trim = _find_malloc_trim()

M_ARENA_MAX = -8  # mallopt's parameter for the number of heaps (glibc's malloc.h)


def share_one_heap() -> bool:
    """Makes every thread allocate from the one main heap; call it before any thread starts.

    By default glibc gives each thread that allocates a heap of its own (up to 8 per core): here
    aiosqlite's connection threads, asyncio's executor, multiprocessing's feeder. What a thread
    frees stays in its heap, for that thread alone, until the next hand-back: a connection that
    read a page of alerts keeps that memory while the next query runs on another connection and
    takes fresh pages. Between two hand-backs RSS holds every thread's own high-water mark, which
    creeps up as each thread meets a bigger query (SQLite, five connection threads: +1.3 to
    +2.1 MiB over the last 20 minutes of benchmarks/memory.py). With one heap, what one thread
    frees serves the next. Most small requests still take no lock: each thread keeps its own
    cache of small free blocks (tcache). An operator's own choice (`MALLOC_ARENA_MAX`, or
    `arena_max` in `GLIBC_TUNABLES`) is left alone; where the C library has no `mallopt` (not
    glibc), nothing changes."""
    if "MALLOC_ARENA_MAX" in os.environ or "arena_max" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    mallopt = c_function("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt(M_ARENA_MAX, 1) == 1


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


def settle_start_up() -> None:
    """Once started: collects start-up's garbage, then freezes what is left (modules, classes,
    handlers: about 100,000 objects, alive for the life of the process) out of the cycle
    collector's sight. Python runs a full collection only when the objects that survived since
    the last one reach a quarter of those it already holds; counting start-up's objects, cyclic
    garbage (exceptions with their frames, finished tasks) piles up by tens of thousands between
    two full collections, and the memory of such peaks stays fragmented. Frozen, each full
    collection walks only what came after start-up: 50 ms becomes well under one."""
    gc.collect()
    gc.freeze()


async def keep_giving_back(every: float, returned: Callable[[int], object]) -> None:
    """Every `every` seconds for the life of the process: collects cyclic garbage (on the event
    loop, where it must run; a few ms once start-up is frozen), then gives the free pages back
    off the event loop (a large return takes a few ms), reporting each return to `returned`."""
    if _malloc_trim is None or every <= 0:
        log.debug("freed memory is left to malloc (no malloc_trim, or MEMORY_TRIM_INTERVAL=0)")
        return
    while True:
        await asyncio.sleep(every)
        started = time.perf_counter()
        gc.collect()
        collected = time.perf_counter()
        amount = await asyncio.to_thread(give_back)
        returned(amount)
        log.debug("collected garbage in %.1f ms, gave %.1f MiB back to the system in %.1f ms",
                  (collected - started) * 1000, amount / 2**20, (time.perf_counter() - collected) * 1000)
