"""Pausing, per-chat limits, the private-bot allowlist and the operators' /stats."""

from __future__ import annotations

from tests.conftest import bot_settings, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

USER, OTHER, ADMIN = 1001, 2002, 9009


async def test_pause_silences_alerts_and_resume_brings_them_back(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert BTCUSDT 65000 paused one")
    await telegram.wait_for_message(USER, "✅")
    await telegram.user_sends(OTHER, "/alert ETHUSDT 19999")  # keeps ticks polling
    await telegram.wait_for_message(OTHER, "✅")
    await telegram.user_sends(USER, "/pause")
    assert "1 alert paused" in (await telegram.wait_for_message(USER, "⏸")).plain
    before = len(telegram.sent)
    await telegram.user_sends(USER, "/start")  # /start brings back a blocked chat, not a paused one
    assert "Welcome back" not in (await telegram.wait_for_message(USER, "pricealert", after=before)).plain
    exchange.set_price("BTCUSDT", "66000.00")
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 3)
    assert not [m for m in telegram.messages_to(USER) if "🔔" in m.plain]
    await telegram.user_sends(USER, "/alerts")
    assert "⏸ paused" in (await telegram.wait_for_message(USER, "Your alerts")).plain
    await telegram.user_sends(USER, "/resume")
    resumed = (await telegram.wait_for_message(USER, "▶️")).plain
    # The level was passed during the pause: that was no crossing the user saw; the next one counts.
    assert "1 alert watching again" in resumed
    assert "Passed during the pause, so they wait for a new crossing:\n#1 BTCUSDT rises to ≥ 65000 · now 66000.00" in resumed
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 3)
    assert not [m for m in telegram.messages_to(USER) if "🔔" in m.plain]
    exchange.set_price("BTCUSDT", "64999.00")
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 2)
    exchange.set_price("BTCUSDT", "65001.00")
    assert "paused one" in (await telegram.wait_for_message(USER, "🔔")).plain
    await telegram.user_sends(USER, "/resume")
    await telegram.wait_for_message(USER, "Nothing to resume")


async def test_a_chat_cannot_exceed_its_alert_limit(database_url: str, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    application = await start_bot(bot_settings(database_url, exchange, telegram, max_alerts_per_chat=2))
    try:
        for level in ("90000", "91000"):
            await telegram.user_sends(USER, f"/alert BTCUSDT {level}")
            await telegram.wait_for_message(USER, level)
        await telegram.user_sends(USER, "/pause")  # pausing frees no room
        await telegram.wait_for_message(USER, "⏸")
        await telegram.user_sends(USER, "/alert BTCUSDT 92000")
        assert "/delete" in (await telegram.wait_for_message(USER, "2 active alerts, the most")).plain
        await telegram.user_sends(USER, "/delete 1")  # paused alerts can be deleted, which frees room
        await telegram.wait_for_message(USER, "#1 (BTCUSDT) deleted")
        await telegram.user_sends(USER, "/alert BTCUSDT 92000")
        await telegram.wait_for_message(USER, "92000")
    finally:
        await stop_bot(application)


async def test_only_allowed_chats_are_served(database_url: str, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    application = await start_bot(bot_settings(database_url, exchange, telegram, allowed_chat_ids=frozenset({USER})))
    try:
        await telegram.user_sends(OTHER, "/alert BTCUSDT 90000")
        assert "private" in (await telegram.wait_for_message(OTHER, "Sorry")).plain
        await telegram.user_sends(USER, "/alert BTCUSDT 90000")
        await telegram.wait_for_message(USER, "✅")
        assert not [m for m in telegram.messages_to(OTHER) if "✅" in m.plain]
    finally:
        await stop_bot(application)


async def test_stats_are_for_admins_only(database_url: str, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    application = await start_bot(bot_settings(database_url, exchange, telegram, admin_ids=frozenset({ADMIN})))
    try:
        await telegram.user_sends(USER, "/alert BTCUSDT 90000")
        await telegram.wait_for_message(USER, "✅")
        await exchange.wait_for_requests(2)
        await telegram.user_sends(USER, "/stats")
        await telegram.wait_for_message(USER, "don't know that command")
        await telegram.user_sends(ADMIN, "/stats")
        stats = (await telegram.wait_for_message(ADMIN, "Stats")).plain
        assert "Chats with alerts: 1" in stats and "Active alerts: 1" in stats
        assert "of 2400" in stats and "Messages sent: 0" in stats
    finally:
        await stop_bot(application)


async def test_in_groups_only_admins_change_alerts(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    group, admin, member = -100555, 31, 32
    telegram.group_admins[group] = {admin}
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(group, "/alert@pricealert_test_bot BTCUSDT 65000 group tp", user_id=member, chat_type="supergroup")
    assert "only its administrators" in (await telegram.wait_for_message(group, "administrators")).plain
    before = len(telegram.sent)
    await telegram.user_sends(group, "/alert@pricealert_test_bot BTCUSDT 65000 group tp", user_id=admin, chat_type="supergroup")
    await telegram.wait_for_message(group, "✅", after=before)
    await telegram.user_sends(group, "/alerts", user_id=member, chat_type="supergroup")  # reading is for everyone
    listing = await telegram.wait_for_message(group, "Your alerts")
    press = await telegram.press_button(listing, "del:1:0", user_id=member)
    assert "Only group administrators" in await telegram.wait_for_answer(press)
    exchange.set_price("BTCUSDT", "65000.00")
    assert "group tp" in (await telegram.wait_for_message(group, "🔔")).plain  # alerts belong to the group
    lookups = telegram.member_lookups
    before = len(telegram.sent)
    await telegram.user_sends(group, "/delete 1", user_id=admin, chat_type="supergroup")
    await telegram.wait_for_message(group, "deleted", after=before)
    assert telegram.member_lookups == lookups  # the admin's rights were cached
