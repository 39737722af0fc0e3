"""Everywhere the bot shows alerts knows mark, index and funding alerts (issue 24 point 5,
docs/futures.md): /alerts measures each alert from the price it watches, /edit names that price,
/chart draws mark and index levels apart, /export and /import round-trip every kind."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

from PIL import Image

from bot.alerts.rules import Direction
from bot.charts.render import FALLING_ALERT, RISING_ALERT, render_chart
from bot.charts.spec import ChartSpec, Level
from bot.sources import PriceSource
from bot.texts.alerts import AlertTexts
from tests.conftest import RunningBot, eventually
from tests.fakes.exchange import FakeExchange
from tests.fakes.rest import FakeBinanceRest
from tests.fakes.streams import FakeStreams
from tests.fakes.telegram import FakeTelegram
from tests.test_charts import bars
from tests.test_chart_bot import wait_for_photo
from tests.test_futures_bot import USER, futures_bot, rest, streams  # noqa: F401  (fixtures)


async def marks_seen(bot: RunningBot, symbol: str, mark: str) -> None:
    ticker = bot.application.bot_data["parts"].ticker
    await eventually(lambda: getattr(ticker.marks.latest(symbol), "mark", None) == Decimal(mark))


async def command(telegram: FakeTelegram, text: str, contains: str = "") -> str:
    before = len(telegram.sent)
    await telegram.user_sends(USER, text)
    return (await telegram.wait_for_message(USER, contains, after=before)).plain


async def test_alerts_measures_a_mark_alert_from_the_mark_price_and_lists_the_closest_first(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,  # noqa: F811
) -> None:
    exchange.set_price("BTCUSDT", "69000.0")
    exchange.set_price("ETHUSDT", "2500.00")
    streams.marks.set("BTCUSDT", "71000", index="70900")
    await marks_seen(futures_bot, "BTCUSDT", "71000")
    await command(telegram, "/alert ETHUSDT 2550", "✅ Alert #1")  # 2 % from its (last) price
    await command(telegram, "/alert BTCUSDT mark 72000", "✅ Alert #2")  # 1.41 % from the mark, 4.35 % from the last
    await command(telegram, "/alert BTCUSDT index below 70000", "✅ Alert #3")
    await command(telegram, "/alert BTCUSDT funding above 0.05%", "✅ Alert #4")
    listed = await command(telegram, "/alerts", "Your alerts")
    lines = listed.split("\n")
    assert "#2 BTCUSDT mark price rises to ≥ 72000 · +1.41% from mark price 71000.00" in lines
    assert "#3 BTCUSDT index price falls to ≤ 70000 · -1.27% from index price 70900.00" in lines
    assert "#4 BTCUSDT funding rate rises to ≥ 0.05 · now 0.01%" in lines
    assert "#1 ETHUSDT rises to ≥ 2550 · +2.00% from 2500.00" in lines
    await command(telegram, "/liq BTCUSDT long 61234 at 10%", "Watching")
    listed = await command(telegram, "/alerts", "Your alerts")
    assert "#5 BTCUSDT mark price falls to ≤ 67357.4 · ⚠️ liquidation price 61234 · -5.13% from mark price 71000.00" \
        in listed  # a /liq step says what it warns of
    lines = [line for line in listed.split("\n") if not line.startswith("#5")]
    order = [line.split()[0] for line in lines if line.startswith("#")]
    assert order == ["#3", "#2", "#4", "#1"]  # BTCUSDT's closest (on the price each watches) first


def test_a_mark_alert_without_a_fresh_mark_price_says_it_is_unknown_in_both_languages() -> None:
    class Row:
        id, symbol, direction, level, note, state = 5, "BTCUSDT", Direction.UP, Decimal("72000"), "", "active"
        repeat_seconds = expires_at = rearm_after = rearm_level = window_seconds = None
        price_source = PriceSource.MARK

    prices = {"BTCUSDT": Decimal("69000")}
    assert "#5 BTCUSDT mark price rises to ≥ 72000 · mark price unknown" in AlertTexts("en").alert_list(
        [Row()], [], prices, 0, 1, sources={})
    assert "标记价格未知" in AlertTexts("zh").alert_list([Row()], [], prices, 0, 1, sources={})
    assert "距标记价格 71000 +1.41%" in AlertTexts("zh").alert_list(
        [Row()], [], prices, 0, 1, sources={PriceSource.MARK: {"BTCUSDT": Decimal("71000")}})


async def test_edit_of_a_mark_alert_names_the_price_it_watches(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,  # noqa: F811
) -> None:
    exchange.set_price("BTCUSDT", "69000.0")
    streams.marks.set("BTCUSDT", "71000", index="70900")
    await marks_seen(futures_bot, "BTCUSDT", "71000")
    await command(telegram, "/alert BTCUSDT mark 72000", "✅ Alert #1")
    await command(telegram, "/alert BTCUSDT index 72000", "✅ Alert #2")
    edited = await command(telegram, "/edit 1 70500", "moved")
    assert "Alert #1 moved: BTCUSDT mark price falls to ≤ 70500" in edited
    assert "Watches the mark price, now 71000.00." in edited
    edited = await command(telegram, "/edit 2 73000", "moved")
    assert "moved: BTCUSDT index price rises to ≥ 73000" in edited
    assert "Watches the index price, now 70900.00." in edited
    await command(telegram, "/language zh", "中文")
    edited = await command(telegram, "/edit 1 70400", "#1")
    assert "标记价格" in edited


def line_share(png: bytes, colour: str) -> float:
    """How much of the row most drawn in `colour` (near it: lines are smoothed) it covers, over the
    picture's left 60 % (the labels are at the right): about 0.6 for a dashed line, 0.3 dotted."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    wanted = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    width = int(image.width * 0.6)
    pixels = image.load()
    rows = [sum(sum(abs(a - b) for a, b in zip(pixels[x, y], wanted)) < 120 for x in range(width))
            for y in range(image.height)]
    return max(rows) / width


def test_a_mark_or_index_level_is_drawn_dotted_a_last_price_level_dashed() -> None:
    candles = bars()
    for source, dotted in (("last", False), ("mark", True), ("index", True)):
        png = render_chart(ChartSpec("BTCUSDT", "1h", candles, (Level(Decimal("65000.10"), True, 1, source=source),)))
        assert (line_share(png, RISING_ALERT) < 0.4) is dotted, source


async def test_chart_draws_a_mark_level_dotted_says_so_and_leaves_funding_alerts_out(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,  # noqa: F811
    rest: FakeBinanceRest,  # noqa: F811
) -> None:
    exchange.set_price("BTCUSDT", "69000.0")
    rest.prices["BTCUSDT"] = "69000.0"  # the klines end there
    streams.marks.set("BTCUSDT", "71000")
    await marks_seen(futures_bot, "BTCUSDT", "71000")
    await command(telegram, "/alert BTCUSDT mark 68500", "✅ Alert #1")
    await command(telegram, "/alert BTCUSDT funding above 0.05%", "✅ Alert #2")
    await command(telegram, "/alert BTCUSDT funding 15m before", "✅ Alert #3")
    await telegram.user_sends(USER, "/chart BTCUSDT")
    photo = await wait_for_photo(telegram, USER)
    assert "Dotted lines: levels on the mark price (M) or the index price (I)." in photo.plain
    assert "#1 mark price falls to ≤ 68500" in photo.plain
    assert "#2" not in photo.plain and "#3" not in photo.plain  # a rate and a time are not price levels
    assert 0.05 < line_share(photo.photo, FALLING_ALERT) < 0.4  # drawn, dotted
    assert telegram.rejected == []


async def test_export_and_import_round_trip_every_kind_and_an_imported_liq_step_still_warns_of_liquidation(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,  # noqa: F811
) -> None:
    exchange.set_price("BTCUSDT", "69000.0")
    exchange.set_price("ETHUSDT", "2500.00")
    streams.marks.set("BTCUSDT", "69000", index="68990", rate="0.0001")
    streams.marks.set("ETHUSDT", "2500", index="2499")
    await marks_seen(futures_bot, "BTCUSDT", "69000")
    await marks_seen(futures_bot, "ETHUSDT", "2500")
    for text in ("/alert BTCUSDT 72000 every 1h margin 1% silent", "/alert BTCUSDT 3% 15m", "/alert BTCUSDT mark below 65000",
                 "/alert BTCUSDT index above 75000 for 1d", "/alert BTCUSDT funding below -0.01%",
                 "/alert BTCUSDT funding 15m before every"):
        await command(telegram, text, "✅")
    await command(telegram, "/liq BTCUSDT long 61234", "Watching")
    await command(telegram, "/liq ETHUSDT short 3000 at 3.5%", "Watching")
    before = len(telegram.sent)
    await telegram.user_sends(USER, "/export")
    exported = await telegram.wait_for_message(USER, "10 alerts", after=before)
    assert exported.document is not None
    rows = exported.document.decode("utf-8-sig").splitlines()[1:]
    assert "BTCUSDT,liq long 61234,67357.4,,,," in rows and "ETHUSDT,liq short 3000,2895,,,," in rows
    await telegram.user_sends_document(USER + 1, exported.filename, exported.document, caption="/import")
    answer = (await telegram.wait_for_message(USER + 1, "Import")).plain
    assert "10 created, 0 refused" in answer, answer
    await telegram.user_sends(USER + 1, "/export")
    again = await telegram.wait_for_message(USER + 1, "10 alerts")
    assert again.document == exported.document  # every kind, its options, and the /liq steps as they were
    streams.marks.set("ETHUSDT", "2900")  # within 3.5 % of the short's liquidation price (2895)
    warning = await telegram.wait_for_message(USER + 1, "⚠️")
    assert "ETHUSDT mark price 2900.00 is 3.33% from your liquidation price 3000 (short" in warning.plain


def test_the_mini_app_words_the_new_kinds_in_english_and_chinese() -> None:
    script = (Path(__file__).resolve().parent.parent / "bot/webapp/static/api.js").read_text(encoding="utf-8")
    english = script[script.index("en: {"):script.index("zh: {")]
    chinese = script[script.index("zh: {"):script.index("};", script.index("zh: {"))]
    keys = [set(re.findall(r"\b(\w+): \"", block)) for block in (english, chinese)]
    assert keys[0] == keys[1]
    assert {"markPrice", "indexPrice", "fundingRate", "fromSource", "unknownSource", "reminder", "liq", "legend",
            "notPriceLevel", "noMark"} <= keys[0]


async def test_edit_of_a_funding_alert_speaks_of_rates_and_of_a_reminder_refuses_what_it_cannot_read(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,  # noqa: F811
) -> None:
    streams.marks.set("BTCUSDT", "71000", rate="0.0001")
    await marks_seen(futures_bot, "BTCUSDT", "71000")
    await command(telegram, "/alert BTCUSDT funding above 0.05%", "✅ Alert #1")
    await command(telegram, "/alert BTCUSDT funding 15m before", "✅ Alert #2")
    edited = await command(telegram, "/edit 1 0.08", "#1")
    assert "moved: BTCUSDT funding rate rises to ≥ 0.08%" in edited and "The funding rate is now 0.01%." in edited
    refused = await command(telegram, "/edit 2 30m", "#2")
    assert "#2 is a funding reminder" in refused  # not a lead of 30 million seconds
    listed = await command(telegram, "/alerts", "Your alerts")
    assert "#2 BTCUSDT funding reminder 15m before" in listed


async def test_the_chart_of_a_funding_notification_draws_no_rate_as_a_price_and_a_mark_ones_names_its_price(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,  # noqa: F811
    rest: FakeBinanceRest,  # noqa: F811
) -> None:
    exchange.set_price("BTCUSDT", "69000.0")
    rest.prices["BTCUSDT"] = "69000.0"
    streams.marks.set("BTCUSDT", "69500", rate="0.0001")
    await marks_seen(futures_bot, "BTCUSDT", "69500")
    await command(telegram, "/alert BTCUSDT funding above 0.05%", "✅ Alert #1")
    await command(telegram, "/alert BTCUSDT mark 70000", "✅ Alert #2")
    streams.marks.set("BTCUSDT", "70010.5", rate="0.0006")
    for alert_id, words in ((1, "funding rate rose to"), (2, "mark price rose to")):
        fired = await telegram.wait_for_message(USER, words, timeout=5)
        assert any(b["callback_data"] == f"nchart:{alert_id}" for b in fired.buttons())
        before = len(telegram.sent)
        await telegram.press_button(fired, f"nchart:{alert_id}")
        photo = await telegram.wait_for_message(USER, "📈", after=before, timeout=20)
        assert photo.photo is not None
        if alert_id == 1:
            assert "crossed" not in photo.plain and "#1" not in photo.plain  # 0.06 is a rate, not a price
        else:
            assert "🔔 #2 crossed 70010.5" in photo.plain and "#2 mark price rises to ≥ 70000" in photo.plain
