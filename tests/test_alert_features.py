"""Percent moves, repeating and expiring alerts, notification buttons and pages, as a user sees them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

USER = 1001


def bells(telegram: FakeTelegram, chat: int = USER) -> list:
    return [m for m in telegram.messages_to(chat) if "🔔" in m.plain]


async def test_percent_moves_set_levels_from_the_current_price(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert BTCUSDT +5%")
    assert "BTCUSDT rises to ≥ 67200.00 (+5.00%)" in (await telegram.wait_for_message(USER, "✅")).plain
    before = len(telegram.sent)
    await telegram.user_sends(USER, "/alert btcusdt ±2% range")
    both = (await telegram.wait_for_message(USER, "✅", after=before)).plain
    assert "#2: BTCUSDT rises to ≥ 65280.00 (+2.00%)" in both and "#3: BTCUSDT falls to ≤ 62720.00 (-2.00%)" in both
    exchange.set_price("BTCUSDT", "62700.00")
    assert "fell to 62700.00" in (await telegram.wait_for_message(USER, "🔔")).plain


async def test_notification_buttons_snooze_rearm_and_delete(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert BTCUSDT 65000 tp")
    await telegram.wait_for_message(USER, "✅")
    exchange.set_price("BTCUSDT", "65100.00")
    fired = await telegram.wait_for_message(USER, "🔔")
    assert [b["callback_data"] for b in fired.buttons()] == ["nsnz:1", "narm:1", "ndel:1", "nchart:1"]

    rearm = await telegram.press_button(fired, "narm:1")  # still above: no second notice, a new crossing first
    assert "#1 fires again after the price goes back below 64675 and crosses up" in await telegram.wait_for_answer(rearm)
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 3)
    assert len([m for m in telegram.messages_to(USER) if "🔔" in m.plain]) == 1
    exchange.set_price("BTCUSDT", "64600.00")  # back past the margin: armed
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 2)
    exchange.set_price("BTCUSDT", "65100.00")
    again = await telegram.wait_for_message(USER, "🔔", after=telegram.sent.index(fired) + 1)

    snooze = await telegram.press_button(again, "nsnz:1")
    assert "quiet until" in await telegram.wait_for_answer(snooze)
    await telegram.user_sends(USER, "/alerts")
    assert "😴 quiet until" in (await telegram.wait_for_message(USER, "Your alerts")).plain

    delete = await telegram.press_button(again, "ndel:1")
    assert "🗑 #1" in await telegram.wait_for_answer(delete)
    stale = await telegram.press_button(fired, "narm:1")
    assert "no longer exists" in await telegram.wait_for_answer(stale)
    forged = await telegram.press_button(fired, "nsnz:1", from_chat=2002)
    assert "no longer exists" in await telegram.wait_for_answer(forged)
    assert telegram.rejected == []


async def test_alerts_of_one_tick_share_a_message_with_a_button_row_each(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("ETHUSDT", "2600.00")
    for command in ("/alert ETHUSDT 2500", "/alert ETHUSDT 2550 every 1h"):
        before = len(telegram.sent)
        await telegram.user_sends(USER, command)
        await telegram.wait_for_message(USER, "✅", after=before)
    exchange.set_price("ETHUSDT", "2400.00")
    message = await telegram.wait_for_message(USER, "🔔")
    assert message.plain.count("🔔") == 2 and "fires again" in message.plain
    rows = message.reply_markup["inline_keyboard"]
    assert [[b["callback_data"] for b in row] for row in rows] == [
        ["nsnz:1", "narm:1", "ndel:1"], ["nsnz:2", "ndel:2"],  # a repeating alert re-arms by itself
        ["nchart:1", "nchart:2"]]
    await telegram.user_sends(USER, "/alerts")
    listing = (await telegram.wait_for_message(USER, "Your alerts")).plain
    assert "#2 ETHUSDT falls to ≤ 2550" in listing and "every 1h" in listing and "waits for the price to go back" in listing
    assert "Fired lately" in listing and "#1 ETHUSDT falls to ≤ 2500" in listing


async def test_an_alert_that_never_fires_expires_and_the_chat_is_told(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    soon = (datetime.now(timezone.utc) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    await telegram.user_sends(USER, f"/alert BTCUSDT 99999 until {soon}Z moonshot")
    assert "until" in (await telegram.wait_for_message(USER, "✅")).plain
    expired = await telegram.wait_for_message(USER, "⌛")
    assert "#1 (BTCUSDT rises to ≥ 99999) expired without firing" in expired.plain and "moonshot" in expired.plain
    assert expired.buttons() == []
    await telegram.user_sends(USER, "/alert BTCUSDT 99999 until 2020-01-01")
    await telegram.wait_for_message(USER, "already passed")


async def test_many_alerts_are_listed_in_pages(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    for level in range(90000, 90012):
        before = len(telegram.sent)
        await telegram.user_sends(USER, f"/alert BTCUSDT {level}")
        await telegram.wait_for_message(USER, "✅", after=before)
    await telegram.user_sends(USER, "/alerts")
    first = await telegram.wait_for_message(USER, "Your alerts")
    assert "page 1/2" in first.plain and "#10 " in first.plain and "#11 " not in first.plain
    assert first.buttons()[-1]["callback_data"] == "page:10"  # keyset: the next page starts after #10
    query = await telegram.press_button(first, "page:10")
    await telegram.wait_for_answer(query)
    second = await telegram.wait_for_edit(USER)
    assert "page 2/2" in second.plain and "#11 " in second.plain and "#12 " in second.plain
    assert [b["callback_data"] for b in second.buttons()] == ["del:11:10", "edit:11", "del:12:10", "edit:12", "page:0"]


async def test_a_move_within_a_window_fires_either_way(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    exchange.set_price("ETHUSDT", "2500.00")
    await telegram.user_sends(USER, "/alert BTCUSDT 3% 15m pump")
    assert "BTCUSDT moves ±3% within 15m" in (await telegram.wait_for_message(USER, "✅")).plain
    before = len(telegram.sent)
    await telegram.user_sends(USER, "/alert ETHUSDT 2% 1m dump")
    await telegram.wait_for_message(USER, "✅", after=before)
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 2)  # the bot has seen the prices
    exchange.set_price("BTCUSDT", "65000.00")  # +1.56 %: not yet
    exchange.set_price("ETHUSDT", "2449.00")  # -2.04 %
    dump = await telegram.wait_for_message(USER, "🔔")
    assert "ETHUSDT fell 2.04% within 1m: 2500.00 → 2449.00 (alert #2)" in dump.plain and "dump" in dump.plain
    exchange.set_price("BTCUSDT", "65920.00")
    pump = await telegram.wait_for_message(USER, "rose")
    assert "BTCUSDT rose 3.00% within 15m: 64000.00 → 65920.00 (alert #1)" in pump.plain
    assert len(bells(telegram)) == 2
    await telegram.user_sends(USER, "/alerts")
    assert "#1 BTCUSDT moves ±3% within 15m" in (await telegram.wait_for_message(USER, "Fired lately")).plain
