"""The bot in a group, as Telegram runs it there: privacy mode, commands that a cleaner bot deletes
at once, and the fake server's own Telegram rules that these behaviours rely on."""

from __future__ import annotations

import pytest

from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

GROUP, ADMIN, MEMBER = -100777, 1001, 1002


async def test_answer_arrives_when_the_command_was_deleted_at_once(bot, exchange: FakeExchange,
                                                                   telegram: FakeTelegram) -> None:
    telegram.commands_deleted_in.add(GROUP)  # a cleaner bot removes every command as it arrives
    telegram.group_admins[GROUP] = {ADMIN}
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(GROUP, "/price BTCUSDT", user_id=MEMBER, chat_type="supergroup")
    await telegram.wait_for_message(GROUP, "BTCUSDT")
    await telegram.user_sends(GROUP, "/alert BTCUSDT 70000", user_id=ADMIN, chat_type="supergroup")
    await telegram.wait_for_message(GROUP, "✅ Alert")
    assert not [r for r in telegram.rejected if "replied not found" in r[2]]


async def test_answer_replies_to_the_command_while_it_exists(bot, exchange: FakeExchange,
                                                             telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    command = await telegram.user_sends(GROUP, "/price BTCUSDT", user_id=MEMBER, chat_type="supergroup")
    assert (await telegram.wait_for_message(GROUP, "BTCUSDT")).reply_to == command


# -- the fake itself keeps Telegram's rules -------------------------------------------------------

async def test_privacy_mode_withholds_group_chatter_but_not_commands_replies_or_mentions(
        telegram: FakeTelegram) -> None:
    for text in ("hello all", "BTCUSDT", "/price@other_bot BTCUSDT"):
        await telegram.user_sends(GROUP, text, user_id=MEMBER, chat_type="supergroup")
    for text in ("/price BTCUSDT", "/price@pricealert_test_bot BTCUSDT", "hi @pricealert_test_bot"):
        await telegram.user_sends(GROUP, text, user_id=MEMBER, chat_type="supergroup")
    await telegram.user_sends(MEMBER, "hello in private", user_id=MEMBER)
    delivered = [u["message"]["text"] for u in telegram._updates]
    assert delivered == ["/price BTCUSDT", "/price@pricealert_test_bot BTCUSDT", "hi @pricealert_test_bot",
                         "hello in private"]
    assert [m["text"] for m in telegram.withheld] == ["hello all", "BTCUSDT", "/price@other_bot BTCUSDT"]


async def test_reply_to_a_deleted_message_fails_unless_allowed(telegram: FakeTelegram) -> None:
    from tests.fakes.telegram import ApiError
    command = await telegram.user_sends(GROUP, "/alerts", user_id=MEMBER, chat_type="supergroup")
    telegram.delete_message(GROUP, command)
    with pytest.raises(ApiError, match="message to be replied not found"):
        await telegram._api_sendMessage({"chat_id": GROUP, "text": "x", "reply_parameters": {"message_id": command}})
    sent = await telegram._api_sendMessage({"chat_id": GROUP, "text": "x", "reply_parameters": {
        "message_id": command, "allow_sending_without_reply": True}})
    assert "reply_to_message" not in sent and telegram.sent[-1].reply_to is None


async def test_edit_that_changes_nothing_is_refused(telegram: FakeTelegram) -> None:
    from tests.fakes.telegram import ApiError
    markup = {"inline_keyboard": [[{"text": "Next", "callback_data": "page:1"}]]}
    sent = await telegram._api_sendMessage({"chat_id": MEMBER, "text": "<b>a</b>", "parse_mode": "HTML",
                                            "reply_markup": markup})
    with pytest.raises(ApiError, match="message is not modified: specified new message content and reply markup"):
        await telegram._api_editMessageText({"chat_id": MEMBER, "message_id": sent["message_id"], "text": "<b>a</b>",
                                             "parse_mode": "HTML", "reply_markup": markup})
    await telegram._api_editMessageText({"chat_id": MEMBER, "message_id": sent["message_id"], "text": "<b>a</b>",
                                         "parse_mode": "HTML"})  # the keyboard goes: a change
    with pytest.raises(ApiError, match="can't parse entities|Can't parse entities"):
        await telegram._api_editMessageText({"chat_id": MEMBER, "message_id": sent["message_id"], "text": "<b>a",
                                             "parse_mode": "HTML"})


async def test_a_user_app_answers_force_reply_only_when_addressed(telegram: FakeTelegram) -> None:
    command = await telegram.user_sends(GROUP, "/alert", user_id=ADMIN, chat_type="supergroup")
    await telegram._api_sendMessage({"chat_id": GROUP, "text": "Which symbol?", "reply_parameters": {
        "message_id": command}, "reply_markup": {"force_reply": True, "selective": True}})
    with pytest.raises(AssertionError, match="no ForceReply"):
        await telegram.user_answers(GROUP, "BTCUSDT", user_id=MEMBER)
    await telegram.user_answers(GROUP, "BTCUSDT", user_id=ADMIN)
    answer = telegram._updates[-1]["message"]
    assert answer["text"] == "BTCUSDT" and answer["reply_to_message"]["from"]["is_bot"]
