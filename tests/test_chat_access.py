"""Who may use the bot, and how it answers the others: strangers cannot flood it (ALLOWED_CHAT_IDS),
an admin check that fails, allowed groups upgraded to supergroups, /start in groups, errors under buttons."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest

from bot.storage.store import AlertStore
from bot.telegram.allowlist import AllowedChats
from tests.conftest import bot_settings, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

STRANGER, FRIEND = 9101, 9102
GROUP, ADMIN, MEMBER = -100777, 41, 42
BOT = "@pricealert_test_bot"


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Waits for a condition only the bot's own state shows (no event to await)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


# 1. ALLOWED_CHAT_IDS: a stranger's burst costs at most one refusal a minute.

async def test_a_strangers_burst_gets_one_refusal_and_allowed_chats_stay_prompt(
    database_url: str, exchange: FakeExchange, telegram: FakeTelegram,
) -> None:
    application = await start_bot(bot_settings(database_url, exchange, telegram, allowed_chat_ids=frozenset({FRIEND})))
    try:
        await asyncio.gather(*(telegram.user_sends(STRANGER, "/help") for _ in range(60)))
        await telegram.wait_for_message(STRANGER, "private")
        asked = time.monotonic()
        await telegram.user_sends(FRIEND, "/help")
        await telegram.wait_for_message(FRIEND, "Commands", timeout=5)
        assert time.monotonic() - asked < 1.0
        assert len(telegram.messages_to(STRANGER)) <= 2
    finally:
        await stop_bot(application)


# 2. getChatMember failing: the admins-only answer, a warning, nothing cached.

async def test_a_failed_admin_lookup_answers_admins_only_and_asks_again_next_time(
    bot, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture,
) -> None:
    telegram.group_admins[GROUP] = {ADMIN}
    telegram.fail_next("getChatMember", 400, "Bad Request: PARTICIPANT_ID_INVALID")
    with caplog.at_level(logging.WARNING):
        await telegram.user_sends(GROUP, f"/pause{BOT}", user_id=ADMIN, chat_type="supergroup")
        await telegram.wait_for_message(GROUP, "administrators")
    assert any("cannot ask Telegram" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    before = len(telegram.sent)
    await telegram.user_sends(GROUP, f"/pause{BOT}", user_id=ADMIN, chat_type="supergroup")
    await telegram.wait_for_message(GROUP, "Nothing to pause", after=before)  # asked again: an admin
    assert not [m for m in telegram.messages_to(GROUP) if "went wrong" in m.plain]


# 6. An allowed group upgraded to a supergroup stays allowed (until restart), with a warning.

def test_the_allowlist_follows_only_allowed_groups() -> None:
    allowed = AllowedChats({GROUP})
    allowed.follow(-5, -1005)  # not allowed before: not allowed after
    allowed.follow(GROUP, -1_000_000_000_000 + GROUP)
    assert -1005 not in allowed and -1_000_000_000_000 + GROUP in allowed and GROUP in allowed


async def test_an_upgraded_allowed_group_is_still_served(
    database_url: str, exchange: FakeExchange, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture,
) -> None:
    application = await start_bot(bot_settings(database_url, exchange, telegram, allowed_chat_ids=frozenset({GROUP})))
    try:
        with caplog.at_level(logging.WARNING):
            new_id = await telegram.upgrade_group(GROUP)
            await until(lambda: new_id in application.bot_data["allowed_chats"])
        assert any(str(new_id) in r.getMessage() and "ALLOWED_CHAT_IDS" in r.getMessage()
                   for r in caplog.records if r.levelno == logging.WARNING)
        await telegram.user_sends(new_id, f"/help{BOT}", user_id=MEMBER, chat_type="supergroup")
        await telegram.wait_for_message(new_id, "Commands")
        assert not [m for m in telegram.messages_to(new_id) if "private" in m.plain]
    finally:
        await stop_bot(application)


async def test_the_sender_lets_an_upgraded_allowed_group_in(
    database_url: str, exchange: FakeExchange, telegram: FakeTelegram,
) -> None:
    telegram.group_admins[GROUP] = {ADMIN}
    exchange.set_price("BTCUSDT", "64000.00")
    application = await start_bot(bot_settings(database_url, exchange, telegram, allowed_chat_ids=frozenset({GROUP})))
    try:
        await telegram.user_sends(GROUP, f"/alert{BOT} BTCUSDT 65000", user_id=ADMIN, chat_type="group")
        await telegram.wait_for_message(GROUP, "✅")
        new_id = await telegram.upgrade_group(GROUP, announce=False)  # only the refused send tells
        exchange.set_price("BTCUSDT", "65000.00")
        await telegram.wait_for_message(new_id, "🔔")
        await telegram.user_sends(new_id, f"/help{BOT}", user_id=MEMBER, chat_type="supergroup")
        await telegram.wait_for_message(new_id, "Commands")
    finally:
        await stop_bot(application)


# 7. /start resumes block-paused alerts only for admins; an error under a button answers it.

async def test_start_in_a_group_resumes_only_for_an_admin(bot, store: AlertStore, exchange: FakeExchange,
                                                         telegram: FakeTelegram) -> None:
    telegram.group_admins[GROUP] = {ADMIN}
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(GROUP, f"/alert{BOT} BTCUSDT 65000", user_id=ADMIN, chat_type="supergroup")
    await telegram.wait_for_message(GROUP, "✅")
    assert (await store.block_chat(GROUP, "forbidden: bot was kicked"))[0] == 1
    before = len(telegram.sent)
    await telegram.user_sends(GROUP, f"/start{BOT}", user_id=MEMBER, chat_type="supergroup")
    greeting = await telegram.wait_for_message(GROUP, after=before)
    assert "Welcome back" not in greeting.plain and "administrators" not in greeting.plain
    before = len(telegram.sent)
    await telegram.user_sends(GROUP, f"/start{BOT}", user_id=ADMIN, chat_type="supergroup")
    assert "Welcome back: 1" in (await telegram.wait_for_message(GROUP, after=before)).plain


async def test_an_error_under_a_button_answers_the_press(bot, telegram: FakeTelegram) -> None:
    await telegram.user_sends(STRANGER, "/language")
    menu = await telegram.wait_for_message(STRANGER, "Choose the language")
    telegram.fail_next("answerCallbackQuery", 500, "Internal Server Error")  # the handler's answer fails
    press = await telegram.press_button(menu, menu.buttons()[0]["callback_data"])
    assert "went wrong" in await telegram.wait_for_answer(press)
