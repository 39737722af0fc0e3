"""The outbox's own sendMessage (bot.notify.transport): for every answer of the fake Telegram it
raises what python-telegram-bot's Bot raises for the same answer, so the sender keeps its planned
answer to each (429 waited out, 403 blocks the chat, 400 drops or moves the message, a refused
payment goes back to the free rate, the rest tried again)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.notify.transport import BotApiClient
from tests.fakes.telegram import FakeTelegram

CHAT = 1001
GROUP = -42


@pytest.fixture
async def clients(telegram: FakeTelegram) -> AsyncIterator[tuple[BotApiClient, Bot]]:
    direct = BotApiClient(telegram.token, telegram.url)
    await direct.initialize()
    async with Bot(telegram.token, base_url=f"{telegram.url}/bot") as ptb:
        yield direct, ptb
    await direct.shutdown()


def error_of(exc: TelegramError) -> tuple[type, str, object, object]:
    return (type(exc), exc.message, getattr(exc, "retry_after", None), getattr(exc, "new_chat_id", None))


async def both_raise(clients: tuple[BotApiClient, Bot], arrange: Callable[[], None],
                     params: dict[str, object] | None = None) -> tuple[type, str, object, object]:
    """Arranges the same answer twice: the direct client's error must equal python-telegram-bot's."""
    direct, ptb = clients
    params = params or {"chat_id": CHAT, "text": "hello"}
    arrange()
    with pytest.raises(TelegramError) as by_ptb:
        await ptb.send_message(**params)  # type: ignore[arg-type]
    arrange()
    with pytest.raises(TelegramError) as by_direct:
        await direct.send_message(params)
    assert error_of(by_direct.value) == error_of(by_ptb.value)
    return error_of(by_direct.value)


@pytest.mark.parametrize("status, description, expected", [
    (403, "Forbidden: bot was blocked by the user", Forbidden),
    (400, "Bad Request: chat not found", BadRequest),
    (400, "Bad Request: BALANCE_TOO_LOW", BadRequest),
    (400, "Bad Request: message thread not found", BadRequest),
    (502, "Bad Gateway", NetworkError),
    (500, "Internal Server Error", NetworkError),
])
async def test_telegram_refusals_raise_what_python_telegram_bot_raises(
    clients: tuple[BotApiClient, Bot], telegram: FakeTelegram, status: int, description: str, expected: type,
) -> None:
    kind, message, _, _ = await both_raise(clients, lambda: telegram.fail_next("sendMessage", status, description))
    assert kind is expected and description.removeprefix("Bad Request: ").lower() in message.lower()


async def test_a_429_carries_telegrams_seconds(clients: tuple[BotApiClient, Bot], telegram: FakeTelegram) -> None:
    def arrange() -> None:
        telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)

    kind, _, retry_after, _ = await both_raise(clients, arrange)
    assert kind is RetryAfter and retry_after == timedelta(seconds=7)


async def test_an_upgraded_group_names_its_supergroup(
    clients: tuple[BotApiClient, Bot], telegram: FakeTelegram,
) -> None:
    new_id = await telegram.upgrade_group(GROUP, announce=False)
    kind, _, _, new_chat_id = await both_raise(clients, lambda: None, {"chat_id": GROUP, "text": "hello"})
    assert kind is ChatMigrated and new_chat_id == new_id


async def test_html_telegram_cannot_parse_is_a_bad_request(clients: tuple[BotApiClient, Bot]) -> None:
    params = {"chat_id": CHAT, "text": "<b>open", "parse_mode": "HTML"}
    kind, message, _, _ = await both_raise(clients, lambda: None, params)
    assert kind is BadRequest and "parse" in message.lower()


async def test_a_wrong_token_is_not_taken_for_a_refused_message(telegram: FakeTelegram) -> None:
    direct = BotApiClient("123:wrong", telegram.url)
    await direct.initialize()
    try:
        with pytest.raises(TelegramError) as refused:
            await direct.send_message({"chat_id": CHAT, "text": "hello"})
    finally:
        await direct.shutdown()
    assert not isinstance(refused.value, (BadRequest, Forbidden, RetryAfter, ChatMigrated))  # tried again later


async def test_a_slow_answer_times_out(telegram: FakeTelegram) -> None:
    direct = BotApiClient(telegram.token, telegram.url, timeout=0.2)
    await direct.initialize()
    telegram.send_delay = 1.0
    try:
        with pytest.raises(TimedOut):
            await direct.send_message({"chat_id": CHAT, "text": "hello"})
    finally:
        await direct.shutdown()


async def test_a_message_arrives_as_python_telegram_bot_would_send_it(
    clients: tuple[BotApiClient, Bot], telegram: FakeTelegram,
) -> None:
    direct, ptb = clients
    telegram.stars = Decimal(10)
    rows = [[{"text": "Snooze", "callback_data": "nsnz:5"}, {"text": "Delete", "callback_data": "ndel:5"}]]
    for _ in range(30):  # the free 30 of this second, so that the next one is charged
        await ptb.send_message(CHAT + 1, "filler")
    message_id = await direct.send_message({
        "chat_id": CHAT, "text": "<b>BTC</b> &amp; more", "parse_mode": "HTML", "disable_notification": True,
        "reply_markup": {"inline_keyboard": rows}, "allow_paid_broadcast": True,
    })
    await ptb.send_message(CHAT, "<b>BTC</b> &amp; more", parse_mode="HTML", disable_notification=True,
                           reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(**b) for b in rows[0]]]),
                           allow_paid_broadcast=True)
    by_direct, by_ptb = telegram.messages_to(CHAT)
    assert by_direct.message_id == message_id
    assert (by_direct.plain, by_direct.reply_markup, by_direct.silent, by_direct.paid) == \
        (by_ptb.plain, by_ptb.reply_markup, by_ptb.silent, by_ptb.paid) == \
        ("BTC & more", {"inline_keyboard": rows}, True, True)
    assert by_direct.charged and telegram.stars_spent == Decimal("0.2")
