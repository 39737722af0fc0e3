"""The pacer's windows: never more than Telegram allows in any stretch of Telegram's own clock,
whatever the network's delay, and no slot left unused for longer than that delay."""

from __future__ import annotations

import asyncio
import bisect
from datetime import timedelta

import pytest
from hypothesis import given, settings, strategies as st
from telegram.error import RetryAfter

from bot.notify.pacing import MARGIN, Pacer, SlidingWindow


def busiest(stamps: list[float], period: float) -> int:
    """The most stamps within any `period` (both ends included, as the fake counts)."""
    stamps = sorted(stamps)
    return max((bisect.bisect_right(stamps, t + period) - i for i, t in enumerate(stamps)), default=0)


@settings(max_examples=200, deadline=None)
@given(
    latencies=st.lists(st.floats(min_value=0.0, max_value=0.3), min_size=1, max_size=200),
    arrival=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=200, max_size=200),
)
def test_no_second_of_the_servers_clock_holds_more_than_the_limit(latencies: list[float], arrival: list[float]) -> None:
    """Sends start as soon as the window allows, one at a time; Telegram stamps each anywhere
    between its start and its answer. Any stretch of one second holds at most 30 stamps."""
    window, now, stamps = SlidingWindow(1.0), 0.0, []
    in_flight: list[tuple[float, float]] = []  # (answer time, server stamp)
    for latency, where in zip(latencies, arrival):
        while (delay := window.wait(now, 30)) != 0.0:
            if delay is None or (in_flight and min(in_flight)[0] <= now + delay):
                answered, _ = in_flight.pop(in_flight.index(min(in_flight)))
                now = max(now, answered)
                window.finish(answered)
            else:
                now += delay
        window.start()
        in_flight.append((now + latency, now + where * latency))
        stamps.append(now + where * latency)
    assert busiest(stamps, 1.0) <= 30


@pytest.mark.parametrize("latency, at_least", [(0.0, 29.9), (0.01, 29.6), (0.05, 28.5)])
def test_the_window_costs_only_the_networks_delay(latency: float, at_least: float) -> None:
    """With answers after `latency`, a sliding second carries 30 / (1 + latency) messages."""
    window, now, starts = SlidingWindow(1.0), 0.0, []
    for _ in range(300):
        delay = window.wait(now, 30)
        if delay is None:  # 30 in flight: the oldest answers
            raise AssertionError("sends are answered one by one here; never 30 in flight")
        now += delay
        window.start()
        window.finish(now + latency)  # answered; the next may start before it (in flight)
        starts.append(now)
    rate = (len(starts) - 30) / (starts[-1] - starts[0])
    assert rate >= at_least


def test_a_full_window_of_sends_in_flight_waits_for_an_answer() -> None:
    window = SlidingWindow(1.0)
    for _ in range(30):
        assert window.wait(0.0, 30) == 0.0
        window.start()
    assert window.wait(0.0, 30) is None
    window.finish(0.2)
    assert window.wait(0.5, 30) == pytest.approx(0.2 + 1.0 + MARGIN - 0.5)
    assert window.wait(1.3, 30) == 0.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_group_gets_20_messages_a_minute_and_other_chats_are_not_held_up() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    for _ in range(20):
        clock.now += 0.04  # free messages are spaced 1/30 s apart
        (await asyncio.wait_for(pacer.reserve(-100), 1)).finish()
    waiting = asyncio.create_task(pacer.reserve(-100))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # the 21st waits for the first to leave the minute
    clock.now += 0.04
    other = await asyncio.wait_for(pacer.reserve(42), 1)  # a private chat goes meanwhile
    other.finish()
    clock.now += 60.0 + 2 * MARGIN
    pacer._wake()  # noqa: SLF001 - the clock jumped; a real one wakes the waiter by its timer
    (await asyncio.wait_for(waiting, 1)).finish()


async def test_a_retry_after_holds_every_send_for_the_seconds_telegram_asks() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    pacer.obey(RetryAfter(timedelta(seconds=3)))
    waiting = asyncio.create_task(pacer.reserve(42))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    clock.now += 3.0
    pacer._wake()  # noqa: SLF001
    (await asyncio.wait_for(waiting, 1)).finish()


async def test_paid_slots_are_taken_only_when_the_free_rate_is_full() -> None:
    pacer = Pacer(clock=Clock())
    slots = [await pacer.reserve(chat, paid_ok=True) for chat in range(1, 101)]
    assert [s.paid for s in slots] == [False] * 30 + [True] * 70
    without = asyncio.create_task(pacer.reserve(1000))
    await asyncio.sleep(0.05)
    assert not without.done()  # not allowed to pay: waits for the free rate
    without.cancel()
