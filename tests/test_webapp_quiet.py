"""The Mini App keeps quiet while a tick runs (issue 23, point 5; bot/webapp/quiet.py): a page's
request that arrives during a tick is answered after the tick, never dropped, and never kept
waiting longer than the bounded wait when a tick hangs on the exchange. The real bot and HTTP
server; the fake exchange answers the tick's price request late."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from bot.runtime.compose import QUIET_MAX_WAIT
from tests.fakes.exchange import FakeExchange
from tests.fakes.rest import FakeBinanceRest
from tests.fakes.telegram import FakeTelegram
from tests.test_webapp_api import call, rest  # noqa: F401 (the fake REST server fixture)
from tests.webapp_support import AppServer, serve_app

USER = 1001


@pytest.fixture
async def app(database_url: str, exchange: FakeExchange, telegram: FakeTelegram,
              rest: FakeBinanceRest) -> AsyncIterator[AppServer]:
    exchange.set_price("BTCUSDT", "64000.00")
    async with serve_app(database_url, exchange, telegram, rest, commands_per_minute=1000) as server:
        status, _, _ = await call(server, "POST", "api/alerts", body={"symbol": "BTCUSDT", "level": "70000"})
        assert status == 201  # an alert to watch: every tick asks the exchange for prices
        yield server


async def slow_tick(exchange: FakeExchange, seconds: float) -> float:
    """The next tick waits `seconds` for its prices; returns when it is waiting (perf_counter)."""
    await asyncio.sleep(0.3)  # out of the tick in flight, if any
    before = len(exchange.ticker_requests())
    exchange.delay_next(seconds)
    await exchange.wait_for_requests(before + 1)
    return time.perf_counter()


async def test_a_request_during_a_tick_is_answered_after_it(app: AppServer, exchange: FakeExchange) -> None:
    ticking = await slow_tick(exchange, 0.8)
    async def timed(path: str) -> tuple[int, dict, float]:
        status, body, _ = await call(app, "GET", path)
        return status, body, time.perf_counter() - ticking

    # The session reads the database only (no prices): without the quiet it would be answered at once.
    answers = await asyncio.gather(*(timed(path) for path in ("api/session", "api/alerts", "api/live?symbol=BTCUSDT")))
    assert [status for status, _, _ in answers] == [200, 200, 200]  # none dropped
    assert answers[0][1]["user_id"] == USER and answers[1][1]["count"] == 1 and answers[2][1]["price"] == "64000.00"
    assert all(waited >= 0.6 for _, _, waited in answers)  # answered once the tick had its prices, not during it


async def test_a_hung_tick_keeps_a_page_waiting_for_the_bounded_wait_only(
        app: AppServer, exchange: FakeExchange) -> None:
    ticking = await slow_tick(exchange, 5.0)
    status, body, _ = await call(app, "GET", "api/session")
    waited = time.perf_counter() - ticking
    assert status == 200 and body["user_id"] == USER
    # The tick still waits; the page waits once for it (at its start and at the database gate
    # together), not twice: 2 s here before.
    assert QUIET_MAX_WAIT * 0.8 <= waited < QUIET_MAX_WAIT * 1.6
