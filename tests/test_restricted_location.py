"""From a location Binance refuses (HTTP 451, or 403 from its firewall) the operator and the users
are told why, once in a while, instead of "try again in a minute" for ever."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from pathlib import Path

import pytest

from bot.exchange.client import BinanceClient, ClientOptions, ExchangeUnavailable, RestrictedLocation
from tests.conftest import ROOT
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

USER = 1001


def restricted_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and "location Binance serves" in r.getMessage()]


@pytest.mark.parametrize(("status", "cause"), [(451, "location (HTTP 451)"), (403, "firewall refuses this machine (HTTP 403)")])
async def test_a_refused_handshake_names_the_cause_and_the_remedy_once(
    exchange: FakeExchange, caplog: pytest.LogCaptureFixture, status: int, cause: str,
) -> None:
    exchange.restrict(status)
    client = BinanceClient(exchange.url, ClientOptions(backoff_cap=0.05))
    try:
        for _ in range(4):
            with pytest.raises(RestrictedLocation):
                await client.request("ticker.price")
            await asyncio.sleep(0.06)  # past the (tiny) longest backoff: the next request tries again
        assert len(exchange.handshake_attempts) == 4
        errors = restricted_errors(caplog)
        assert len(errors) == 1  # at most every 10 minutes
        assert cause in errors[0] and "BINANCE_WS_URL" in errors[0]
        if status == 451:
            assert "restricted location" in errors[0]  # Binance's own words, from its JSON body
        assert client.restricted == errors[0]
    finally:
        await client.close()


async def test_the_error_line_repeats_after_its_interval(exchange: FakeExchange, caplog: pytest.LogCaptureFixture) -> None:
    exchange.restrict(451)
    client = BinanceClient(exchange.url, ClientOptions(backoff_cap=0.05, restricted_log_every=0.1))
    try:
        for _ in range(3):
            with pytest.raises(RestrictedLocation):
                await client.request("ticker.price")
            await asyncio.sleep(0.11)
        assert len(restricted_errors(caplog)) == 3
    finally:
        await client.close()


async def test_reconnection_backs_off_to_its_longest_at_once(exchange: FakeExchange) -> None:
    exchange.restrict(451)
    client = BinanceClient(exchange.url, ClientOptions(backoff_cap=60))
    try:
        with pytest.raises(RestrictedLocation):
            await client.request("ticker.price")
        with pytest.raises(RestrictedLocation):  # no new handshake meanwhile, and the same cause
            await client.request("ticker.price")
        assert len(exchange.handshake_attempts) == 1
        assert client._next_attempt_at - time.monotonic() >= 29  # 60 s with up to half of jitter
    finally:
        await client.close()


async def test_an_ordinary_failure_backs_off_briefly_and_is_not_called_restricted(exchange: FakeExchange) -> None:
    exchange.refuse_handshakes(1)  # 503
    client = BinanceClient(exchange.url, ClientOptions(backoff_cap=60))
    try:
        with pytest.raises(ExchangeUnavailable):
            await client.request("ticker.price")
        assert client.restricted is None
        assert client._next_attempt_at - time.monotonic() <= 1.0
    finally:
        await client.close()


async def test_the_cause_clears_once_binance_answers(exchange: FakeExchange) -> None:
    exchange.restrict(451)
    client = BinanceClient(exchange.url, ClientOptions(backoff_cap=0.05))
    try:
        with pytest.raises(RestrictedLocation):
            await client.request("ticker.price")
        exchange.restrict(None)
        await asyncio.sleep(0.06)
        assert await client.request("ticker.price")
        assert client.restricted is None
    finally:
        await client.close()


async def test_price_and_alert_tell_the_user_why_in_their_language(
    bot, exchange: FakeExchange, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture,
) -> None:
    exchange.restrict(451)
    await telegram.user_sends(USER, "/price BTCUSDT")
    answer = await telegram.wait_for_message(USER, "refuses to serve")
    assert "location Binance serves" in answer.plain
    await telegram.user_sends(USER, "/alert BTCUSDT 99999")
    await telegram.wait_for_message(USER, "refuses to serve", after=telegram.sent.index(answer) + 1)
    await telegram.user_sends(2002, "/price BTCUSDT", language_code="zh-hans")
    assert "不为本机器人运行的地区提供服务" in (await telegram.wait_for_message(2002, "Binance")).plain
    await telegram.user_sends(2003, "/alert")  # the guided form
    await telegram.wait_for_message(2003, "refuses to serve")
    assert len(exchange.handshake_attempts) == 1  # then the longest backoff
    assert len(restricted_errors(caplog)) == 1  # four refusals; the log said it once


async def test_prices_command_exits_1_with_the_cause(exchange: FakeExchange, tmp_path: Path) -> None:
    exchange.restrict(451)
    env = dict(os.environ, PYTHONPATH=ROOT, BINANCE_WS_URL=exchange.url, EXCHANGE_TIMEOUT="5")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "prices", "BTCUSDT", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    assert stdout == b""
    line = stderr.decode().strip().splitlines()[-1]
    assert line.startswith("pricealert: ") and "HTTP 451" in line and "location Binance serves" in line
    assert "BINANCE_WS_URL" in line
