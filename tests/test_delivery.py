"""Every crossed threshold reaches its chat exactly once, whatever Telegram answers."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from sqlalchemy import select

from bot.storage.db import make_engine, make_sessions
from bot.storage.models import OutboxMessage, OutboxState
from tests.conftest import bot_settings, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

USER = 1001


async def create_alerts(telegram: FakeTelegram, chat: int, *commands: str) -> None:
    for command in commands:
        before = len(telegram.sent)
        await telegram.user_sends(chat, command)
        await telegram.wait_for_message(chat, "✅", after=before)


def alerts_received(telegram: FakeTelegram, chat: int) -> list[str]:
    return [m.plain for m in telegram.messages_to(chat) if "🔔" in m.plain]


async def outbox(database_url: str) -> list[OutboxMessage]:
    engine = make_engine(database_url)
    async with make_sessions(engine)() as session:
        rows = list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())
    await engine.dispose()
    return rows


async def settled_outbox(database_url: str) -> list[OutboxMessage]:
    """The outbox once nothing is pending: "sent" is committed just after Telegram accepts."""
    for _ in range(100):
        rows = await outbox(database_url)
        if all(r.state is not OutboxState.PENDING for r in rows):
            break
        await asyncio.sleep(0.05)
    return rows


async def test_alerts_of_one_chat_firing_together_arrive_as_one_message(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await create_alerts(telegram, USER, "/alert BTCUSDT 65000 first", "/alert BTCUSDT 65500 second",
                        "/alert BTCUSDT 66000 third")
    exchange.set_price("BTCUSDT", "66000.00")
    message = await telegram.wait_for_message(USER, "🔔")
    assert all(note in message.plain for note in ("first", "second", "third"))
    assert len(alerts_received(telegram, USER)) == 1


async def test_telegram_flood_limit_is_waited_out_and_the_message_arrives_once(
    bot, exchange: FakeExchange, telegram: FakeTelegram, database_url: str
) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await create_alerts(telegram, USER, "/alert BTCUSDT 65000")
    telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    exchange.set_price("BTCUSDT", "65000.00")
    refused_at = time.time()
    message = await telegram.wait_for_message(USER, "🔔")
    assert message.at - refused_at >= 1.0
    assert [r[1] for r in telegram.rejected] == [429]
    assert len(alerts_received(telegram, USER)) == 1
    [row] = await settled_outbox(database_url)
    assert (row.state, row.telegram_message_id) == (OutboxState.SENT, message.message_id)


async def test_server_errors_are_retried_with_backoff(bot, exchange: FakeExchange, telegram: FakeTelegram, database_url: str) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await create_alerts(telegram, USER, "/alert BTCUSDT 65000")
    telegram.fail_next("sendMessage", 502, "Bad Gateway")
    telegram.fail_next("sendMessage", 500, "Internal Server Error")
    exchange.set_price("BTCUSDT", "65000.00")
    await telegram.wait_for_message(USER, "🔔", timeout=15)
    failures = [t for (m, _), t in zip(telegram.calls, range(len(telegram.calls))) if m == "sendMessage"]
    assert len(alerts_received(telegram, USER)) == 1 and len(failures) >= 3
    [row] = await settled_outbox(database_url)
    assert row.state is OutboxState.SENT and row.attempts == 3


async def test_a_blocked_chat_is_paused_and_start_brings_it_back(bot, exchange: FakeExchange, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await create_alerts(telegram, USER, "/alert BTCUSDT 65000", "/alert BTCUSDT 70000 later")
    await create_alerts(telegram, 2002, "/alert ETHUSDT 19999")  # another chat keeps ticks polling
    telegram.blocked_chats.add(USER)
    with caplog.at_level(logging.WARNING):
        exchange.set_price("BTCUSDT", "65000.00")
        while "refuses messages" not in caplog.text:
            await asyncio.sleep(0.05)
    assert "1 alerts paused, 1 messages dropped" in caplog.text
    exchange.set_price("BTCUSDT", "70000.00")  # the paused alert does not fire while blocked
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 2)
    assert [r for r in telegram.rejected if r[1] == 403] == [("sendMessage", 403, "Forbidden: bot was blocked by the user")]

    telegram.blocked_chats.discard(USER)
    await telegram.user_sends(USER, "/start")
    back = (await telegram.wait_for_message(USER, "Welcome back")).plain
    assert "1 paused alert is watching again" in back
    assert "#2 BTCUSDT rises to ≥ 70000 · now 70000.00" in back  # reached while blocked: waits for a crossing
    exchange.set_price("BTCUSDT", "69000.00")
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 2)
    exchange.set_price("BTCUSDT", "70000.00")
    fired = await telegram.wait_for_message(USER, "🔔")
    assert "later" in fired.plain


async def test_a_message_telegram_refuses_is_dropped_without_blocking_others(bot, exchange: FakeExchange, telegram: FakeTelegram, database_url: str) -> None:
    other = 2002
    exchange.set_price("BTCUSDT", "64000.00")
    await create_alerts(telegram, USER, "/alert BTCUSDT 65000")
    await create_alerts(telegram, other, "/alert BTCUSDT 65000")
    telegram.fail_next("sendMessage", 400, "Bad Request: chat not found")
    exchange.set_price("BTCUSDT", "65000.00")
    await telegram.wait_for_message(other, "🔔")
    rows = await settled_outbox(database_url)
    assert sorted(r.state.value for r in rows) == ["dropped", "sent"]
    dropped = next(r for r in rows if r.state is OutboxState.DROPPED)
    assert "chat not found" in (dropped.last_error or "").lower()
    assert alerts_received(telegram, dropped.chat_id) == []


@pytest.fixture
async def roomy_bot(database_url: str, exchange: FakeExchange, telegram: FakeTelegram):
    """A bot that lets one chat make 41 alerts within a minute (COMMANDS_PER_MINUTE is 20)."""
    application = await start_bot(bot_settings(database_url, exchange, telegram, commands_per_minute=100))
    yield application
    await stop_bot(application)


async def test_a_busy_chat_does_not_delay_other_chats(roomy_bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    busy, quiet = 3001, 3002
    exchange.set_price("BTCUSDT", "64000.00")
    long_note = "n" * 190
    await create_alerts(telegram, busy, *[f"/alert BTCUSDT {65000 + i} {long_note}" for i in range(40)])
    await create_alerts(telegram, quiet, "/alert BTCUSDT 65000 quiet")
    exchange.set_price("BTCUSDT", "70000.00")
    await telegram.wait_for_message(quiet, "🔔")
    busy_messages = [m for m in telegram.messages_to(busy) if "🔔" in m.plain]
    assert len(busy_messages) <= 1  # the quiet chat was served in the first round
    while sum(m.plain.count("🔔") for m in telegram.messages_to(busy)) < 40:
        await telegram.wait_for_message(busy, "🔔", after=len(telegram.sent))
    busy_messages = [m for m in telegram.messages_to(busy) if "🔔" in m.plain]
    assert 2 <= len(busy_messages) < 10 and all(len(m.plain) <= 4096 for m in busy_messages)
    gaps = [b.at - a.at for a, b in zip(busy_messages, busy_messages[1:])]
    assert min(gaps) >= 0.9  # one message a second per chat


async def test_stopping_finishes_messages_in_flight_and_keeps_the_rest(
    database_url: str, exchange: FakeExchange, telegram: FakeTelegram
) -> None:
    settings = bot_settings(database_url, exchange, telegram)
    application = await start_bot(settings)
    # 60 chats: at 30 a second the 31st cannot start until a second after the first one's answer
    # (bot.notify.pacing), so the stop below always comes while some are still waiting. With 30,
    # all of them started within the first second, and a stop slower than that (a loaded machine)
    # found everything sent.
    chats = list(range(5000, 5060))
    exchange.set_price("BTCUSDT", "64000.00")
    for chat in chats:
        await create_alerts(telegram, chat, "/alert BTCUSDT 65000")
    telegram.send_delay = 0.3
    exchange.set_price("BTCUSDT", "65000.00")
    await telegram.wait_for_message(chats[0], "🔔")
    await stop_bot(application)
    delivered = {m.chat_id for m in telegram.sent if "🔔" in m.plain}
    rows = await outbox(database_url)
    assert {r.chat_id for r in rows if r.state is OutboxState.SENT} == delivered  # nothing accepted is left pending
    assert {r.chat_id for r in rows if r.state is OutboxState.PENDING} == set(chats) - delivered
    assert delivered != set(chats)

    telegram.send_delay = 0
    application = await start_bot(settings)
    try:
        for chat in chats:
            await telegram.wait_for_message(chat, "🔔")
    finally:
        await stop_bot(application)
    assert all(len(alerts_received(telegram, chat)) == 1 for chat in chats)


async def test_a_refused_combined_message_is_retried_part_by_part(bot, exchange: FakeExchange, telegram: FakeTelegram, database_url: str) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await create_alerts(telegram, USER, "/alert BTCUSDT 65000 one", "/alert BTCUSDT 65500 two")
    telegram.fail_next("sendMessage", 400, "Bad Request: can't parse entities")
    before = len(telegram.sent)
    exchange.set_price("BTCUSDT", "66000.00")
    await telegram.wait_for_message(USER, "🔔", after=before)
    await telegram.wait_for_message(USER, "two", after=before)
    received = alerts_received(telegram, USER)
    assert len(received) == 2 and "one" in received[0] and "two" in received[1]
    assert sorted(r.state.value for r in await settled_outbox(database_url)) == ["sent", "sent"]
