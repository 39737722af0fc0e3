"""Freed memory goes back to the system (bot/memory.py), so RSS follows what the bot holds."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot import memory
from bot.memory import can_give_back, give_back, keep_giving_back, resident_bytes
from tests.conftest import ROOT, eventually
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram
from tests.processes import WORKING_LINE, spawn, thread_heaps

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


# Four threads that live on, as aiosqlite's connection threads do, each in turn allocating and
# freeing 10 MB of blocks from malloc: how much the process grows. Run in a fresh interpreter,
# because the heaps must be set before the first thread starts.
THREADS_IN_TURN = '''
import os, sys, threading
from bot.memory import resident_bytes, share_one_heap
from tests.processes import thread_heaps
if sys.argv[1] == "one heap":
    assert share_one_heap()
big = bytearray(8 * 2**20)  # a big reply, freed: malloc keeps up to twice that much free memory
del big
def burst():
    blocks = [bytearray(4000) for _ in range(2500)]  # over 512 bytes: from malloc, not pymalloc
    for block in blocks:
        block[::1000] = b"xxxx"
    blocks.reverse()
    while blocks:
        blocks.pop()
turns = [threading.Event() for _ in range(4)]
finished = [threading.Event() for _ in range(4)]
def connection(n):
    turns[n].wait()
    burst()
    finished[n].set()
threads = [threading.Thread(target=connection, args=(n,)) for n in range(4)]
for thread in threads:
    thread.start()
before = resident_bytes()
for n in range(4):
    turns[n].set()
    finished[n].wait()
print(resident_bytes() - before, len(thread_heaps(os.getpid())))
for thread in threads:
    thread.join()
'''


def growth_with(heaps: str) -> tuple[int, int]:
    """The process's growth in bytes, and how many thread heaps `thread_heaps` saw in it."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    env["PYTHONPATH"] = ROOT  # glibc's defaults, whatever the shell running the tests set
    done = subprocess.run([sys.executable, "-c", THREADS_IN_TURN, heaps], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    growth, thread_heaps_seen = done.stdout.split()
    return int(growth), int(thread_heaps_seen)


@glibc_only
def test_memory_one_thread_freed_serves_the_next_thread() -> None:
    growth, heaps = growth_with("one heap")
    assert growth < 15 * MIB and heaps == 0  # one burst's 10 MB, reused by each thread in turn
    growth, heaps = growth_with("a heap per thread")
    assert growth > 30 * MIB and heaps >= 4  # glibc's default: each thread keeps its own


@glibc_only
async def test_the_running_bot_allocates_from_one_heap_in_all_its_threads(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str
) -> None:
    process = await spawn(tmp_path, "bot", telegram, exchange, database_url)
    try:
        await process.wait_for_line(WORKING_LINE)
        for chat in range(6001, 6011):  # commands at once: several connection threads at work
            await telegram.user_sends(chat, "/alert BTCUSDT 99999")
        for chat in range(6001, 6011):
            await telegram.wait_for_message(chat, "✅", timeout=30)
        heaps = thread_heaps(process.pid)
    finally:
        await process.stop()
    assert heaps == []


@glibc_only
@pytest.mark.parametrize("setting", [{"MALLOC_ARENA_MAX": "4"}, {"GLIBC_TUNABLES": "glibc.malloc.arena_max=4"}])
def test_an_operators_own_heap_setting_is_left_alone(setting: dict[str, str]) -> None:
    env = {**os.environ, "PYTHONPATH": ROOT, **setting}
    done = subprocess.run([sys.executable, "-c", "from bot.memory import share_one_heap; print(share_one_heap())"],
                          env=env, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["False"]
