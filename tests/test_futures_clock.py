"""A funding reminder gives the time of funding on the chat's /timezone clock (docs/topics.md:
every time the bot shows is in the chat's zone), not in UTC. The real bot against the fakes."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from tests.conftest import RunningBot, eventually
from tests.fakes.exchange import FakeExchange
from tests.fakes.streams import FakeStreams
from tests.fakes.telegram import FakeTelegram
from tests.test_futures_bot import USER, futures_bot, rest, streams  # noqa: F401 (fixtures)


async def test_a_funding_reminder_says_when_on_the_chats_clock(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    ticker = futures_bot.application.bot_data["parts"].ticker
    soon = int((time.time() + 20 * 60) * 1000)
    streams.marks.next_funding["BTCUSDT"] = soon
    await eventually(lambda: getattr(ticker.marks.latest("BTCUSDT"), "next_funding_ms", None) == soon)
    await telegram.user_sends(USER, "/timezone Asia/Kathmandu")  # +05:45, far from UTC and from the server's clock
    await telegram.wait_for_message(USER, "Time zone set")
    await telegram.user_sends(USER, "/alert ETHUSDT 9999")  # keeps ticks running
    await telegram.wait_for_message(USER, "✅ Alert #1")
    await telegram.user_sends(USER, "/alert BTCUSDT funding 15m before")
    await telegram.wait_for_message(USER, "✅ Alert #2")
    funding_at = time.time() + 14 * 60  # the reminder's time has come
    streams.marks.next_funding["BTCUSDT"] = int(funding_at * 1000)
    reminder = (await telegram.wait_for_message(USER, "⏰")).plain
    local = datetime.fromtimestamp(funding_at, timezone.utc).astimezone(ZoneInfo("Asia/Kathmandu"))
    assert f"(at {local:%H:%M} +0545)" in reminder, reminder
