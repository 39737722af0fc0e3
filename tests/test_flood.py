"""One chat cannot starve the others: COMMANDS_PER_MINUTE per chat, one "slow down", then silence."""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import given, settings, strategies as st

from bot.limits import CommandLimiter, Verdict
from tests.conftest import bot_settings, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

FLOODER, OTHER, ADMIN = 1001, 1002, 1003


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_chat_gets_its_limit_then_one_warning_then_nothing() -> None:
    limiter = CommandLimiter(3, clock=Clock())
    assert [limiter.check(1) for _ in range(6)] == [Verdict.PASS] * 3 + [Verdict.WARN] + [Verdict.DROP] * 2


def test_other_chats_are_not_counted_together() -> None:
    limiter = CommandLimiter(2, clock=Clock())
    assert [limiter.check(1), limiter.check(1), limiter.check(1)] == [Verdict.PASS, Verdict.PASS, Verdict.WARN]
    assert [limiter.check(2), limiter.check(2)] == [Verdict.PASS, Verdict.PASS]


def test_the_next_minute_starts_afresh() -> None:
    clock = Clock()
    limiter = CommandLimiter(1, clock=clock)
    assert [limiter.check(1), limiter.check(1), limiter.check(1)] == [Verdict.PASS, Verdict.WARN, Verdict.DROP]
    clock.now += 59.9
    assert limiter.check(1) is Verdict.DROP
    clock.now += 0.1
    assert [limiter.check(1), limiter.check(1)] == [Verdict.PASS, Verdict.WARN]


def test_memory_is_bounded_by_the_cap_and_by_expiry() -> None:
    clock = Clock()
    limiter = CommandLimiter(5, max_tracked=100, clock=clock)
    for chat in range(1000):
        limiter.check(chat)
        assert len(limiter) <= 100
    clock.now += 61
    limiter.check(5000)
    assert len(limiter) == 1  # every other window was over, and is forgotten


def expected(events: list[tuple[int, float]], limit: int) -> list[Verdict]:
    """The rule, written plainly: a window opens at a chat's first command and lasts 60 s; in it
    the first `limit` pass, the next is warned, the rest are dropped."""
    windows: dict[int, list] = {}
    verdicts, now = [], 1000.0
    for chat, step in events:
        now += step
        window = windows.get(chat)
        if window is None or now - window[0] >= 60:
            window = windows[chat] = [now, 0]
        window[1] += 1
        verdicts.append(Verdict.PASS if window[1] <= limit else Verdict.WARN if window[1] == limit + 1 else Verdict.DROP)
    return verdicts


events_strategy = st.lists(st.tuples(st.integers(0, 5), st.floats(0, 30, allow_nan=False)), max_size=300)


@settings(max_examples=200, deadline=None)
@given(events_strategy, st.integers(1, 10))
def test_the_limiter_follows_the_rule(events: list[tuple[int, float]], limit: int) -> None:
    clock = Clock()
    limiter = CommandLimiter(limit, clock=clock)
    verdicts = []
    for chat, step in events:
        clock.now += step
        verdicts.append(limiter.check(chat))
    assert verdicts == expected(events, limit)


@settings(max_examples=100, deadline=None)
@given(events_strategy, st.integers(1, 10), st.integers(1, 4))
def test_the_cap_bounds_memory_and_a_forgotten_chat_starts_a_fresh_window(
    events: list[tuple[int, float]], limit: int, cap: int,
) -> None:
    clock = Clock()
    limiter = CommandLimiter(limit, max_tracked=cap, clock=clock)
    for chat, step in events:
        clock.now += step
        tracked = chat in limiter._chats
        verdict = limiter.check(chat)
        assert len(limiter) <= cap
        if not tracked:
            assert verdict is Verdict.PASS  # forgetting is only ever in the chat's favour


async def test_one_flooding_chat_does_not_delay_another(bot, telegram: FakeTelegram) -> None:
    await asyncio.gather(*(telegram.user_sends(FLOODER, "/help") for _ in range(150)))
    async with telegram._changed:  # 21 answers out: without the guard, 129 more would be queued ahead of OTHER
        await asyncio.wait_for(telegram._changed.wait_for(lambda: len(telegram.messages_to(FLOODER)) >= 21), 10)
    asked = time.monotonic()
    await telegram.user_sends(OTHER, "/help")
    await telegram.wait_for_message(OTHER, "Commands", timeout=5)
    assert time.monotonic() - asked < 1.0
    answers = telegram.messages_to(FLOODER)
    assert len([m for m in answers if "Commands" in m.plain]) == 20
    assert len([m for m in answers if "slow" in m.plain]) == 1
    assert not [r for r in telegram.rejected if r[1] == 429]


async def test_presses_count_too_and_get_one_short_answer(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    await telegram.user_sends(FLOODER, "/language")
    menu = await telegram.wait_for_message(FLOODER, "Choose the language")
    queries = [await telegram.press_button(menu, menu.buttons()[0]["callback_data"]) for _ in range(25)]
    answers = [await telegram.wait_for_answer(q) for q in queries[:19]]
    assert all("English" in a for a in answers)
    assert "wait a minute" in await telegram.wait_for_answer(queries[19])
    await telegram.user_sends(FLOODER, "/help")  # still within the minute: ignored
    await telegram.user_sends(OTHER, "/help")
    await telegram.wait_for_message(OTHER, "Commands")
    assert not [m for m in telegram.messages_to(FLOODER) if "Commands" in m.plain]
    assert set(queries[20:]).isdisjoint(telegram.callback_answers)


@pytest.fixture
async def bot_with_admin(database_url: str, exchange: FakeExchange, telegram: FakeTelegram):
    application = await start_bot(bot_settings(database_url, exchange, telegram, admin_ids=str(ADMIN),
                                               commands_per_minute=5))
    yield application
    await stop_bot(application)


async def test_admins_are_not_limited(bot_with_admin, telegram: FakeTelegram) -> None:
    for _ in range(8):
        await telegram.user_sends(ADMIN, "/help")
        await telegram.user_sends(FLOODER, "/help")
    await telegram.wait_for_message(FLOODER, "slow")
    async with telegram._changed:
        await asyncio.wait_for(telegram._changed.wait_for(
            lambda: len(telegram.messages_to(ADMIN)) == 8 and len(telegram.messages_to(FLOODER)) >= 6), 10)
    await telegram.user_sends(OTHER, "/help")  # answered after anything the flooder's commands could cause
    await telegram.wait_for_message(OTHER, "Commands")
    assert len(telegram.messages_to(FLOODER)) == 6  # five answers and one "slow down"
    assert len(telegram.messages_to(ADMIN)) == 8
