"""The running bot while the exchange misbehaves: ticks fail alone, logged, and recover."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time

import pytest

from tests.conftest import ROOT, bot_settings, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

USER = 1001


async def _wait_for_log(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in caplog.text:
        assert time.monotonic() < deadline, f"no log line with {text!r}"
        await asyncio.sleep(0.05)


async def test_bot_sends_nothing_during_a_429_window_then_fires(
    bot, exchange: FakeExchange, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert BTCUSDT 65000")
    await telegram.wait_for_message(USER, "BTCUSDT rises")
    retry_after = int(time.time() * 1000) + 1500
    exchange.fail_next_with(429, -1003, "Too many requests.", {"serverTime": 0, "retryAfter": retry_after})
    with caplog.at_level(logging.WARNING):
        refused_at = len(exchange.received)
        await exchange.wait_for_requests(len(exchange.ticker_requests()) + 2, timeout=10)
        await _wait_for_log(caplog, "tick without prices")
    after = exchange.received[refused_at:]
    assert after[0].at * 1000 < retry_after  # the request that got the 429
    assert all(r.at * 1000 >= retry_after for r in after[1:])  # nothing inside the window
    exchange.set_price("BTCUSDT", "65000.00")
    await telegram.wait_for_message(USER, "🔔")
    assert 418 not in exchange.close_codes


async def test_a_bad_entry_does_not_stop_other_alerts(bot, exchange: FakeExchange, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert BTCUSDT 65000")
    await telegram.wait_for_message(USER, "BTCUSDT rises")
    exchange.answer_next_with(lambda request_id: json.dumps({"id": request_id, "status": 200, "result": [
        {"symbol": "ETHUSDT", "price": "oops", "time": 1}, {"symbol": "BTCUSDT", "price": "65000.5", "time": 1}]}))
    with caplog.at_level(logging.WARNING):
        assert "65000.5" in (await telegram.wait_for_message(USER, "🔔")).plain
    assert "ETHUSDT: price 'oops'" in caplog.text


async def test_stale_prices_are_reported_in_the_log(
    database_url: str, exchange: FakeExchange, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    application = await start_bot(bot_settings(database_url, exchange, telegram, stale_after=1.0))
    try:
        await telegram.user_sends(USER, "/alert BTCUSDT 99999")
        await telegram.wait_for_message(USER, "BTCUSDT rises")
        await exchange.stop()
        with caplog.at_level(logging.WARNING):
            await _wait_for_log(caplog, "no fresh prices")
        assert "tick without prices" in caplog.text
    finally:
        await stop_bot(application)


async def _prices_command(exchange_url: str, *symbols: str) -> tuple[int, str, str]:
    env = dict(os.environ, PYTHONPATH=ROOT, BINANCE_WS_URL=exchange_url, EXCHANGE_TIMEOUT="2")
    env.pop("TELEGRAM_BOT_TOKEN", None)  # not needed to read prices
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "prices", *symbols, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode or 0, out.decode(), err.decode()


async def test_prices_command_prints_the_feed(exchange: FakeExchange) -> None:
    exchange.set_price("BTCUSDT", "64000.10")
    code, out, err = await _prices_command(exchange.url, "btcusdt", "币安人生USDT")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("BTCUSDT\t64000.10\t20") and lines[0].endswith("UTC")
    assert lines[1].startswith("币安人生USDT\t0.1234500\t")
    assert "request weight used this minute: 7 of 2400" in err

    code, out, err = await _prices_command(exchange.url)
    assert code == 0 and len(out.splitlines()) == len(exchange.prices)


async def test_prices_command_fails_clearly_when_the_exchange_is_down(exchange: FakeExchange) -> None:
    await exchange.stop()
    code, out, err = await _prices_command(exchange.url)
    assert code == 1 and out == ""
    assert err.startswith(f"pricealert: cannot get prices from {exchange.url}")
