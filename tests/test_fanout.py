"""Many chats' alerts firing in one tick: delivered at Telegram's limit without a 429, and past it
when the operator pays, never losing or repeating a message when the paying stops."""

from __future__ import annotations

import bisect
import logging
import statistics
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from bot.crossing import Direction
from bot.storage.db import make_engine, make_sessions
from bot.storage.models import OutboxMessage, OutboxState
from bot.storage.store import AlertStore
from tests.conftest import bot_settings, eventually, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram, Sent

CHATS = 150  # five seconds at 30 a second: enough seconds to see the rate, short enough for CI


async def alerts_for(database_url: str, chats: list[int]) -> None:
    engine = make_engine(database_url)
    store = AlertStore(make_sessions(engine))
    for chat in chats:
        await store.create_alert(chat, "BTCUSDT", Direction.UP, Decimal("65000"), f"chat {chat}")
    await engine.dispose()


def alerts(telegram: FakeTelegram) -> list[Sent]:
    return [m for m in telegram.sent if "🔔" in m.plain]


def per_second_counts(messages: list[Sent]) -> list[int]:
    """At each message after the first 30, how many arrived within the second before it (itself included)."""
    times = sorted(m.at for m in messages)
    return [i - bisect.bisect_left(times, t - 1.0) + 1 for i, t in enumerate(times)][30:]


async def fire(exchange: FakeExchange, telegram: FakeTelegram, chats: list[int], timeout: float = 60) -> list[Sent]:
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 1)
    exchange.set_price("BTCUSDT", "65000.00")
    await eventually(lambda: {m.chat_id for m in alerts(telegram)} >= set(chats), timeout)
    return alerts(telegram)


async def settled(database_url: str) -> list[OutboxMessage]:
    engine = make_engine(database_url)
    async with make_sessions(engine)() as session:
        rows = list((await session.scalars(select(OutboxMessage))).all())
    await engine.dispose()
    return rows


@pytest.fixture
async def many_chats(database_url: str, exchange: FakeExchange) -> list[int]:
    chats = [*range(1, CHATS - 9), *range(-10, 0)]  # some groups among them
    await alerts_for(database_url, chats)
    exchange.set_price("BTCUSDT", "64000.00")
    return chats


@pytest.fixture
async def free_bot(many_chats: list[int], database_url: str, exchange: FakeExchange,
                   telegram: FakeTelegram) -> AsyncIterator[None]:
    application = await start_bot(bot_settings(database_url, exchange, telegram))
    yield
    await stop_bot(application)


@pytest.fixture
async def paying_bot(many_chats: list[int], database_url: str, exchange: FakeExchange,
                     telegram: FakeTelegram) -> AsyncIterator[None]:
    application = await start_bot(bot_settings(database_url, exchange, telegram, paid_broadcast=True))
    yield
    await stop_bot(application)


async def test_many_chats_get_30_messages_a_second_without_a_single_429(
    free_bot: None, many_chats: list[int], exchange: FakeExchange, telegram: FakeTelegram,
) -> None:
    received = await fire(exchange, telegram, many_chats)
    assert sorted(m.chat_id for m in received) == sorted(many_chats)  # each once
    assert [r for r in telegram.rejected if r[1] == 429] == []
    assert telegram.busiest_second(received) <= 30
    # Every second is used: the seconds carry 29 or 30 (a spacing of 1/28 s carried 28 at most).
    assert statistics.median(per_second_counts(received)) >= 29
    assert not any(m.paid for m in received)


async def test_a_429_stops_every_send_for_the_seconds_telegram_asks(
    free_bot: None, many_chats: list[int], exchange: FakeExchange, telegram: FakeTelegram,
) -> None:
    telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2)
    received = await fire(exchange, telegram, many_chats)
    [refused_at] = [at for at, (method, status, _) in zip(telegram.rejected_at, telegram.rejected) if status == 429]
    # Only what was already on its way when Telegram answered arrives in the next two seconds:
    # nothing is started until they are over, for any chat, not only the refused one.
    after = [m.at - refused_at for m in received if m.at > refused_at]
    assert all(delay < 0.1 or delay >= 2.0 for delay in after) and max(after) >= 2.0
    assert sorted(m.chat_id for m in received) == sorted(many_chats)


async def test_paid_broadcast_pays_only_for_what_the_free_rate_cannot_carry(
    paying_bot: None, many_chats: list[int], exchange: FakeExchange, telegram: FakeTelegram,
) -> None:
    telegram.stars = Decimal(1000)
    paid_before = REGISTRY.get_sample_value("pricealert_messages_paid_total") or 0.0
    started = time.time()
    received = await fire(exchange, telegram, many_chats)
    assert sorted(m.chat_id for m in received) == sorted(many_chats)
    assert [r for r in telegram.rejected if r[1] == 429] == []
    paid = [m for m in received if m.paid]
    assert 0 < len(paid) <= len(received) - 30  # the first 30 of the second were free
    assert telegram.busiest_second(received) > 30  # past the free rate
    assert max(m.at for m in received) - started < 4.0  # 150 messages: five seconds free
    assert telegram.stars_spent == Decimal("0.1") * sum(m.charged for m in received)
    # counted once the bot has the answer, a moment after the fake recorded the message
    await eventually(lambda: REGISTRY.get_sample_value("pricealert_messages_paid_total") - paid_before == len(paid))


async def test_when_the_stars_run_out_the_bot_says_so_once_and_sends_the_rest_free(
    paying_bot: None, many_chats: list[int], exchange: FakeExchange, telegram: FakeTelegram,
    database_url: str, caplog: pytest.LogCaptureFixture,
) -> None:
    telegram.stars = Decimal("2.0")  # twenty paid messages
    with caplog.at_level(logging.WARNING, logger="bot.notify.sender"):
        received = await fire(exchange, telegram, many_chats)
    assert sorted(m.chat_id for m in received) == sorted(many_chats)  # none lost, none twice
    assert telegram.stars == 0 and telegram.stars_spent == Decimal("2.0")
    assert ("sendMessage", 400, "Bad Request: BALANCE_TOO_LOW") in telegram.rejected
    assert [r for r in telegram.rejected if r[1] == 429] == []
    refusals = [r for r in caplog.records if "refused a paid broadcast" in r.getMessage()]
    assert len(refusals) == 1 and "balance_too_low" in refusals[0].getMessage().lower()
    last_paid = max(m.at for m in received if m.paid)
    assert not any(m.paid for m in received if m.at > last_paid)  # free from then on
    rows = await settled(database_url)
    assert sorted(r.state.value for r in rows) == ["sent"] * len(many_chats)
