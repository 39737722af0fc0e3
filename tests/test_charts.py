"""The pure parts of charts (intervals, precision, drawing, captions, keyboards), the shared
cache, and the klines client against the fake Binance REST server."""

from __future__ import annotations

import asyncio
import io
import re
import time
import warnings
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st
from matplotlib.text import Text
from PIL import Image

from bot.alerts.charts import Shared
from bot.alerts.rules import Direction
from bot.charts.intervals import ChartUsage, interval_showing, parse_chart_args, parse_interval
from bot.charts.render import (
    HEIGHT, WIDTH, ChartSpec, Level, Mark, draw_chart, format_price, precision_of, render_chart,
)
from bot.exchange.client import BinanceClient, ClientOptions, ExchangeUnavailable, RateLimited, RequestRefused
from bot.exchange.rest import ExchangeError, KlineClient, RestrictedLocation, parse_klines
from bot.storage.models import MessageKind
from bot.storage.store import PendingMessage
from bot.notify.notices import notification_keyboard
from bot.telegram.buttons import symbol_chart_keyboard
from bot.texts import Texts
from tests.fakes.exchange import FakeExchange
from tests.fakes.rest import FakeBinanceRest, generate_klines
from tests.fakes.telegram import parse_html

NOW_MS = 1_795_500_000_000


def bars(symbol: str = "BTCUSDT", price: str = "65000.10", interval: str = "1h") -> tuple:
    return tuple(parse_klines(generate_klines(symbol, price, interval, 96, NOW_MS)))


# -- intervals and arguments -------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "interval"), [
    ("1m", "1m"), ("5M", "5m"), ("15m", "15m"), ("1H", "1h"), (" 4h ", "4h"), ("1d", "1d"),
    ("2h", None), ("1w", None), ("1M ", "1m"), ("", None), ("h", None), ("60", None),
])
def test_intervals_are_read_case_insensitively(typed: str, interval: str | None) -> None:
    assert parse_interval(typed) == interval


@pytest.mark.parametrize(("args", "expected"), [
    (["btcusdt"], ("BTCUSDT", "1h")),
    (["BTCUSDT", "15m"], ("BTCUSDT", "15m")),
    (["4h", "ethusdt"], ("ETHUSDT", "4h")),
    (["币安人生usdt", "1d"], ("币安人生USDT", "1d")),
    (["$btc/usdt"], ("BTCUSDT", "1h")),
])
def test_chart_arguments(args: list[str], expected: tuple[str, str]) -> None:
    assert parse_chart_args(args) == expected


@pytest.mark.parametrize(("args", "reason", "value"), [
    ([], "usage", ""), (["BTCUSDT", "1h", "extra"], "usage", ""),
    (["BTCUSDT", "2h"], "interval", "2h"), (["<b>"], "symbol", "<b>"),
])
def test_bad_chart_arguments_say_what_is_wrong(args: list[str], reason: str, value: str) -> None:
    with pytest.raises(ChartUsage) as caught:
        parse_chart_args(args)
    assert (caught.value.reason, caught.value.value) == (reason, value)


@pytest.mark.parametrize(("age", "interval"), [
    (0, "1m"), (30, "1m"), (72 * 60, "1m"), (72 * 60 + 1, "5m"), (5 * 3600, "5m"), (10 * 3600, "15m"),
    (2 * 86_400, "1h"), (10 * 86_400, "4h"), (100 * 86_400, "1d"), (-5, "1m"),
])
def test_a_notification_chart_uses_the_shortest_interval_that_shows_the_crossing(age: float, interval: str) -> None:
    assert interval_showing(age) == interval


# -- precision -----------------------------------------------------------------------------
@pytest.mark.parametrize(("values", "precision"), [
    (["65000.10", "65001.2"], 2), (["0.0000123"], 7), (["70000"], 0), (["1E+3"], 0), (["0.12345678901234"], 10),
])
def test_precision_is_the_exchanges_own(values: list[str], precision: int) -> None:
    assert precision_of([Decimal(v) for v in values]) == precision


@pytest.mark.parametrize(("value", "precision", "shown"), [
    ("65000.1", 2, "65000.10"), ("0.0000123", 7, "0.0000123"), ("1E+5", 1, "100000.0"), ("2500", 0, "2500"),
])
def test_prices_are_shown_at_the_symbols_precision(value: str, precision: int, shown: str) -> None:
    assert format_price(Decimal(value), precision) == shown


@given(st.decimals(min_value=Decimal("0.0000000001"), max_value=Decimal("10000000"), places=None,
                   allow_nan=False, allow_infinity=False).filter(lambda d: d.as_tuple().exponent >= -10))
def test_a_price_at_its_own_precision_reads_back_the_same(value: Decimal) -> None:
    shown = format_price(value, precision_of([value]))
    assert Decimal(shown) == value and "E" not in shown and "e" not in shown


# -- drawing -------------------------------------------------------------------------------
def test_a_chart_is_a_1280_by_720_png_with_candles() -> None:
    candles = bars()
    png = render_chart(ChartSpec("BTCUSDT", "1h", candles, (
        Level(Decimal("66000"), True, 12), Level(Decimal("64000"), False, 13, highlight=True),
        Level(Decimal("990000"), True, 14),  # far away: pinned at the edge, the candles keep their room
    ), Mark(candles[-5].open_time + 60_000, candles[-5].high)))
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.size) == ("PNG", (WIDTH, HEIGHT)) == ("PNG", (1280, 720))
    colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert len(colours) > 50 and max(count for count, _ in colours) < 0.95 * WIDTH * HEIGHT


@pytest.mark.parametrize("interval", ["1m", "5m", "15m", "1h", "4h", "1d"])
def test_every_interval_draws_without_font_warnings_even_for_non_ascii_symbols(interval: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph is a warning in matplotlib
        png = render_chart(ChartSpec("币安人生USDT", interval, bars("币安人生USDT", "0.1234500", interval)))
    assert png.startswith(b"\x89PNG")


@pytest.mark.parametrize("interval", ["1m", "1h", "1d"])
def test_the_picture_holds_no_words_only_numbers_utc_and_marks(interval: str) -> None:
    """Words belong in the caption, in the chat's language; the picture reads the same in any."""
    candles = bars(interval=interval)
    outside = (Level(Decimal("990000"), True, 14), Level(Decimal("1"), False, 15), Level(Decimal("65000"), True, 16))
    for mark in (Mark(candles[-5].open_time, candles[-5].high), Mark(candles[-5].open_time)):
        spec = ChartSpec("BTCUSDT", interval, candles, outside, mark)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a glyph DejaVu Sans lacks is a warning in matplotlib
            render_chart(spec)
            figure = draw_chart(spec)
            figure.canvas.draw()
        shown = [t.get_text() for t in figure.findobj(Text) if t.get_text().strip()]
        words = [text for text in shown if not re.fullmatch(r"[0-9.:#\- ▲▼✕]*|UTC|BTCUSDT  " + interval, text)]
        assert words == []
        assert any(text.endswith(" ▲") for text in shown) and any(text.endswith(" ▼") for text in shown)
        assert any("✕" in text for text in shown)


def test_a_chart_needs_bars() -> None:
    with pytest.raises(ValueError):
        render_chart(ChartSpec("BTCUSDT", "1h", ()))


# -- klines --------------------------------------------------------------------------------
def test_klines_are_read_as_decimals() -> None:
    (kline,) = parse_klines([[1, "65000.10", "65100.00", "64900.5", "65050.0", "12.3", 3_599_999, "0", 5, "0", "0", "0"]])
    assert (kline.open, kline.high, kline.low, kline.close) == (
        Decimal("65000.10"), Decimal("65100.00"), Decimal("64900.5"), Decimal("65050.0"))
    assert str(kline.open) == "65000.10" and kline.close_time == 3_599_999


@pytest.mark.parametrize("row", [
    [1, 65000.1, "1", "1", "1", "0", 2], [1, "x", "1", "1", "1", "0", 2], [1, "1", "1", "1", "1", "0"],
    ["1", "1", "1", "1", "1", "0", 2], {"open": "1"},
])
def test_unreadable_klines_are_refused(row: object) -> None:
    with pytest.raises(ExchangeError):
        parse_klines([row])


@pytest.fixture
async def rest() -> FakeBinanceRest:
    fake = FakeBinanceRest()
    await fake.start()
    yield fake
    await fake.stop()


async def test_klines_client_reads_klines_and_the_weight(rest: FakeBinanceRest) -> None:
    client = KlineClient(rest.url)
    klines = await client.klines("ETHUSDT", "5m", 96)
    await client.close()
    assert len(klines) == 96 and str(klines[-1].close) == rest.prices["ETHUSDT"]
    assert all(b.open_time - a.open_time == 300_000 for a, b in zip(klines, klines[1:]))
    assert client.weight_used == 1


@pytest.mark.parametrize("status", [429, 418])
async def test_klines_client_sends_nothing_before_retry_after(rest: FakeBinanceRest, status: int) -> None:
    client = KlineClient(rest.url)
    rest.fail_next(status, retry_after=30)
    with pytest.raises(RateLimited) as caught:
        await client.klines("BTCUSDT", "1h", 96)
    assert caught.value.until == pytest.approx(time.time() + 30, abs=2)
    with pytest.raises(RateLimited):
        await client.klines("ETHUSDT", "1h", 96)
    await client.close()
    assert len(rest.requests) == 1 and rest.violations == []


async def test_klines_client_waits_while_the_websocket_client_must(rest: FakeBinanceRest) -> None:
    client = KlineClient(rest.url, shared_block=lambda: time.time() + 10)
    with pytest.raises(RateLimited):
        await client.klines("BTCUSDT", "1h", 96)
    await client.close()
    assert rest.requests == []


@pytest.mark.parametrize("status", [429, 418])
async def test_after_a_klines_429_or_418_no_ticker_price_is_sent_before_retry_after(
        rest: FakeBinanceRest, exchange: FakeExchange, status: int) -> None:
    """The limit is the IP's: a ban earned by charts stops the ticks' requests too."""
    klines = KlineClient(rest.url)
    client = BinanceClient(exchange.url, ClientOptions(request_timeout=2.0),
                           shared_block=lambda: klines.rate_limited_until)
    try:
        rest.fail_next(status, retry_after=1)
        with pytest.raises(RateLimited):
            await klines.klines("BTCUSDT", "1h", 96)
        refused_at = rest.requests[0].at
        with pytest.raises(RateLimited) as caught:
            await client.request("ticker.price", {"symbol": "BTCUSDT"})
        assert caught.value.until == pytest.approx(refused_at + 1, abs=0.5)
        assert exchange.ticker_requests() == []
        await asyncio.sleep(max(0.0, caught.value.until - time.time()))  # the time Binance asked for
        assert (await client.request("ticker.price", {"symbol": "BTCUSDT"}))["symbol"] == "BTCUSDT"
        assert [r.at >= refused_at + 1 for r in exchange.ticker_requests()] == [True]
    finally:
        await client.close()
        await klines.close()


async def test_a_restricted_location_for_klines_does_not_stop_the_ticks(
        rest: FakeBinanceRest, exchange: FakeExchange) -> None:
    klines = KlineClient(rest.url)
    client = BinanceClient(exchange.url, ClientOptions(request_timeout=2.0),
                           shared_block=lambda: klines.rate_limited_until)
    try:
        rest.fail_next(451)
        with pytest.raises(RestrictedLocation):
            await klines.klines("BTCUSDT", "1h", 96)
        assert (await client.request("ticker.price", {"symbol": "BTCUSDT"}))["symbol"] == "BTCUSDT"
    finally:
        await client.close()
        await klines.close()


@pytest.mark.parametrize("status", [451, 403])
async def test_a_restricted_location_pauses_charts(rest: FakeBinanceRest, status: int) -> None:
    client = KlineClient(rest.url)
    rest.fail_next(status)
    for _ in range(2):
        with pytest.raises(RestrictedLocation):
            await client.klines("BTCUSDT", "1h", 96)
    await client.close()
    assert len(rest.requests) == 1


async def test_binance_errors_keep_their_code(rest: FakeBinanceRest) -> None:
    client = KlineClient(rest.url)
    with pytest.raises(RequestRefused) as caught:
        await client.klines("NOPEUSDT", "1h", 96)
    assert (caught.value.status, caught.value.code) == (400, -1121)
    with pytest.raises(RequestRefused) as caught:
        await client.klines("BTCUSDT", "2x", 96)
    assert caught.value.code == -1120
    rest.fail_next(503)
    with pytest.raises(ExchangeUnavailable):
        await client.klines("BTCUSDT", "1h", 96)
    await client.close()


async def test_an_unreachable_server_is_unavailable_not_a_crash() -> None:
    client = KlineClient("http://127.0.0.1:9", timeout=2)
    with pytest.raises(ExchangeUnavailable):
        await client.klines("BTCUSDT", "1h", 96)
    await client.close()


# -- the shared cache ----------------------------------------------------------------------
async def test_concurrent_callers_share_one_making() -> None:
    shared: Shared[int] = Shared(ttl=30)
    calls = 0

    async def make() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return 42

    assert await asyncio.gather(*(shared.get("k", make) for _ in range(20))) == [42] * 20
    assert await shared.get("k", make) == 42 and calls == 1
    assert await shared.get("other", make) == 42 and calls == 2


async def test_a_failure_is_not_kept_and_an_old_value_is_made_again() -> None:
    shared: Shared[int] = Shared(ttl=0.05)
    outcomes: list[int | Exception] = [RuntimeError("down"), 1, 2]

    async def make() -> int:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    with pytest.raises(RuntimeError):
        await shared.get("k", make)
    assert await shared.get("k", make) == 1
    assert await shared.get("k", make) == 1
    await asyncio.sleep(0.06)
    assert await shared.get("k", make) == 2


async def test_one_caller_giving_up_does_not_cancel_the_others() -> None:
    shared: Shared[str] = Shared(ttl=30)
    release = asyncio.Event()

    async def make() -> str:
        await release.wait()
        return "png"

    impatient = asyncio.ensure_future(shared.get("k", make))
    patient = asyncio.ensure_future(shared.get("k", make))
    await asyncio.sleep(0)
    impatient.cancel()
    release.set()
    assert await patient == "png"


# -- captions and buttons ------------------------------------------------------------------
@dataclass
class FakeAlert:
    id: int
    symbol: str = "BTCUSDT"
    direction: Direction = Direction.UP
    level: Decimal = Decimal("70000")
    note: str = ""
    state: str = "active"
    repeat_seconds: int | None = None
    expires_at: datetime | None = None
    rearm_after: datetime | None = None
    window_seconds: int | None = None


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_caption_stays_within_1024_characters_and_valid_html(lang: str) -> None:
    alerts = [FakeAlert(i, note="<script> & 止盈 " * 20) for i in range(1, 101)]
    caption = Texts(lang).chart_caption("币安人生USDT", "1h", "0.1234500", alerts,
                                        (7, Decimal("0.1250000"), datetime(2026, 11, 25, 12, 0)))
    plain = parse_html(caption)
    assert len(plain.encode("utf-16-le")) // 2 <= 1024
    assert plain.startswith("📈 币安人生USDT · 1h") and "0.1234500" in plain and "#7" in plain
    assert "<script> & 止盈" in plain and plain.endswith("…")


def test_notifications_get_a_chart_button_per_fired_alert_and_expiries_none() -> None:
    def message(alert_id: int, kind: MessageKind) -> PendingMessage:
        return PendingMessage(alert_id, 1, "text", 0, alert_id=alert_id, kind=kind)

    single = notification_keyboard([message(5, MessageKind.FIRED)])
    assert [[b["callback_data"] for b in row] for row in single] == [["nsnz:5", "narm:5", "ndel:5"], ["nchart:5"]]
    assert single[1][0]["text"] == "📈 Chart"
    several = notification_keyboard([message(1, MessageKind.FIRED), message(2, MessageKind.REPEAT),
                                     message(3, MessageKind.EXPIRED)])
    assert [b["text"] for b in several[-1]] == ["📈 Chart #1", "📈 Chart #2"]
    assert notification_keyboard([message(3, MessageKind.EXPIRED)]) == []


def test_a_price_chart_button_carries_the_symbol_when_it_fits() -> None:
    assert symbol_chart_keyboard(Texts(), "BTCUSDT").inline_keyboard[0][0].callback_data == "chart:BTCUSDT"
    assert symbol_chart_keyboard(Texts(), "币" * 20) is None  # 60 bytes of symbol: over Telegram's 64


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kathmandu", "Europe/Berlin"])
def test_the_time_axis_is_on_the_chats_clock(zone: str) -> None:
    """/timezone (issue 25): ticks mark the bars that hold a round time (00:00, 12:00) of the
    chat's clock, labelled with the bar's time there; the axis is named after the zone."""
    from bot.charts.render import _time_ticks

    candles = bars(interval="1h")
    ticks, labels = _time_ticks(candles, "1h", zone)
    offset = {"UTC": 0, "Asia/Kathmandu": 345 * 60_000, "Europe/Berlin": 60 * 60_000}[zone]  # NOW_MS: winter
    assert len(ticks) >= 7  # 96 hours: a tick every 12 hours
    for i in ticks:
        start = candles[i].open_time + offset
        assert (start + 3_600_000 - 1) // 43_200_000 != (start - 1) // 43_200_000  # holds a multiple of 12 h
    suffix = ("11:45", "23:45") if zone == "Asia/Kathmandu" else ("00:00", "12:00")  # 11:45 holds 12:00
    assert all(label.endswith(suffix) for label in labels)
    figure = draw_chart(ChartSpec("BTCUSDT", "1h", candles, zone=zone))
    figure.canvas.draw()
    assert zone in [t.get_text() for t in figure.findobj(Text)]
