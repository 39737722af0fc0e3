"""/chart and the 📈 buttons, end to end: the real bot, the fake Telegram, the fake Binance
WebSocket API for prices and the fake Binance REST server for klines."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from decimal import Decimal
from typing import Any

import pytest
from PIL import Image
from telegram.ext import Application

from bot.alerts.charts import ChartService
from bot.alerts.rules import Direction
from bot.charts.render import DOWN_CANDLE, FALLING_ALERT, RISING_ALERT, UP_CANDLE
from bot.exchange.rest import KlineClient
from tests.conftest import bot_settings, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.rest import FakeBinanceRest
from tests.fakes.telegram import FakeTelegram, Sent

USER = 1001


@pytest.fixture
async def rest(exchange: FakeExchange) -> AsyncIterator[FakeBinanceRest]:
    fake = FakeBinanceRest(prices=exchange.prices)  # klines end at the prices the ticks see
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def chart_bot(database_url: str, exchange: FakeExchange, telegram: FakeTelegram,
                    rest: FakeBinanceRest) -> AsyncIterator[Application]:
    application = await start_bot(bot_settings(database_url, exchange, telegram, binance_rest_url=rest.url))
    yield application
    await stop_bot(application)


async def wait_for_photo(telegram: FakeTelegram, chat_id: int, contains: str = "📈", timeout: float = 20.0) -> Sent:
    """A chart's caption starts with 📈. Drawing starts a worker process on the first chart,
    hence the longer timeout."""
    message = await telegram.wait_for_message(chat_id, contains, timeout=timeout)
    assert message.photo is not None, message.plain
    return message


def colour_share(png: bytes, hex_colour: str) -> float:
    """The share of the picture's pixels in exactly this colour."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    wanted = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    counts = {colour: count for count, colour in image.getcolors(maxcolors=image.width * image.height)}
    return counts.get(wanted, 0) / (image.width * image.height)


async def test_chart_is_a_png_of_1280_by_720_with_candles_and_a_caption(
        chart_bot, exchange: FakeExchange, telegram: FakeTelegram, rest: FakeBinanceRest) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/chart btcusdt")
    photo = await wait_for_photo(telegram, USER)
    image = Image.open(io.BytesIO(photo.photo))
    assert (image.format, image.size) == ("PNG", (1280, 720))
    assert colour_share(photo.photo, UP_CANDLE) > 0.002 and colour_share(photo.photo, DOWN_CANDLE) > 0.002
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 20)) > 50  # not a blank or flat picture
    assert "BTCUSDT · 1h · now 64000.00" in photo.plain
    assert [r.params for r in rest.requests] == [{"symbol": "BTCUSDT", "interval": "1h", "limit": "96"}]
    assert telegram.rejected == []


async def test_chart_draws_the_chats_own_alerts_with_their_notes(
        chart_bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    for chat, command in [(USER, "/alert BTCUSDT 64500 <b>tp</b> 🚀"), (USER, "/alert BTCUSDT 63500"),
                          (2002, "/alert BTCUSDT 64400 someone else's")]:
        before = len(telegram.sent)  # each command's own confirmation, not an earlier one
        await telegram.user_sends(chat, command)
        await telegram.wait_for_message(chat, "✅", after=before)
    await telegram.user_sends(USER, "/chart BTCUSDT 15m")
    photo = await wait_for_photo(telegram, USER)
    assert "BTCUSDT · 15m" in photo.plain
    assert "#1 rises to ≥ 64500 — <b>tp</b> 🚀" in photo.plain and "#2 falls to ≤ 63500" in photo.plain
    assert "#3" not in photo.plain and "someone" not in photo.plain
    assert colour_share(photo.photo, RISING_ALERT) > 0.0005 and colour_share(photo.photo, FALLING_ALERT) > 0.0005
    assert telegram.rejected == []


async def test_the_chart_button_on_a_notification_shows_the_crossing(
        chart_bot, exchange: FakeExchange, telegram: FakeTelegram, rest: FakeBinanceRest) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert BTCUSDT 65000")
    await telegram.wait_for_message(USER, "✅")
    exchange.set_price("BTCUSDT", "65000.10")
    fired = await telegram.wait_for_message(USER, "🔔")
    chart_buttons = [b for b in fired.buttons() if b["text"] == "📈 Chart"]
    assert [b["callback_data"] for b in chart_buttons] == ["nchart:1"]
    query = await telegram.press_button(fired, "nchart:1")
    photo = await wait_for_photo(telegram, USER, "📈")
    assert await telegram.wait_for_answer(query) == ""
    assert "BTCUSDT · 1m" in photo.plain  # it fired a moment ago: minutes show it best
    assert "🔔 #1 crossed 65000.10 at" in photo.plain and "#1 rises to ≥ 65000" in photo.plain
    assert rest.requests[-1].params["interval"] == "1m"

    forged = await telegram.press_button(fired, "nchart:1", from_chat=2002)  # not that chat's alert
    assert "no longer exists" in await telegram.wait_for_answer(forged)


async def test_a_chart_draws_the_chats_alerts_on_its_symbol_however_many_it_has_elsewhere(
        chart_bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    store = chart_bot.bot_data["store"]
    await store.create_alerts(USER, [{"symbol": "ETHUSDT", "direction": Direction.UP, "level": Decimal(5000 + i),
                                      "note": ""} for i in range(150)])
    (btc,) = await store.create_alerts(USER, [{"symbol": "BTCUSDT", "direction": Direction.UP,
                                               "level": Decimal("64500"), "note": "the 151st"}])
    await telegram.user_sends(USER, "/chart BTCUSDT")
    photo = await wait_for_photo(telegram, USER)
    assert f"#{btc.id} rises to ≥ 64500 — the 151st" in photo.plain
    assert colour_share(photo.photo, RISING_ALERT) > 0.0005


async def test_the_chart_button_is_answered_before_the_chart_is_made(
        chart_bot, exchange: FakeExchange, telegram: FakeTelegram, rest: FakeBinanceRest) -> None:
    """Telegram refuses a late answer ("query is too old"); the button must not spin meanwhile."""
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/price BTCUSDT")
    answer = await telegram.wait_for_message(USER, "BTCUSDT:")
    rest.delay = 3.0  # slow klines: the chart comes seconds later
    query = await telegram.press_button(answer, "chart:BTCUSDT")
    assert await telegram.wait_for_answer(query, timeout=2.0) == ""
    assert telegram.photos_to(USER) == []
    await wait_for_photo(telegram, USER)
    assert telegram.rejected == []


class FailingExecutor(Executor):
    """Draws nothing: every drawing fails, as a dead drawing process or a matplotlib error would."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_exception(self.error)
        return future


@pytest.mark.parametrize("error", [BrokenProcessPool("a child process terminated abruptly"),
                                   ValueError("Image size of 1280x99999999 pixels is too large")],
                         ids=["dead-process", "matplotlib"])
async def test_a_chart_that_cannot_be_drawn_gets_a_short_answer_in_the_chats_language(
        chart_bot, exchange: FakeExchange, telegram: FakeTelegram, rest: FakeBinanceRest,
        caplog: pytest.LogCaptureFixture, error: Exception) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    broken = ChartService(KlineClient(rest.url), chart_bot.bot_data["store"], executor=FailingExecutor(error))
    chart_bot.bot_data["charts"] = broken
    try:
        await telegram.user_sends(USER, "/price BTCUSDT")
        answer = await telegram.wait_for_message(USER, "BTCUSDT:")
        before = len(telegram.sent)
        query = await telegram.press_button(answer, "chart:BTCUSDT")
        assert await telegram.wait_for_answer(query) == ""
        assert "chart is unavailable" in (await telegram.wait_for_message(USER, "⚠️", after=before)).plain
        await telegram.user_sends(2002, "/chart BTCUSDT", language_code="zh")
        assert "图表暂时无法生成" in (await telegram.wait_for_message(2002, "⚠️")).plain
    finally:
        await broken.close()
    assert not any("😵" in m.plain for m in telegram.sent)  # not "Something went wrong"
    failures = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "bot.telegram.charts"]
    assert len(failures) == 2 and all(r.exc_info and r.exc_info[1] is error for r in failures)
    assert telegram.photos_to(USER) == telegram.photos_to(2002) == [] and telegram.rejected == []


async def test_price_for_one_symbol_offers_a_chart(chart_bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("币安人生USDT", "0.1234500")
    await telegram.user_sends(USER, "/price 币安人生usdt")
    answer = await telegram.wait_for_message(USER, "币安人生USDT:")
    assert [b["callback_data"] for b in answer.buttons()] == ["chart:币安人生USDT"]
    await telegram.press_button(answer, "chart:币安人生USDT")
    photo = await wait_for_photo(telegram, USER, "📈")
    assert "币安人生USDT · 1h · now 0.1234500" in photo.plain  # the name is in the caption only
    await telegram.user_sends(USER, "/price BTCUSDT ETHUSDT")
    assert (await telegram.wait_for_message(USER, "ETHUSDT:")).buttons() == []


async def test_twenty_concurrent_charts_cost_one_klines_request_and_one_drawing(
        chart_bot, exchange: FakeExchange, telegram: FakeTelegram, rest: FakeBinanceRest) -> None:
    rest.delay = 0.5  # the answer is slow: the other requests arrive while it is in flight
    users = range(5000, 5020)
    for user in users:
        await telegram.user_sends(user, "/chart ETHUSDT")
    photos = [await wait_for_photo(telegram, user, timeout=30) for user in users]
    assert len(rest.requests) == 1
    assert len({p.photo for p in photos}) == 1
    assert chart_bot.bot_data["charts"].renders == 1


@pytest.mark.parametrize("status", [429, 418])
async def test_after_429_or_418_no_klines_request_before_retry_after(
        chart_bot, exchange: FakeExchange, telegram: FakeTelegram, rest: FakeBinanceRest, status: int) -> None:
    rest.fail_next(status, retry_after=2)
    await telegram.user_sends(USER, "/chart BTCUSDT")
    assert "slow down" in (await telegram.wait_for_message(USER, "Binance")).plain
    refused_at = rest.requests[0].at
    before = len(telegram.sent)
    await telegram.user_sends(USER, "/chart ETHUSDT 5m")  # another chart: still nothing sent
    assert "slow down" in (await telegram.wait_for_message(USER, "Binance", after=before)).plain
    assert len(rest.requests) == 1

    await asyncio.sleep(max(0.0, refused_at + 2.05 - time.time()))  # the time Binance asked for
    await telegram.user_sends(USER, "/chart ETHUSDT 5m")
    await wait_for_photo(telegram, USER, "ETHUSDT")
    assert len(rest.requests) == 2 and rest.requests[1].at >= refused_at + 2
    assert rest.violations == []


async def test_451_is_explained_to_the_user_and_the_operator_and_alerts_go_on(
        chart_bot, exchange: FakeExchange, telegram: FakeTelegram, rest: FakeBinanceRest,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert BTCUSDT 65000")
    await telegram.wait_for_message(USER, "✅")
    rest.fail_next(451)
    await telegram.user_sends(USER, "/chart BTCUSDT")
    assert "does not serve charts" in (await telegram.wait_for_message(USER, "⚠️")).plain
    before = len(telegram.sent)
    await telegram.user_sends(USER, "/chart BTCUSDT", language_code="zh")
    await telegram.wait_for_message(USER, "⚠️", after=before)
    assert len(rest.requests) == 1  # refused places are not asked again at once
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "451" in errors[0] and "restricted location" in errors[0] and "location Binance serves" in errors[0]

    exchange.set_price("BTCUSDT", "65000.00")
    await telegram.wait_for_message(USER, "🔔")


async def test_bad_chart_requests_get_helpful_answers(chart_bot, telegram: FakeTelegram) -> None:
    for command, expected in [
        ("/chart", "/chart BTCUSDT"),
        ("/chart BTCUSDT 2h", "1m 5m 15m 1h 4h 1d"),
        ("/chart btc", "Did you mean"),
        ("/chart <b>x</b>", "is not a symbol"),
    ]:
        before = len(telegram.sent)
        await telegram.user_sends(USER, command)
        answer = await telegram.wait_for_message(USER, expected, after=before)
        assert answer.photo is None
    assert "BTCUSDT" in telegram.sent[-2].plain  # the suggestions for "btc"
    assert telegram.rejected == []


async def test_charts_work_while_the_websocket_api_is_down_and_refuse_unknown_symbols(
        chart_bot, exchange: FakeExchange, telegram: FakeTelegram, rest: FakeBinanceRest) -> None:
    await exchange.stop()  # no ticker snapshot: the klines answer decides what is listed
    await telegram.user_sends(USER, "/chart BTCUSDT 4h")
    assert "BTCUSDT · 4h" in (await wait_for_photo(telegram, USER)).plain
    await telegram.user_sends(USER, "/chart NOPEUSDT")
    assert "NOPEUSDT is not a Binance" in (await telegram.wait_for_message(USER, "NOPEUSDT")).plain
    assert [r.status for r in rest.requests] == [200, 400]


async def test_help_and_the_command_menu_list_chart(chart_bot, telegram: FakeTelegram) -> None:
    assert "chart" in {c["command"] for c in telegram.commands}
    assert "chart" in {c["command"] for c in telegram.commands_by_language["zh"]}
    await telegram.user_sends(USER, "/help")
    assert "/chart BTCUSDT 4h" in (await telegram.wait_for_message(USER, "Commands")).plain
