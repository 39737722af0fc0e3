"""Telegram's flood limits, kept exactly as Telegram counts them, for every request the bot makes.

Telegram (Bots FAQ; Bot API "Paid Broadcasts"): about 30 messages a second overall, 20 a minute
in one group, one a second in one chat; with `allow_paid_broadcast` up to 1,000 a second, and
each message over the free 30 a second costs 0.1 Star. Telegram counts a message when it
receives it, which we never see: we only know it happened between the moment we started the
request and the moment its answer arrived. So a message holds its place in a window from its
start until `period` after its answer: then, whatever the network's delay, no `period`-long
stretch of Telegram's clock holds more than `limit` of ours, and none is wasted by guessing a
margin. Free starts are also spaced 1/30 s apart, so that the seconds stay even instead of 30
at once and then nothing: the window, not the spacing, sets the rate. When paying is allowed,
there is no spacing: a message the free window has room for goes free at once, the others paid
(waiting is what the operator pays to avoid).

One window counts every message, free or paid: Telegram's free 30 a second are the first 30 of
whatever was sent, so a message goes free only while fewer than 30 of any kind are within reach.
In a long paid burst that makes every message after the first 30 flagged, of which Telegram
charges all but 30 a second: pricealert_messages_paid_total is what may be charged, at most. (python-telegram-bot's AIORateLimiter, which this replaces, spaces messages 1/28 s
apart from their start: 28 a second at best, 27.1 measured, and a slow answer could still let 31
land in one second on Telegram's side.)

The outbox sender reserves its slots itself (`Pacer.reserve`), so that it knows before sending
whether a message goes free or paid, sends with its own client (bot.notify.transport), finishes
the slot at the answer and calls `obey` on a 429; every other request (command answers, edits)
passes through `process_request`, python-telegram-bot's rate-limiter hook, and waits for a free
slot the same way.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

FREE_PER_SECOND = 30  # Bots FAQ: "not able to broadcast more than about 30 messages per second"
PAID_PER_SECOND = 1000  # Bot API, Paid Broadcasts: "up to 1000 messages per second"
GROUP_PER_MINUTE = 20  # Bots FAQ: "not be able to send more than 20 messages per minute" to one group
# Clocks on both sides tick alike, but a timestamp is a float: a millisecond keeps "more than a
# second apart" true when two of them are a second apart to the last bit.
MARGIN = 0.001
SPACING_CATCH_UP = 5  # messages a late spacing may make up at once


class SlidingWindow:
    """Sends within any `period`-long stretch, as the server counts them. Pure: the caller gives
    the time, so tests drive it without sleeping."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.in_flight = 0
        self._answered: list[float] = []  # when answers arrived, sorted, still within reach

    def used(self, now: float) -> int:
        self._forget(now)
        return self.in_flight + len(self._answered)

    def wait(self, now: float, limit: int) -> float | None:
        """Seconds until one more send keeps every stretch at `limit` or below: 0 now; None when
        only an answer to a send in flight can make room."""
        used = self.used(now)
        if used < limit:
            return 0.0
        must_leave = used - limit  # this many answered sends must leave the window first (then one more)
        if must_leave >= len(self._answered):
            return None
        return max(0.0, self._answered[must_leave] + self.period + MARGIN - now)

    def start(self) -> None:
        self.in_flight += 1

    def finish(self, answered_at: float) -> None:
        self.in_flight -= 1
        bisect.insort(self._answered, answered_at)

    def idle(self, now: float) -> bool:
        return self.used(now) == 0

    def _forget(self, now: float) -> None:
        gone = bisect.bisect_left(self._answered, now - self.period - MARGIN)
        if gone:
            del self._answered[:gone]


@dataclass(eq=False)
class Slot:
    """One message's place in the windows, from its start until its answer (then `period` more)."""

    paid: bool
    group: SlidingWindow | None
    pacer: Pacer
    finished: bool = field(default=False)

    def finish(self) -> None:
        if not self.finished:
            self.finished = True
            self.pacer._finish(self)


def retry_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after is a timedelta from python-telegram-bot 22.2 on, seconds before."""
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Pacer(BaseRateLimiter[Slot]):
    """The bot's one account of what it sent: overall (free and paid), per group, and 429 pauses."""

    def __init__(self, *, per_second: int = FREE_PER_SECOND, paid_per_second: int = PAID_PER_SECOND,
                 group_per_minute: int = GROUP_PER_MINUTE, max_retries: int = 3,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self.paid_per_second = paid_per_second
        self.group_per_minute = group_per_minute
        self.max_retries = max_retries
        self._clock = clock
        self._sent = SlidingWindow(1.0)  # every message, free or paid: the free 30 are counted among all
        self._groups: dict[int | str, SlidingWindow] = {}
        self._paused_until = 0.0
        self._free_next = -1e9  # when the next free message may start, by the spacing's schedule
        self._turn = asyncio.Lock()  # first come, first served: FIFO, so the sender's round order holds
        self._answer = asyncio.Event()  # set (and replaced) whenever a slot is answered or a pause starts

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    @property
    def paused_until(self) -> float:
        return self._paused_until

    async def reserve(self, chat_id: int | str, *, paid_ok: bool = False) -> Slot:
        """Waits for a slot for one message to `chat_id`: a free one when the free rate has room,
        else (when `paid_ok`) a paid one. The caller sends, then calls `slot.finish()`."""
        group = self._group(chat_id)
        while True:
            if group is not None:
                await self._room_in_group(group)  # outside the turn: a full group holds up nobody else
            async with self._turn:
                while True:
                    now = self._clock()
                    if group is not None and group.wait(now, self.group_per_minute) != 0.0:
                        break  # another request to the group took its room meanwhile: wait again
                    delays: list[float | None] = []
                    if self._paused_until > now:
                        delays.append(self._paused_until - now)
                    else:
                        free = self._sent.wait(now, self.per_second)
                        if not paid_ok and free is not None:
                            free = max(free, self._free_next - now, 0.0)
                        if free == 0.0:
                            return self._take(group, paid=False, now=now)
                        delays.append(free)
                        if paid_ok:
                            paid = self._sent.wait(now, self.paid_per_second)
                            if paid == 0.0:
                                return self._take(group, paid=True, now=now)
                            delays.append(paid)
                    await self._until_answer_or(min((d for d in delays if d is not None), default=None))

    def obey(self, exc: RetryAfter) -> float:
        """Telegram said "retry after N": nothing is sent for N seconds, counted from its answer."""
        seconds = retry_seconds(exc)
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        self._wake()
        return seconds

    async def process_request(
        self, callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any, kwargs: dict[str, Any], endpoint: str, data: dict[str, Any], rate_limit_args: Slot | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = data.get("chat_id")
        if chat_id is None:  # getMe, setMyCommands, answerCallbackQuery...: not messages to a chat
            return await callback(*args, **kwargs)
        for attempt in range(self.max_retries + 1):
            slot = await self.reserve(chat_id, paid_ok=bool(data.get("allow_paid_broadcast")))
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = self.obey(exc)
                if attempt == self.max_retries:
                    raise
                log.info("Telegram flood limit on %s: trying again in %g s", endpoint, seconds)
            finally:
                slot.finish()
        raise AssertionError("unreachable")  # the last attempt returned or raised

    # -- inside -------------------------------------------------------------------------------
    def _group(self, chat_id: int | str) -> SlidingWindow | None:
        try:
            chat_id = int(chat_id)
        except (TypeError, ValueError):
            pass  # @channelusername: a channel or supergroup
        if isinstance(chat_id, int) and chat_id > 0:
            return None  # a private chat: one a second, which the sender keeps
        if len(self._groups) > 1000:  # forget groups with nothing in the last minute
            now = self._clock()
            self._groups = {key: window for key, window in self._groups.items() if not window.idle(now)}
        return self._groups.setdefault(chat_id, SlidingWindow(60.0))

    async def _room_in_group(self, group: SlidingWindow) -> None:
        while (delay := group.wait(self._clock(), self.group_per_minute)) != 0.0:
            await self._until_answer_or(delay)

    def _take(self, group: SlidingWindow | None, *, paid: bool, now: float) -> Slot:
        if not paid:
            # The schedule, not the last start: a timer that fires late must not push every later
            # message back too (2 ms late each time would cost a message a second). It may catch
            # up by a few messages; the window still holds any second to 30.
            interval = 1.0 / self.per_second
            self._free_next = max(self._free_next, now - SPACING_CATCH_UP * interval) + interval
        self._sent.start()
        if group is not None:
            group.start()
        return Slot(paid, group, self)

    def _finish(self, slot: Slot) -> None:
        now = self._clock()
        self._sent.finish(now)
        if slot.group is not None:
            slot.group.finish(now)
        self._wake()

    def _wake(self) -> None:
        self._answer.set()
        self._answer = asyncio.Event()

    async def _until_answer_or(self, delay: float | None) -> None:
        answer = self._answer
        try:  # asyncio.timeout, not wait_for: no task for each wait (one per answer in a paid burst)
            async with asyncio.timeout(delay):
                await answer.wait()
        except TimeoutError:
            pass
