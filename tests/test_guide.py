"""`/alert` with no arguments walks the user through symbol, level and confirmation."""

from __future__ import annotations

from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

USER = 1001


async def test_guided_creation_with_buttons(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert")
    ask_symbol = await telegram.wait_for_message(USER, "Which symbol")
    assert "gs:BTCUSDT" in [b["callback_data"] for b in ask_symbol.buttons()]
    await telegram.press_button(ask_symbol, "gs:BTCUSDT")
    ask_level = await telegram.wait_for_message(USER, "At what price")
    assert "64000.00" in ask_level.plain
    assert [b["callback_data"] for b in ask_level.buttons()] == ["gl:-5", "gl:-1", "gl:+1", "gl:+5"]
    await telegram.press_button(ask_level, "gl:+5")
    confirm = await telegram.wait_for_message(USER, "Create this alert?")
    assert "BTCUSDT rises to ≥ 67200.00 (+5.00%)" in confirm.plain
    await telegram.press_button(confirm, "gc:yes")
    assert "BTCUSDT rises to ≥ 67200.00" in (await telegram.wait_for_message(USER, "✅ Alert")).plain
    exchange.set_price("BTCUSDT", "67200.00")
    await telegram.wait_for_message(USER, "🔔")


async def test_guided_creation_by_typing_asks_again_on_bad_answers(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("ETHUSDT", "2600.00")
    await telegram.user_sends(USER, "/alert")
    await telegram.wait_for_message(USER, "Which symbol")
    await telegram.user_sends(USER, "eth")
    unknown = await telegram.wait_for_message(USER, "not a Binance")
    assert "gs:ETHUSDT" in [b["callback_data"] for b in unknown.buttons()]
    await telegram.user_sends(USER, "ethusdt")
    await telegram.wait_for_message(USER, "At what price")
    await telegram.user_sends(USER, "cheap")
    assert "Try again" in (await telegram.wait_for_message(USER, "is not a price")).plain
    await telegram.user_sends(USER, "below 2500 <b>buy</b>")
    confirm = await telegram.wait_for_message(USER, "Create this alert?")
    assert "ETHUSDT falls to ≤ 2500" in confirm.plain and "<b>buy</b>" in confirm.plain
    await telegram.press_button(confirm, "gc:yes")
    await telegram.wait_for_message(USER, "✅ Alert")
    assert telegram.rejected == []


async def test_cancel_leaves_the_guide_without_an_alert(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    await telegram.user_sends(USER, "/alert")
    await telegram.wait_for_message(USER, "Which symbol")
    await telegram.user_sends(USER, "BTCUSDT")
    await telegram.wait_for_message(USER, "At what price")
    await telegram.user_sends(USER, "/cancel")
    await telegram.wait_for_message(USER, "Cancelled")
    await telegram.user_sends(USER, "/alerts")
    await telegram.wait_for_message(USER, "no active alerts")
    await telegram.user_sends(USER, "/alert BTCUSDT 90000")  # the one-line form still works after
    await telegram.wait_for_message(USER, "✅ Alert")
