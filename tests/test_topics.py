"""Forum topics (issue 25): answers and notifications go to the topic an alert was made in, in
supergroups with topics and private chats with topics; a closed or deleted topic's notification
goes to General, saying which topic it was for. Through the fake Telegram over real sockets."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes.exchange import FakeExchange
from tests.fakes.rest import FakeBinanceRest
from tests.fakes.telegram import FakeTelegram
from tests.test_chart_bot import chart_bot, rest, wait_for_photo  # noqa: F401 - fixtures

FORUM, ADMIN = -1001234500001, 601
USER = 7001


async def _forum(telegram: FakeTelegram, exchange: FakeExchange) -> tuple[int, int]:
    telegram.group_admins[FORUM] = {ADMIN}
    exchange.set_price("BTCUSDT", "64000.00")
    exchange.set_price("ETHUSDT", "2400.00")
    return await telegram.create_topic(FORUM, "BTC <3"), await telegram.create_topic(FORUM, "Alts")


async def _send(telegram: FakeTelegram, text: str, thread_id: int | None, contains: str) -> None:
    before = len(telegram.sent)
    await telegram.user_sends(FORUM, text, user_id=ADMIN, chat_type="supergroup", thread_id=thread_id)
    await telegram.wait_for_message(FORUM, contains, after=before)


async def test_an_alert_made_in_a_topic_is_answered_and_announced_there(
    bot, exchange: FakeExchange, telegram: FakeTelegram,
) -> None:
    btc, alts = await _forum(telegram, exchange)
    await _send(telegram, "/alert BTCUSDT 65000 breakout", btc, "#1")
    assert telegram.messages_to(FORUM)[-1].thread_id == btc  # the answer
    await _send(telegram, "/alert ETHUSDT 2500", alts, "#2")
    await _send(telegram, "/alert ETHUSDT 2300", None, "#3")  # General: no thread id
    assert [m.thread_id for m in telegram.messages_to(FORUM)] == [btc, alts, None]

    await _send(telegram, "/alerts", alts, "#3")  # the whole chat's alerts, each marked with its topic
    listing = telegram.messages_to(FORUM)[-1]
    assert listing.thread_id == alts
    lines = {line.split()[0]: line for line in listing.plain.splitlines() if line.startswith("#")}
    assert "🧵 BTC <3" in lines["#1"] and "🧵 Alts" in lines["#2"] and "🧵" not in lines["#3"]
    assert "BTC &lt;3" in listing.text  # a name someone typed is escaped

    await telegram.rename_topic(FORUM, btc, "Bitcoin")
    await _send(telegram, "/alerts", None, "🧵 Bitcoin")  # /alerts in General; the new name

    before = len(telegram.sent)
    exchange.set_price("BTCUSDT", "65000.00")
    exchange.set_price("ETHUSDT", "2500.00")
    btc_fired = await telegram.wait_for_message(FORUM, "alert #1)", after=before)
    eth_fired = await telegram.wait_for_message(FORUM, "alert #2)", after=before)
    assert (btc_fired.thread_id, eth_fired.thread_id) == (btc, alts)
    assert btc_fired.message_id != eth_fired.message_id  # never combined across topics
    assert telegram.rejected == []


async def test_a_topic_name_is_learnt_from_a_plain_text_message_in_it(
    bot, exchange: FakeExchange, telegram: FakeTelegram,
) -> None:
    """A topic made before the bot joined: the bot learns its name from the first message written
    there (which replies to the topic's creation, as Telegram sends it), a plain text one too."""
    telegram.privacy_mode = False  # the bot reads every message (privacy off, or an admin bot)
    telegram.group_admins[FORUM] = {ADMIN}
    exchange.set_price("BTCUSDT", "64000.00")
    signals = await telegram.create_topic(FORUM, "Signals", announce=False)
    store = bot.application.bot_data["store"]
    await telegram.user_sends(FORUM, "gm, BTC looks strong", user_id=ADMIN, chat_type="supergroup", thread_id=signals)
    names: dict[int, str] = {}
    deadline = asyncio.get_running_loop().time() + 10
    while signals not in names:  # no answer to wait for: the name is learnt quietly
        assert asyncio.get_running_loop().time() < deadline, "the topic's name was not learnt"
        await asyncio.sleep(0.02)
        names = await store.topic_names(FORUM)
    assert names[signals] == "Signals"

    await _send(telegram, "/alert BTCUSDT 65000", signals, "#1")
    await _send(telegram, "/alerts", None, "#1")
    assert "🧵 Signals" in telegram.messages_to(FORUM)[-1].plain


async def test_private_chat_with_topics_gets_its_alert_in_the_topic(
    bot, exchange: FakeExchange, telegram: FakeTelegram,
) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    topic = await telegram.create_topic(USER, "Scalps")
    await telegram.user_sends(USER, "/alert BTCUSDT 65000", thread_id=topic)
    created = await telegram.wait_for_message(USER, "#1")
    assert created.thread_id == topic
    exchange.set_price("BTCUSDT", "65000.00")
    fired = await telegram.wait_for_message(USER, "🔔")
    assert fired.thread_id == topic


@pytest.mark.parametrize("gone", ["closed", "deleted"])
async def test_a_closed_or_deleted_topic_gets_its_notification_in_general(
    bot, exchange: FakeExchange, telegram: FakeTelegram, gone: str,
) -> None:
    btc, _ = await _forum(telegram, exchange)
    await _send(telegram, "/alert BTCUSDT 65000 breakout", btc, "#1")
    (telegram.close_topic if gone == "closed" else telegram.delete_topic)(FORUM, btc)
    before = len(telegram.sent)
    exchange.set_price("BTCUSDT", "65000.00")
    fired = await telegram.wait_for_message(FORUM, "🔔", after=before)
    assert fired.thread_id is None  # General
    assert fired.plain.startswith("📌 For the topic “BTC <3”, which is closed or deleted:")
    assert "breakout" in fired.plain and "65000" in fired.plain
    assert [b["callback_data"] for b in fired.buttons()][:3] == ["nsnz:1", "narm:1", "ndel:1"]
    error = "Bad Request: TOPIC_CLOSED" if gone == "closed" else "Bad Request: message thread not found"
    assert [r for r in telegram.rejected if r[0] == "sendMessage"] == [("sendMessage", 400, error)]


async def test_a_chart_asked_in_a_topic_comes_to_that_topic(
    chart_bot, exchange: FakeExchange, telegram: FakeTelegram, rest: FakeBinanceRest,
) -> None:
    btc, _ = await _forum(telegram, exchange)
    await telegram.user_sends(FORUM, "/chart BTCUSDT", user_id=ADMIN, chat_type="supergroup", thread_id=btc)
    photo = await wait_for_photo(telegram, FORUM)  # sendPhoto is not a reply: the topic is passed on purpose
    assert photo.thread_id == btc
