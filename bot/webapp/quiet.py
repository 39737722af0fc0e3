"""The Mini App keeps quiet while a tick runs (issue 23, point 5).

The tick and the app's API share one event loop and one database. A tick announces itself
(`quiet.around(ticker.tick)`); meanwhile the API's requests hold back their database work
(`await quiet.wait()`) and carry on when the tick is done, so 200 open apps polling do not stretch
the ticks. The wait is bounded: a tick stuck on the exchange never keeps a page waiting longer
than `max_wait` seconds, and no request is dropped, only answered a little later.

Built once by the composition root (bot.runtime.compose) and handed to both sides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

# The tick a request (one aiohttp task) has already waited for: it waits once per tick, so the wait
# at its start and the one at the database gate together stay within `max_wait`.
_waited_for: ContextVar[int] = ContextVar("quiet_waited_for", default=0)


class TickQuiet:
    def __init__(self, max_wait: float) -> None:
        self.max_wait = max_wait
        self._idle = asyncio.Event()
        self._idle.set()
        self._tick = 0  # the number of the tick in progress, or of the last one

    @property
    def ticking(self) -> bool:
        return not self._idle.is_set()

    def around(self, work: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
        """`work` (the tick) announced: the API holds back until it returns or raises."""
        async def announced() -> T:
            self._tick += 1
            self._idle.clear()
            try:
                return await work()
            finally:
                self._idle.set()
        return announced

    async def wait(self) -> None:
        """Returns at once between ticks; during one, when it ends or after `max_wait` seconds, once
        per request and tick (a request that already waited for this tick goes on)."""
        if self._idle.is_set() or _waited_for.get() == self._tick:
            return
        _waited_for.set(self._tick)
        try:
            await asyncio.wait_for(self._idle.wait(), self.max_wait)
        except asyncio.TimeoutError:
            pass  # a long tick: the page is answered anyway
