"""The guided /alert keeps its state in the database (any replica may answer any step), works in
groups under privacy mode through ForceReply, belongs to the member who started it, and asks
before creating a level more than 10x away from the price (guided or one-line, both languages)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from bot.storage.base import utcnow
from tests.conftest import RunningBot, bot_settings, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

USER = 1001
GROUP, ADMIN, MEMBER = -100555, 1001, 1002


async def _count_alerts(bot: RunningBot, chat_id: int) -> int:
    async with bot.application.bot_data["store"]._sessions() as session:
        return (await session.execute(text("SELECT count(*) FROM alerts WHERE chat_id = :c AND state <> 'deleted'"),
                                      {"c": chat_id})).scalar_one()


async def test_a_guide_started_before_a_restart_is_finished_after_it(
        database_url: str, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    """Each step may land on another process: nothing of the guide lives in memory."""
    exchange.set_price("BTCUSDT", "64000.00")
    first = await start_bot(bot_settings(database_url, exchange, telegram))
    try:
        await telegram.user_sends(USER, "/alert")
        await telegram.wait_for_message(USER, "Which symbol")
        await telegram.user_sends(USER, "btcusdt")
        await telegram.wait_for_message(USER, "At what price")
    finally:
        await stop_bot(first)
    second = await start_bot(bot_settings(database_url, exchange, telegram))
    try:
        await telegram.user_sends(USER, "70000")
        confirm = await telegram.wait_for_message(USER, "Create this alert?")
        await telegram.press_button(confirm, "gc:yes")
        assert "BTCUSDT rises to ≥ 70000" in (await telegram.wait_for_message(USER, "✅ Alert")).plain
    finally:
        await stop_bot(second)


async def test_guide_in_a_group_under_privacy_mode_goes_through_force_reply(
        bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    telegram.group_admins[GROUP] = {ADMIN}
    exchange.set_price("ETHUSDT", "2600.00")
    await telegram.user_sends(GROUP, "/alert", user_id=ADMIN, chat_type="supergroup")
    ask_symbol = await telegram.wait_for_message(GROUP, "Which symbol")
    assert ask_symbol.reply_markup == {"force_reply": True, "selective": True}
    assert f"tg://user?id={ADMIN}" in ask_symbol.text
    buttons = await telegram.wait_for_message(GROUP, "or press one")
    assert "gs:ETHUSDT" in [b["callback_data"] for b in buttons.buttons()]

    await telegram.user_sends(GROUP, "ETHUSDT", user_id=ADMIN, chat_type="supergroup")  # not a reply: withheld
    assert telegram.withheld[-1]["text"] == "ETHUSDT"
    await telegram.user_answers(GROUP, "ethusdt", user_id=ADMIN)
    ask_level = await telegram.wait_for_message(GROUP, "At what price")
    assert ask_level.reply_markup == {"force_reply": True, "selective": True}
    await telegram.user_answers(GROUP, "below 2500 buy", user_id=ADMIN)
    confirm = await telegram.wait_for_message(GROUP, "Create this alert?")
    assert "ETHUSDT falls to ≤ 2500" in confirm.plain
    await telegram.press_button(confirm, "gc:yes", user_id=ADMIN)
    assert "ETHUSDT falls to ≤ 2500" in (await telegram.wait_for_message(GROUP, "✅ Alert")).plain
    assert telegram.rejected == []


async def test_a_group_guide_belongs_to_the_member_who_started_it(
        bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    telegram.group_admins[GROUP] = {ADMIN, MEMBER}
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(GROUP, "/alert", user_id=ADMIN, chat_type="supergroup")
    ask_symbol = await telegram.wait_for_message(GROUP, "Which symbol")
    picks = await telegram.wait_for_message(GROUP, "or press one")
    other = await telegram.press_button(picks, "gs:BTCUSDT", user_id=MEMBER)
    assert "someone else's" in await telegram.wait_for_answer(other)
    before = len(telegram.sent)
    await telegram.user_replies(GROUP, ask_symbol, "BTCUSDT", user_id=MEMBER)  # another member's reply
    mine = await telegram.press_button(picks, "gs:BTCUSDT", user_id=ADMIN)
    assert await telegram.wait_for_answer(mine) == ""
    ask_level = await telegram.wait_for_message(GROUP, "At what price", after=before)
    assert f"tg://user?id={ADMIN}" in ask_level.text
    assert len([m for m in telegram.sent[before:] if "At what price" in m.plain]) == 1  # the member's reply did nothing
    moves = await telegram.wait_for_message(GROUP, "or press one", after=before)
    await telegram.press_button(moves, "gl:+5", user_id=MEMBER)
    await telegram.press_button(moves, "gl:+5", user_id=ADMIN)
    confirm = await telegram.wait_for_message(GROUP, "Create this alert?")
    await telegram.user_sends(GROUP, "/cancel", user_id=MEMBER, chat_type="supergroup")  # not the member's to end
    await telegram.wait_for_message(GROUP, "/help", after=before)
    await telegram.press_button(confirm, "gc:yes", user_id=ADMIN)
    assert "BTCUSDT rises to ≥ 67200.00" in (await telegram.wait_for_message(GROUP, "✅ Alert")).plain


async def test_cancel_leaves_a_group_guide(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    telegram.group_admins[GROUP] = {ADMIN}
    await telegram.user_sends(GROUP, "/alert", user_id=ADMIN, chat_type="supergroup")
    await telegram.wait_for_message(GROUP, "Which symbol")
    await telegram.user_sends(GROUP, "/cancel@pricealert_test_bot", user_id=ADMIN, chat_type="supergroup")
    await telegram.wait_for_message(GROUP, "Cancelled")
    before = len(telegram.sent)
    await telegram.user_answers(GROUP, "BTCUSDT", user_id=ADMIN)  # the old question no longer counts
    await telegram.user_sends(GROUP, "/alerts", user_id=ADMIN, chat_type="supergroup")
    await telegram.wait_for_message(GROUP, "no active alerts", after=before)
    assert not [m for m in telegram.sent[before:] if "At what price" in m.plain]


async def test_double_tap_on_create_creates_one_alert(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert")
    ask_symbol = await telegram.wait_for_message(USER, "Which symbol")
    await telegram.press_button(ask_symbol, "gs:BTCUSDT")
    ask_level = await telegram.wait_for_message(USER, "At what price")
    second_symbol = await telegram.press_button(ask_symbol, "gs:BTCUSDT")  # a late second tap
    assert "someone else's" in await telegram.wait_for_answer(second_symbol)
    await telegram.press_button(ask_level, "gl:+1")
    confirm = await telegram.wait_for_message(USER, "Create this alert?")
    taps = [await telegram.press_button(confirm, "gc:yes") for _ in range(2)]
    answers = [await telegram.wait_for_answer(tap) for tap in taps]
    await telegram.wait_for_message(USER, "✅ Alert")
    assert min(answers) == "" and "expired" in max(answers)
    assert len([m for m in telegram.sent if "✅ Alert" in m.plain]) == 1


async def test_an_abandoned_guide_expires_after_ten_minutes(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    await telegram.user_sends(USER, "/alert")
    ask_symbol = await telegram.wait_for_message(USER, "Which symbol")
    async with bot.application.bot_data["store"]._write() as session:  # 10 min 1 s later
        await session.execute(text("UPDATE guide_steps SET updated_at = :t"),
                              {"t": utcnow() - timedelta(minutes=10, seconds=1)})
        await session.commit()
    expired = await telegram.press_button(ask_symbol, "gs:BTCUSDT")
    assert "expired" in await telegram.wait_for_answer(expired)
    before = len(telegram.sent)
    await telegram.user_sends(USER, "BTCUSDT")
    await telegram.user_sends(USER, "/help")
    await telegram.wait_for_message(USER, "Commands", after=before)
    assert not [m for m in telegram.sent[before:] if "At what price" in m.plain]


# -- far levels -------------------------------------------------------------------------------------

async def test_a_level_far_from_the_price_is_asked_about_and_cancel_creates_nothing(
        bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("DOGEUSDT", "0.12345")
    await telegram.user_sends(USER, "/alert DOGEUSDT 130 moon")
    confirm = await telegram.wait_for_message(USER, "Create this alert?")
    assert "more than 10× away" in confirm.plain and "DOGEUSDT rises to ≥ 130" in confirm.plain and "moon" in confirm.plain
    assert [b["callback_data"] for b in confirm.buttons()] == ["gc:yes", "gc:no"]
    await telegram.press_button(confirm, "gc:no")
    await telegram.wait_for_message(USER, "Cancelled")
    assert await _count_alerts(bot, USER) == 0
    await telegram.user_sends(USER, "/alert DOGEUSDT 0.013")  # below a tenth: asked as well
    confirm = await telegram.wait_for_message(USER, "DOGEUSDT falls to ≤ 0.013")
    await telegram.press_button(confirm, "gc:yes")
    assert "DOGEUSDT falls to ≤ 0.013" in (await telegram.wait_for_message(USER, "✅ Alert")).plain
    assert await _count_alerts(bot, USER) == 1


async def test_a_level_within_ten_times_is_created_at_once(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("DOGEUSDT", "0.12345")
    await telegram.user_sends(USER, "/alert DOGEUSDT 1.2345")  # exactly 10x: not "more than"
    await telegram.wait_for_message(USER, "✅ Alert")
    assert not [m for m in telegram.sent if "Create this alert?" in m.plain]


async def test_a_far_level_is_asked_in_chinese_too(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("DOGEUSDT", "0.12345")
    await telegram.user_sends(USER, "/language zh")
    await telegram.wait_for_message(USER, "中文")
    await telegram.user_sends(USER, "/alert DOGEUSDT 130")
    confirm = await telegram.wait_for_message(USER, "10 倍以上")
    assert "创建这个提醒吗？" in confirm.plain
    assert [b["text"] for b in confirm.buttons()] == ["✅ 创建", "✖ 取消"]
    await telegram.press_button(confirm, "gc:yes")
    await telegram.wait_for_message(USER, "DOGEUSDT", after=telegram.sent.index(confirm) + 1)
    assert await _count_alerts(bot, USER) == 1


async def test_the_guide_warns_about_a_far_level(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert")
    await telegram.wait_for_message(USER, "Which symbol")
    await telegram.user_sends(USER, "BTCUSDT")
    await telegram.wait_for_message(USER, "At what price")
    await telegram.user_sends(USER, "1,000,000")
    confirm = await telegram.wait_for_message(USER, "Create this alert?")
    assert "more than 10× away" in confirm.plain


async def test_a_far_level_in_a_group_is_confirmed_by_the_admin_who_asked(
        bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    telegram.group_admins[GROUP] = {ADMIN, MEMBER}
    exchange.set_price("DOGEUSDT", "0.12345")
    await telegram.user_sends(GROUP, "/alert DOGEUSDT 130", user_id=ADMIN, chat_type="supergroup")
    confirm = await telegram.wait_for_message(GROUP, "Create this alert?")
    other = await telegram.press_button(confirm, "gc:yes", user_id=MEMBER)
    assert "someone else's" in await telegram.wait_for_answer(other)
    mine = await telegram.press_button(confirm, "gc:yes", user_id=ADMIN)
    await telegram.wait_for_answer(mine)
    await telegram.wait_for_message(GROUP, "✅ Alert")
    assert await _count_alerts(bot, GROUP) == 1


async def test_a_group_guide_works_when_a_cleaner_bot_deletes_the_command(
        bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    """The question cannot reply to the deleted /alert, so it names the member: the selective
    ForceReply still reaches them."""
    telegram.commands_deleted_in.add(GROUP)
    telegram.group_admins[GROUP] = {ADMIN}
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(GROUP, "/alert", user_id=ADMIN, chat_type="supergroup")
    ask_symbol = await telegram.wait_for_message(GROUP, "Which symbol")
    assert ask_symbol.reply_to is None
    await telegram.user_answers(GROUP, "BTCUSDT", user_id=ADMIN)
    await telegram.wait_for_message(GROUP, "At what price")
    await telegram.user_answers(GROUP, "70000", user_id=ADMIN)
    confirm = await telegram.wait_for_message(GROUP, "Create this alert?")
    await telegram.press_button(confirm, "gc:yes", user_id=ADMIN)
    await telegram.wait_for_message(GROUP, "✅ Alert")
