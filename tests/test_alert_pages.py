"""/alerts reaches every alert: keyset pages over all of them ("page 3/14"), whatever
MAX_ALERTS_PER_CHAT is, each page within Telegram's 4,096 characters."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy import text

from bot.alerts.rules import Direction
from bot.storage.base import utcnow
from bot.storage.store import AlertStore
from tests.conftest import RunningBot, bot_settings, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram, Sent

USER = 1001
NOTE = "<b>&</b> " + "long note " * 19 + "end"  # 200 characters, with what HTML must escape


@pytest.fixture
async def roomy_bot(database_url: str, exchange: FakeExchange, telegram: FakeTelegram) -> AsyncIterator[RunningBot]:
    settings = bot_settings(database_url, exchange, telegram, max_alerts_per_chat=1000,
                            commands_per_minute=1000)  # a user paging through 14 pages quickly
    application = await start_bot(settings)
    yield RunningBot(application, settings)
    await stop_bot(application)


async def _make(bot: RunningBot, live: int, fired: int) -> list[int]:
    store: AlertStore = bot.application.bot_data["store"]
    specs = [{"symbol": "BTCUSDT", "direction": Direction.UP, "level": Decimal(90000 + n), "note": NOTE[:200]}
             for n in range(live + fired)]
    ids = [a.id for a in await store.create_alerts(USER, specs)]
    async with store._write() as session:  # the last ones fired lately: listed after the live ones
        for alert_id in ids[live:]:
            await session.execute(text("UPDATE alerts SET state = 'fired', fired_at = :t, closed_at = :t, "
                                       "fired_price = level WHERE id = :id"), {"t": utcnow(), "id": alert_id})
        await session.commit()
    return ids


def _ids(message: Sent) -> list[int]:
    return [int(n) for n in re.findall(r"^#(\d+) ", message.plain, re.MULTILINE)]


def _page(message: Sent) -> str:
    match = re.search(r"page (\d+/\d+)", message.plain)
    assert match, message.plain[:100]
    return match.group(1)


async def _press(telegram: FakeTelegram, message: Sent, data: str) -> Sent:
    before = len(telegram.edits)
    await telegram.wait_for_answer(await telegram.press_button(message, data))
    return await telegram.wait_for_edit(USER, after=before)


def _nav(message: Sent, forward: bool) -> str | None:
    pages = [b for b in message.buttons() if b["callback_data"].startswith("page:")]
    wanted = [b for b in pages if ("Next" in b["text"]) == forward]
    return wanted[0]["callback_data"] if wanted else None


async def test_every_one_of_138_alerts_with_long_notes_is_reachable_page_by_page(
        roomy_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    ids = await _make(roomy_bot, live=135, fired=3)
    await telegram.user_sends(USER, "/alerts")
    listing = await telegram.wait_for_message(USER, "Your alerts")
    assert "Your alerts (135)" in listing.plain
    seen, labels, message = [], [], listing
    while True:
        labels.append(_page(message))
        seen += _ids(message)
        assert len(message.plain.encode("utf-16-le")) // 2 <= 4096
        forward = _nav(message, True)
        if forward is None:
            break
        message = await _press(telegram, message, forward)
    assert labels == [f"{n}/14" for n in range(1, 15)]
    assert seen == ids[:135] + ids[135:][::-1]  # live oldest first, then fired newest first
    assert telegram.rejected == []

    back_labels = [labels[-1]]
    while (backward := _nav(message, False)) is not None:
        message = await _press(telegram, message, backward)
        back_labels.append(_page(message))
    assert back_labels == labels[::-1]


async def test_an_alert_on_a_late_page_is_deleted_from_the_list(
        roomy_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    ids = await _make(roomy_bot, live=130, fired=0)
    await telegram.user_sends(USER, "/alerts")
    message = await telegram.wait_for_message(USER, "Your alerts")
    for _ in range(12):
        message = await _press(telegram, message, _nav(message, True))  # type: ignore[arg-type]
    assert _page(message) == "13/13" and _ids(message) == ids[120:]
    target = ids[125]
    delete = next(b["callback_data"] for b in message.buttons() if b["callback_data"].startswith(f"del:{target}:"))
    message = await _press(telegram, message, delete)
    assert target not in _ids(message) and _ids(message) == ids[120:125] + ids[126:]
    for alert_id in _ids(message):  # empty the last page: the list shows the one before
        data = next(b["callback_data"] for b in message.buttons() if b["callback_data"].startswith(f"del:{alert_id}:"))
        message = await _press(telegram, message, data)
    assert _ids(message) == ids[110:120] and _page(message) == "12/12"
    async with roomy_bot.application.bot_data["store"]._sessions() as session:
        left = (await session.execute(text("SELECT count(*) FROM alerts WHERE state = 'active'"))).scalar_one()
    assert left == 120
