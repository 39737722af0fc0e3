"""Freed memory goes back to the system (bot/memory.py), so RSS follows what the bot holds."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot import memory
from bot.memory import can_give_back, give_back, keep_giving_back, resident_bytes
from tests.conftest import eventually

MIB = 2**20

glibc_only = pytest.mark.skipif(not can_give_back(), reason="the C library has no malloc_trim (not glibc)")


@glibc_only
def test_memory_freed_in_the_middle_of_the_heap_leaves_the_process() -> None:
    # 80 MiB in blocks of 4,000 bytes, each from malloc (Python's own allocator takes only up to
    # 512 bytes); one block in a hundred stays, so malloc cannot return the freed memory by itself.
    blocks = [bytearray(4000) for _ in range(20_000)]
    for block in blocks:
        block[::1000] = b"xxxx"  # written: resident, not just reserved
    kept = blocks[::100]
    before_free = resident_bytes()
    del blocks
    freed = resident_bytes()
    assert freed > before_free - 10 * MIB, "malloc kept the freed blocks (the case give_back is for)"

    returned = give_back()

    after = resident_bytes()
    assert returned >= 50 * MIB
    assert after <= freed - 50 * MIB
    assert len(kept) == 200


@glibc_only
async def test_the_process_gives_back_at_each_interval_and_reports_each_time() -> None:
    returns: list[int] = []
    started = time.monotonic()
    task = asyncio.create_task(keep_giving_back(0.05, returns.append))
    await eventually(lambda: len(returns) >= 3)  # each round also collects garbage: slow in a big test process
    task.cancel()
    assert len(returns) <= (time.monotonic() - started) / 0.05 + 1  # not more often than every 0.05 s
    assert all(amount >= 0 for amount in returns)


async def test_an_interval_of_0_or_a_c_library_without_malloc_trim_gives_nothing_back(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    returns: list[int] = []
    await asyncio.wait_for(keep_giving_back(0, returns.append), 1)  # returns at once: never
    monkeypatch.setattr(memory, "_malloc_trim", None)  # as on musl or macOS
    await asyncio.wait_for(keep_giving_back(0.05, returns.append), 1)
    assert returns == [] and give_back() == 0 and not can_give_back()
