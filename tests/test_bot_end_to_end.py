"""A user talks to the real bot through the fake Telegram server while the fake exchange moves prices."""

from __future__ import annotations

import pytest

from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

USER = 1001


async def test_alert_fires_once_when_price_rises_to_level(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert ETHUSDT 99999")  # keeps ticks polling after BTC fired
    await telegram.wait_for_message(USER, "ETHUSDT")
    await telegram.user_sends(USER, "/alert btcusdt 65000 take profit")
    confirmation = await telegram.wait_for_message(USER, "BTCUSDT")
    assert "BTCUSDT" in confirmation.plain and "rises to" in confirmation.plain and "65000" in confirmation.plain

    exchange.set_price("BTCUSDT", "65000.10")
    fired = await telegram.wait_for_message(USER, "🔔")
    assert "BTCUSDT" in fired.plain and "65000.10" in fired.plain and "take profit" in fired.plain

    seen = len(exchange.ticker_requests())
    await exchange.wait_for_requests(seen + 3)
    assert [m for m in telegram.messages_to(USER) if "🔔" in m.plain] == [fired]
