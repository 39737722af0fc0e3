"""Time zones and quiet hours through the bot (issue 25): /timezone, times shown and `until` read
on the chat's clock across a daylight-saving change, quiet hours that silence notifications, and
digest quiet hours whose held messages survive a restart and come as one message at the end."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.alerts.hours import QuietHours, clock, quiet_until
from bot.alerts.rules import Direction
from bot.storage.models import OutboxMessage
from bot.storage.store import AlertStore
from bot.texts import Texts
from tests.conftest import bot_settings, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

USER = 9101


def _window_around_now() -> tuple[str, QuietHours]:
    """Quiet hours from an hour ago to an hour from now, in UTC (the default zone)."""
    now = datetime.now(timezone.utc)
    minute = now.hour * 60 + now.minute
    hours = QuietHours((minute - 60) % 1440, (minute + 60) % 1440)
    return f"{clock(hours.start)}-{clock(hours.end)}", hours


def test_the_chinese_until_usage_names_the_chats_clock_not_utc() -> None:
    bad = Texts("zh").usage_error("bad_until", "someday")
    assert "/timezone" in bad and "UTC" not in bad


async def _ask(telegram: FakeTelegram, text: str, contains: str) -> str:
    before = len(telegram.sent)
    await telegram.user_sends(USER, text)
    return (await telegram.wait_for_message(USER, contains, after=before)).plain


async def test_timezone_sets_the_clock_of_times_shown_and_until_across_a_dst_change(
    bot, exchange: FakeExchange, telegram: FakeTelegram,
) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    menu = await _ask(telegram, "/timezone", "time zone")
    assert "UTC" in menu
    labels = [b["text"] for b in telegram.messages_to(USER)[-1].buttons()]
    assert "Europe/Berlin" in labels and "America/New_York" in labels and "Asia/Shanghai" in labels

    assert "Europe/Berlin" in await _ask(telegram, "/timezone Europe/Berln", "/timezone Europe/Berlin")
    assert "Europe/Berlin" in await _ask(telegram, "/timezone europe/berlin", "Time zone set")

    winter = await _ask(telegram, "/alert BTCUSDT 70000 until 2027-03-27T12:00", "#1")
    summer = await _ask(telegram, "/alert BTCUSDT 71000 until 2027-03-28T12:00", "#2")
    assert "until 2027-03-27 12:00 CET" in winter and "until 2027-03-28 12:00 CEST" in summer
    store: AlertStore = bot.application.bot_data["store"]
    first, second = await store.get_alert(USER, 1), await store.get_alert(USER, 2)
    assert first is not None and first.expires_at == datetime(2027, 3, 27, 11, 0)  # stored in UTC
    assert second is not None and second.expires_at == datetime(2027, 3, 28, 10, 0)
    assert "until 2027-03-28 12:00 CEST" in await _ask(telegram, "/alerts", "Your alerts")
    bad = await _ask(telegram, "/alert BTCUSDT 72000 until 2027-02-30", "is not a date")
    assert "on your clock (see /timezone)" in bad and "UTC" not in bad  # `until` is read on this clock

    # A button picks a common zone; the list then shows the same moment on the new clock.
    before = len(telegram.sent)
    await telegram.user_sends(USER, "/timezone")
    menu_message = await telegram.wait_for_message(USER, "Pick one", after=before)
    query = await telegram.press_button(menu_message, next(b["callback_data"] for b in menu_message.buttons()
                                                           if b["text"] == "America/New_York"))
    await telegram.wait_for_answer(query)
    assert "America/New_York" in (await telegram.wait_for_edit(USER)).plain
    assert "until 2027-03-28 06:00 EDT" in await _ask(telegram, "/alerts", "Your alerts")


async def test_quiet_hours_silence_notifications_until_turned_off(
    bot, exchange: FakeExchange, telegram: FakeTelegram,
) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    window, _ = _window_around_now()
    assert "without a sound" in await _ask(telegram, f"/quiet {window}", "Quiet hours")
    await _ask(telegram, "/alert BTCUSDT 65000", "#1")
    before = len(telegram.sent)
    exchange.set_price("BTCUSDT", "65000.00")
    fired = await telegram.wait_for_message(USER, "🔔", after=before)
    assert fired.silent

    assert "ring again" in await _ask(telegram, "/quiet off", "Quiet hours are off")
    await _ask(telegram, "/alert BTCUSDT 64000", "#2")
    before = len(telegram.sent)
    exchange.set_price("BTCUSDT", "63999.00")
    fired = await telegram.wait_for_message(USER, "🔔", after=before)
    assert not fired.silent


async def test_a_digest_is_held_in_the_database_across_a_restart_and_sent_as_one_message(
    database_url: str, exchange: FakeExchange, telegram: FakeTelegram, store: AlertStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    exchange.set_price("ETHUSDT", "2400.00")
    window, hours = _window_around_now()
    settings = bot_settings(database_url, exchange, telegram)
    application = await start_bot(settings)
    try:
        assert "one digest" in await _ask(telegram, f"/quiet {window} digest", "Quiet hours")
        await _ask(telegram, "/alert BTCUSDT 65000 breakout", "#1")
        await _ask(telegram, "/alert ETHUSDT 2500 silent", "#2")
        before = len(telegram.sent)
        exchange.set_price("BTCUSDT", "65000.00")
        await _held(store, 1)
        exchange.set_price("ETHUSDT", "2500.00")  # fires later: the digest keeps the order
        rows = await _held(store, 2)
        end = quiet_until(datetime.now(timezone.utc).replace(tzinfo=None), ZoneInfo("UTC"), hours)
        assert rows == [end, end]  # held until the window ends, in the database
        assert [m for m in telegram.sent[before:] if "🔔" in m.plain] == []  # nothing sent meanwhile
    finally:
        await stop_bot(application)

    # Another process starts after the window ended: the digest goes out, one message, in order.
    assert end is not None
    monkeypatch.setattr("bot.notify.placement.clock", lambda: end + timedelta(minutes=1))
    application = await start_bot(settings)
    try:
        digest = await telegram.wait_for_message(USER, "During your quiet hours")
        assert digest.plain.startswith("🌙 During your quiet hours 2 notifications came, in order:")
        assert digest.plain.index("alert #1)") < digest.plain.index("alert #2)")
        assert "65000.00" in digest.plain and "2500.00" in digest.plain and "breakout" in digest.plain
        assert not digest.silent  # one of them rings
        data = [b["callback_data"] for b in digest.buttons()]
        assert {"nsnz:1", "narm:1", "ndel:1", "nsnz:2", "narm:2", "ndel:2"} <= set(data)
        query = await telegram.press_button(digest, "nsnz:2")
        assert "#2" in await telegram.wait_for_answer(query)  # its buttons still work
        assert len([m for m in telegram.sent if "🔔" in m.plain]) == 1
    finally:
        await stop_bot(application)


async def test_a_process_started_during_quiet_hours_sends_the_held_digest_when_they_end(
    database_url: str, exchange: FakeExchange, telegram: FakeTelegram, store: AlertStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    window, hours = _window_around_now()
    settings = bot_settings(database_url, exchange, telegram)
    application = await start_bot(settings)
    try:
        await _ask(telegram, f"/quiet {window} digest", "Quiet hours")
        await _ask(telegram, "/alert BTCUSDT 65000", "#1")
        exchange.set_price("BTCUSDT", "65000.00")
        [end] = await _held(store, 1)
        assert end is not None
    finally:
        await stop_bot(application)

    # A new process starts 2 s before the hours end (on the sender's clock, which runs on). Nothing
    # fires meanwhile, so only its own timer can send the digest; the idle poll would be 30 s late.
    started = time.time()
    monkeypatch.setattr("bot.notify.placement.clock", lambda: end - timedelta(seconds=2 - (time.time() - started)))
    application = await start_bot(settings)
    try:
        digest = await telegram.wait_for_message(USER, "During your quiet hours", timeout=40)
    finally:
        await stop_bot(application)
    sent_on_senders_clock = end - timedelta(seconds=2 - (digest.at - started))
    assert end <= sent_on_senders_clock < end + timedelta(seconds=5)  # when the hours end, not at the idle poll


async def _held(store: AlertStore, count: int) -> list[datetime | None]:
    """The outbox's held_until column once `count` messages are held (10 s at most)."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        async with store._sessions() as session:
            rows = list((await session.scalars(select(OutboxMessage.held_until).order_by(OutboxMessage.id))).all())
        if len([r for r in rows if r is not None]) >= count:
            return rows
        assert asyncio.get_running_loop().time() < deadline, f"not held: {rows}"
        await asyncio.sleep(0.02)


async def test_turning_quiet_hours_off_sends_what_was_held_at_once(
    bot, exchange: FakeExchange, telegram: FakeTelegram,
) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    window, _ = _window_around_now()
    await _ask(telegram, f"/quiet {window} digest", "Quiet hours")
    await _ask(telegram, "/alert BTCUSDT 65000", "#1")
    exchange.set_price("BTCUSDT", "65000.00")
    await _held(bot.application.bot_data["store"], 1)
    assert not [m for m in telegram.messages_to(USER) if "🔔" in m.plain]
    await telegram.user_sends(USER, "/quiet off")
    digest = await telegram.wait_for_message(USER, "During your quiet hours")
    assert "🌙 During your quiet hours 1 notification came:" in digest.plain and "alert #1)" in digest.plain


async def test_the_digest_goes_out_when_the_quiet_hours_end_not_at_the_next_idle_poll(
    bot, exchange: FakeExchange, telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch,
) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    window, hours = _window_around_now()
    end = quiet_until(datetime.now(timezone.utc).replace(tzinfo=None), ZoneInfo("UTC"), hours)
    assert end is not None
    started = time.monotonic()  # the sender's clock: 1.5 seconds before the window ends, and running
    monkeypatch.setattr("bot.notify.placement.clock",
                        lambda: end - timedelta(seconds=1.5 - (time.monotonic() - started)))
    await _ask(telegram, f"/quiet {window} digest", "Quiet hours")
    await _ask(telegram, "/alert BTCUSDT 65000", "#1")
    exchange.set_price("BTCUSDT", "65000.00")
    await _held(bot.application.bot_data["store"], 1)
    digest = await telegram.wait_for_message(USER, "During your quiet hours", timeout=15)  # idle poll: 30 s
    assert "alert #1)" in digest.plain


async def test_quiet_off_committed_between_the_senders_read_and_its_hold_is_not_undone(store: AlertStore) -> None:
    """The sender read a message while digest quiet hours held, then `/quiet off` committed (maybe
    on another replica) before the sender wrote its hold: the hold must not happen."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    await store.set_quiet(USER, 0, 1439, True)
    await store.create_alert(USER, "BTCUSDT", Direction.UP, Decimal("65000"), "")
    await store.fire_crossed({"BTCUSDT": Decimal("65000")}, lambda alert, *_: "🔔 BTCUSDT")
    [read] = await store.pending_messages(10, now)  # the sender's read: the chat holds a digest
    assert read.quiet == (0, 1439, True)

    await store.set_quiet(USER, None, None, False)  # /quiet off commits in between
    assert await store.hold_messages([read.id], now + timedelta(hours=1), now) == 0
    assert await _held(store, 0) == [None]
    assert [m.id for m in await store.pending_messages(10, now)] == [read.id]  # goes out now

    await store.set_quiet(USER, 0, 1439, True)  # with digest hours on, the same call holds it
    assert await store.hold_messages([read.id], now + timedelta(hours=1), now) == 1
    assert await store.pending_messages(10, now) == []
