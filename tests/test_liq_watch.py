"""`/liq` as one watch (docs/futures.md): its steps end together, by /delete of any of them or by
the end the trader gave; a bad price gets an answer. The real bot against the fakes."""

from __future__ import annotations

from datetime import timedelta

from bot.storage.base import utcnow
from tests.conftest import RunningBot, eventually
from tests.fakes.exchange import FakeExchange
from tests.fakes.streams import FakeStreams
from tests.fakes.telegram import FakeTelegram
from tests.test_futures_bot import USER, futures_bot, rest, streams, ticks_pass  # noqa: F401 (fixtures)
from tests.test_futures_shown import command, marks_seen


async def test_deleting_one_warning_ends_its_whole_watch_and_no_other(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    parts = futures_bot.application.bot_data["parts"]
    streams.marks.set("BTCUSDT", "70000")
    await marks_seen(futures_bot, "BTCUSDT", "70000")
    created = await command(telegram, "/liq BTCUSDT long 60000")
    assert "#1 (10%), #2 (5%), #3 (2%)" in created and "/delete with any of these numbers ends the whole watch" in created
    assert "#4 (10%)" in await command(telegram, "/liq BTCUSDT short 80000")
    deleted = await command(telegram, "/delete 2")
    assert deleted == "🗑 Alert #2 deleted, and with it every warning of your BTCUSDT liquidation watch at 60000."
    assert [a.id for a in await parts.alerts.live_alerts(USER)] == [4, 5, 6]  # the short's watch stays
    streams.marks.set("BTCUSDT", "60500")  # within every step of the deleted long watch
    await ticks_pass(parts.ticker, 3)
    assert [m.plain for m in telegram.messages_to(USER) if "⚠️" in m.plain] == []
    # A plain alert is deleted alone, as before.
    assert "✅" in await command(telegram, "/alert BTCUSDT mark 99000")
    assert await command(telegram, "/delete 7") == "🗑 Alert #7 (BTCUSDT) deleted."
    assert [a.id for a in await parts.alerts.live_alerts(USER)] == [4, 5, 6]


async def test_a_watch_ends_when_the_trader_said_and_bad_words_get_an_answer(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    parts = futures_bot.application.bot_data["parts"]
    await eventually(lambda: parts.ticker.marks.latest("BTCUSDT") is not None)
    assert "Watching BTCUSDT long" in await command(telegram, "/liq BTCUSDT long 60000 at 3% 1% for 7d")
    steps = await parts.alerts.live_alerts(USER)
    assert len(steps) == 2 and len({a.expires_at for a in steps}) == 1  # one end for the whole watch
    assert abs(steps[0].expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)
    # Before: a price that is not one raised KeyError in the handler and the user heard nothing.
    assert "lots is not a price" in await command(telegram, "/liq BTCUSDT long lots")
    assert "soon" in await command(telegram, "/liq BTCUSDT long 60000 for soon")
    assert "already passed" in await command(telegram, "/liq BTCUSDT long 60000 until 2020-01-01")
    assert len(await parts.alerts.live_alerts(USER)) == 2  # nothing made by the refused ones


async def test_the_delete_button_under_a_warning_says_the_whole_watch_ended(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,
) -> None:
    parts = futures_bot.application.bot_data["parts"]
    streams.marks.set("BTCUSDT", "70000")
    await marks_seen(futures_bot, "BTCUSDT", "70000")
    await command(telegram, "/liq BTCUSDT long 60000")
    streams.marks.set("BTCUSDT", "65900")  # within 10 %: step #1 warns
    warning = await telegram.wait_for_message(USER, "⚠️")
    answer = await telegram.wait_for_answer(await telegram.press_button(warning, "ndel:1"))
    assert answer == "🗑 Alert #1 deleted, and with it every warning of your BTCUSDT liquidation watch at 60000."
    assert await parts.alerts.live_alerts(USER) == []
