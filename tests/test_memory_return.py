"""Freed memory goes back to the system (bot/runtime/memory.py), so RSS follows what the bot holds."""

from __future__ import annotations

import pytest

from bot.runtime.memory import can_give_back, give_back, resident_bytes

MIB = 2**20

pytestmark = pytest.mark.skipif(not can_give_back(), reason="the C library has no malloc_trim (not glibc)")


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


def test_giving_back_with_nothing_freed_changes_nothing_much() -> None:
    give_back()
    assert give_back() < 4 * MIB
