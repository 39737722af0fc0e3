"""200 random commands through the fake Telegram server: each is answered, none with the
internal-error text, and Telegram refuses nothing the bot sends. The commands come from the
administrators of twenty groups, where every answer replies to its command."""

from __future__ import annotations

import asyncio
import random

from tests.conftest import bot_settings, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

COMMANDS = ["/alert", "/alert", "/alert", "/alerts", "/delete", "/price", "/pause", "/resume", "/help",
            "/start", "/language", "/stats", "/cancel", "/export", "/nonsense"]
WORDS = ["BTCUSDT", "ethusdt", "1000PEPEUSDT", "币安人生USDT", "BTCUSDT_261225", "btc", "NOPEUSDT", "70000", "0,130",
         "1.5k", "100m", "-5", "0", "1e3", "+5%", "-3%", "±2%", "3%", "15m", "above", "below", "<", ">=", "every",
         "1h", "0m", "margin", "1%", "60%", "for", "365d", "366d", "until", "9999-12-31", "2026-12-31T18:00+02:00",
         "#12", "99999999999", "-1", "<b>", "&amp;", "</i>", "🚀", "note", "a" * 250, "\u202e", "<script>", "12"]
INTERNAL_ERROR = "Something went wrong"
GROUPS = 20


def random_command(rng: random.Random) -> str:
    return " ".join([rng.choice(COMMANDS), *rng.choices(WORDS, k=rng.randint(0, 6))])


async def test_two_hundred_random_commands_are_each_answered_without_an_internal_error(
    database_url: str, exchange: FakeExchange, telegram: FakeTelegram
) -> None:
    rng = random.Random(14)
    settings = bot_settings(database_url, exchange, telegram, commands_per_minute=1000)
    application = await start_bot(settings)
    try:
        sent: list[tuple[int, int, str]] = []
        # Groups, where every answer is a reply to its command, so each can be matched. Twenty, so
        # that no group gets past Telegram's 20 messages a minute (the bot keeps to it: a group's
        # 21st answer waits for the minute, which is not what this test measures).
        for n in range(GROUPS):
            telegram.group_admins[-1005000 - n] = {5000 + n}
        for n in range(200):
            chat, user = -1005000 - n % GROUPS, 5000 + n % GROUPS
            command = random_command(rng)
            sent.append((chat, await telegram.user_sends(chat, command, user_id=user, chat_type="supergroup"), command))
            if n % 20 == 19:
                await asyncio.sleep(0.2)  # bursts of 20, like busy users

        def unanswered() -> list[str]:
            answered = {(m.chat_id, m.reply_to) for m in telegram.sent}
            return [command for chat, message_id, command in sent if (chat, message_id) not in answered]

        async def all_answered() -> None:
            while unanswered():
                await asyncio.sleep(0.2)
        try:
            await asyncio.wait_for(all_answered(), 60)
        except TimeoutError:
            chat, message_id, _ = next(x for x in sent if x[2] in unanswered())
            around = [(m.reply_to, m.plain[:50]) for m in telegram.messages_to(chat)]
            raise AssertionError(f"never answered: {unanswered()[:10]}; chat {chat} #{message_id}: {around}") from None
        errors = [m.plain for m in telegram.sent if INTERNAL_ERROR in m.plain]
        assert errors == [], errors[:3]
        assert telegram.rejected == []
    finally:
        await stop_bot(application)
