"""A group upgraded to a supergroup (a new chat id) keeps its alerts, its language and its messages."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import insert, select

from bot.alerts.rules import Direction
from bot.storage.models import Chat, GuideStep, MessageKind, OutboxMessage, OutboxState
from bot.storage.store import AlertStore, utcnow
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

GROUP, ADMIN = -4001, 501


async def test_migrating_moves_alerts_settings_pending_messages_and_guides(store: AlertStore) -> None:
    old, new, other = -4001, -1000000004001, -4002
    kept = await store.create_alert(old, "BTCUSDT", Direction.UP, Decimal("70000"), "mine")
    deleted = await store.create_alert(old, "ETHUSDT", Direction.DOWN, Decimal("2500"), "")
    await store.delete_alert(old, deleted.id)
    stranger = await store.create_alert(other, "BTCUSDT", Direction.UP, Decimal("70000"), "")
    await store.set_chat_language(old, "zh", chosen=True)
    await store.set_chat_language(new, "en", chosen=False)  # a first command in the supergroup guessed one
    now = utcnow()
    async with store._write() as session:
        await session.execute(insert(OutboxMessage), [
            {"chat_id": old, "text": "pending", "state": OutboxState.PENDING, "created_at": now, "attempts": 0,
             "kind": MessageKind.FIRED},
            {"chat_id": old, "text": "sent", "state": OutboxState.SENT, "created_at": now, "attempts": 1,
             "kind": MessageKind.FIRED},
        ])
        await session.execute(insert(GuideStep), [
            {"chat_id": old, "user_id": 7, "step": "level", "symbol": "BTCUSDT", "updated_at": now},
            {"chat_id": old, "user_id": 8, "step": "symbol", "updated_at": now},
            {"chat_id": new, "user_id": 8, "step": "confirm", "updated_at": now},
        ])
        await session.commit()

    assert await store.migrate_chat(old, new) == 2
    assert await store.migrate_chat(old, new) == 0  # the second announcement moves nothing

    assert [a.id for a in await store.list_active(new)] == [kept.id]
    assert await store.get_alert(new, deleted.id) is not None  # its history too
    assert await store.list_active(old) == []
    assert [a.id for a in await store.list_active(other)] == [stranger.id]
    assert await store.chat_language(new) == ("zh", True)
    assert await store.chat_language(old) is None
    async with store._sessions() as session:
        messages = dict((await session.execute(select(OutboxMessage.text, OutboxMessage.chat_id))).all())
        guides = sorted((await session.execute(select(GuideStep.chat_id, GuideStep.user_id, GuideStep.step))).all())
        chats = (await session.scalars(select(Chat.id))).all()
    assert messages == {"pending": new, "sent": old}
    assert guides == [(new, 7, "level"), (new, 8, "symbol")]
    assert sorted(chats) == [new]


async def _group_alert(telegram: FakeTelegram, exchange: FakeExchange) -> None:
    telegram.group_admins[GROUP] = {ADMIN}
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(GROUP, "/language zh", user_id=ADMIN, chat_type="group")
    await telegram.wait_for_message(GROUP, "简体中文")
    await telegram.user_sends(GROUP, "/alert BTCUSDT 65000 群里的", user_id=ADMIN, chat_type="group")
    await telegram.wait_for_message(GROUP, "BTCUSDT")


async def test_a_notification_refused_for_an_upgraded_group_goes_to_the_supergroup(
    bot, exchange: FakeExchange, telegram: FakeTelegram,
) -> None:
    await _group_alert(telegram, exchange)
    supergroup = await telegram.upgrade_group(GROUP, user_id=ADMIN, announce=False)
    exchange.set_price("BTCUSDT", "65000.00")
    fired = await telegram.wait_for_message(supergroup, "🔔")
    assert "BTCUSDT 涨到 65000.00" in fired.plain and "群里的" in fired.plain  # the group's language came along
    assert [r for r in telegram.rejected if r[0] == "sendMessage"] == [
        ("sendMessage", 400, "Bad Request: group chat was upgraded to a supergroup chat")]
    before = len(telegram.sent)
    await telegram.user_sends(supergroup, "/alerts", user_id=ADMIN, chat_type="supergroup")
    listing = await telegram.wait_for_message(supergroup, "BTCUSDT", after=before)
    assert "群里的" in listing.plain


async def test_the_service_message_moves_the_alerts_before_anything_is_refused(
    bot, exchange: FakeExchange, telegram: FakeTelegram,
) -> None:
    await _group_alert(telegram, exchange)
    supergroup = await telegram.upgrade_group(GROUP, user_id=ADMIN)
    telegram.group_admins[supergroup] = {ADMIN}
    store: AlertStore = bot.application.bot_data["store"]
    deadline = asyncio.get_running_loop().time() + 10
    while not await store.list_active(supergroup):  # the service messages were handled
        assert asyncio.get_running_loop().time() < deadline, "the alerts never moved"
        await asyncio.sleep(0.05)
    await telegram.user_sends(supergroup, "/alerts", user_id=ADMIN, chat_type="supergroup")
    listing = await telegram.wait_for_message(supergroup, "BTCUSDT")
    assert "你的提醒" in listing.plain and "群里的" in listing.plain and "65000" in listing.plain
    before = len(telegram.sent)
    await telegram.user_sends(supergroup, "/alert ETHUSDT 2500", user_id=ADMIN, chat_type="supergroup")
    assert "#2" in (await telegram.wait_for_message(supergroup, "ETHUSDT", after=before)).plain
    exchange.set_price("BTCUSDT", "65000.00")
    await telegram.wait_for_message(supergroup, "🔔")
    assert telegram.rejected == []
    assert telegram.messages_to(GROUP)[-1].plain.startswith("✅")  # nothing more went to the old id
