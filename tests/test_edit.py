"""Editing an alert in place (issue 23, point 1): `/edit ID LEVEL [note]` and the ✏️ button move an
alert's level keeping its id, note, repeat and expiry, decided from the current price exactly as a
new alert; a passed level waits for a new crossing; a level 10x away is asked about; groups go
through a selective ForceReply and only admins may edit; /alerts groups by symbol, closest first."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st
from bot.alerts.commands import CommandError
from bot.alerts.editing import group_by_symbol, margin_of, parse_edit, plan_move
from bot.alerts.rules import Direction, crossed
from tests.conftest import RunningBot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

USER = 1001
GROUP, ADMIN, MEMBER = -100777, 1001, 1002


# -- pure: parsing ---------------------------------------------------------------------------------
@pytest.mark.parametrize("args, alert_id, level, direction, note", [
    (["12", "71000"], 12, Decimal("71000"), None, None),
    (["#12", "71k", "take", "profit"], 12, Decimal("71000"), None, "take profit"),
    (["3", "below", "2500"], 3, Decimal("2500"), Direction.DOWN, None),
    (["3", ">70000"], 3, Decimal("70000"), Direction.UP, None),
    (["3", "0,130", "dip"], 3, Decimal("0.130"), None, "dip"),
])
def test_parse_edit_reads_the_id_the_level_and_an_optional_note(args, alert_id, level, direction, note) -> None:
    request = parse_edit(args)
    assert (request.alert_id, request.level, request.direction, request.note) == (alert_id, level, direction, note)


def test_parse_edit_reads_a_percent_of_the_price() -> None:
    request = parse_edit(["5", "+5%"])
    assert request.level is None and request.percent == Decimal("5")


@pytest.mark.parametrize("args, reason", [
    ([], "edit_usage"),
    (["12"], "edit_usage"),
    (["x", "70000"], "bad_alert_id"),
    (["0", "70000"], "alert_id_out_of_range"),
    (["12", "abc"], "bad_level"),
    (["12", "-5"], "bad_level"),
    (["12", "100000000"], "level_too_large"),
    (["12", "3%", "15m"], "edit_move"),
    (["12", "±2%"], "edit_both_ways"),
    (["12", "70000", "every", "1h"], "edit_keeps_options"),
    (["12", "70000", "for", "1d"], "edit_keeps_options"),
    (["12", "70000", "silent"], "edit_keeps_options"),  # not dropped without a word: the alert keeps its sound
    (["12", "70000", "x" * 201], "note_too_long"),
])
def test_parse_edit_refuses_what_an_edit_cannot_do_with_the_reason(args, reason) -> None:
    with pytest.raises(CommandError) as raised:
        parse_edit(args)
    assert raised.value.reason == reason


# -- pure: the move ----------------------------------------------------------------------------------
@dataclass
class Row:
    direction: Direction
    level: Decimal
    repeat_seconds: int | None = None
    rearm_level: Decimal | None = None
    symbol: str = "BTCUSDT"
    id: int = 1


@pytest.mark.parametrize("level, direction, current, expected, passed", [
    ("70000", None, "64000", Direction.UP, False),  # below the level: waits for a rise
    ("60000", None, "64000", Direction.DOWN, False),
    ("64000", None, "64000", Direction.DOWN, True),  # at the level: as /alert, waits for a new crossing
    ("60000", Direction.UP, "64000", Direction.UP, True),  # already above: waits to come back and cross
    ("70000", Direction.DOWN, "64000", Direction.DOWN, True),
])
def test_a_moved_alert_is_decided_as_a_new_one(level, direction, current, expected, passed) -> None:
    move = plan_move(Row(Direction.DOWN, Decimal("50000")), Decimal(level), direction, Decimal(current))
    assert (move.direction, move.passed) == (expected, passed)
    assert move.rearm_level == (Decimal(level) if passed else None)  # a once-alert arms past its level


def test_a_moved_repeat_keeps_its_margin() -> None:
    repeat = Row(Direction.UP, Decimal("70000"), repeat_seconds=3600, rearm_level=Decimal("69300"))  # margin 1 %
    assert margin_of(repeat) == Decimal("1")
    move = plan_move(repeat, Decimal("80000"), None, Decimal("64000"))
    assert move.rearm_level == Decimal("79200") and not move.passed


def test_a_move_alert_has_no_level_to_move() -> None:
    with pytest.raises(ValueError):
        plan_move(Row(Direction.EITHER, Decimal("3")), Decimal("70000"), None, Decimal("64000"))


prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999999"), places=4)


@given(level=prices, current=prices, direction=st.sampled_from([None, Direction.UP, Direction.DOWN]))
def test_a_moved_alert_never_fires_on_the_price_it_was_moved_at(level, current, direction) -> None:
    """It fires on a crossing only: past its level now, it waits (ARMING) for the price to come back."""
    move = plan_move(Row(Direction.UP, Decimal("1")), level, direction, current)
    assert move.passed == crossed(move.direction, level, current)
    if direction is None:
        assert move.passed == (level == current)


def test_alerts_are_grouped_by_symbol_closest_first() -> None:
    rows = [Row(Direction.UP, Decimal("70000"), id=1), Row(Direction.UP, Decimal("2700"), symbol="ETHUSDT", id=2),
            Row(Direction.DOWN, Decimal("63000"), id=3), Row(Direction.EITHER, Decimal("3"), symbol="SOLUSDT", id=4),
            Row(Direction.DOWN, Decimal("2000"), symbol="ETHUSDT", id=5)]
    groups = group_by_symbol(rows, {"BTCUSDT": Decimal("64000"), "ETHUSDT": Decimal("2600"), "SOLUSDT": Decimal("150")})
    # BTC's #3 is 1.56 % away, ETH's #2 3.85 %: BTC first; #3 before #1; the move alert last.
    assert [(symbol, [a.id for a in group]) for symbol, group in groups] == [
        ("BTCUSDT", [3, 1]), ("ETHUSDT", [2, 5]), ("SOLUSDT", [4])]


# -- through Telegram ----------------------------------------------------------------------------------
async def _row(bot: RunningBot, alert_id: int, chat_id: int = USER) -> dict:
    """The alert's columns as stored (read through the ORM: levels are exact Decimals)."""
    alert = await bot.application.bot_data["store"].get_alert(chat_id, alert_id)
    values = {column: getattr(alert, column) for column in (
        "id", "level", "note", "repeat_seconds", "expires_at", "rearm_level")}
    return {**values, "direction": alert.direction.value, "state": alert.state.value}


async def test_edit_moves_the_level_and_keeps_id_note_repeat_and_expiry(
        bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert BTCUSDT 70000 every 1h for 1w breakout")
    await telegram.wait_for_message(USER, "✅")
    before_row = await _row(bot, 1)
    await telegram.user_sends(USER, "/edit 1 60000")
    answer = await telegram.wait_for_message(USER, "✏️")
    assert "#1" in answer.plain and "BTCUSDT falls to ≤ 60000" in answer.plain and "every 1h" in answer.plain
    assert "breakout" in answer.plain
    row = await _row(bot, 1)
    assert (row["direction"], Decimal(row["level"]), row["note"], row["repeat_seconds"], row["expires_at"]) == (
        "down", Decimal("60000"), "breakout", 3600, before_row["expires_at"])
    assert Decimal(row["rearm_level"]) == Decimal("60300")  # the default margin, now above a falling level
    await telegram.user_sends(USER, "/edit #1 59000 new plan")
    assert "new plan" in (await telegram.wait_for_message(USER, "59000")).plain
    await telegram.user_sends(USER, "/alerts")
    assert "#1 BTCUSDT falls to ≤ 59000" in (await telegram.wait_for_message(USER, "Your alerts")).plain
    exchange.set_price("BTCUSDT", "58900.00")  # the moved level fires through the same tick
    assert "#1" in (await telegram.wait_for_message(USER, "🔔")).plain
    assert telegram.rejected == []


async def test_a_level_already_passed_waits_for_a_new_crossing_and_says_so(
        bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("ETHUSDT", "2600.00")
    await telegram.user_sends(USER, "/alert ETHUSDT 3000")
    await telegram.wait_for_message(USER, "✅")
    await telegram.user_sends(USER, "/edit 1 above 2500")
    answer = await telegram.wait_for_message(USER, "✏️")
    assert "already above 2500" in answer.plain and "next time" in answer.plain
    assert (await _row(bot, 1))["state"] == "arming"
    exchange.set_price("ETHUSDT", "2400.00")  # back below: armed, without firing
    for _ in range(200):
        if (await _row(bot, 1))["state"] == "active":
            break
        await asyncio.sleep(0.05)
    assert (await _row(bot, 1))["state"] == "active"
    assert not [m for m in telegram.messages_to(USER) if "🔔" in m.plain]
    exchange.set_price("ETHUSDT", "2550.00")  # the new crossing fires it
    assert "2500" in (await telegram.wait_for_message(USER, "🔔")).plain


async def test_a_level_ten_times_away_is_asked_about_first(
        bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("DOGEUSDT", "0.12")
    await telegram.user_sends(USER, "/alert DOGEUSDT 0.15")
    await telegram.wait_for_message(USER, "✅")
    await telegram.user_sends(USER, "/edit 1 130")
    question = await telegram.wait_for_message(USER, "10×")
    assert Decimal((await _row(bot, 1))["level"]) == Decimal("0.15")  # not yet
    await telegram.press_button(question, "ec:yes")
    await telegram.wait_for_message(USER, "moved")
    assert Decimal((await _row(bot, 1))["level"]) == Decimal("130")


async def test_edit_of_another_chats_alert_or_a_move_alert_changes_nothing(
        bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert BTCUSDT 70000")
    await telegram.wait_for_message(USER, "✅")
    await telegram.user_sends(2002, "/edit 1 71000")
    assert "no active alert #1" in (await telegram.wait_for_message(2002, "#1")).plain
    assert Decimal((await _row(bot, 1))["level"]) == Decimal("70000")
    await telegram.user_sends(USER, "/alert BTCUSDT 3% 15m")
    await telegram.wait_for_message(USER, "#2")
    await telegram.user_sends(USER, "/edit 2 71000")
    assert "no level to move" in (await telegram.wait_for_message(USER, "move alert")).plain


async def test_the_pencil_button_in_a_group_asks_the_admin_with_a_selective_force_reply(
        bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    telegram.group_admins[GROUP] = {ADMIN}
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(GROUP, "/alert BTCUSDT 70000 tp", user_id=ADMIN, chat_type="supergroup")
    await telegram.wait_for_message(GROUP, "✅")
    await telegram.user_sends(GROUP, "/alerts", user_id=ADMIN, chat_type="supergroup")
    listing = await telegram.wait_for_message(GROUP, "Your alerts")
    refused = await telegram.press_button(listing, "edit:1", user_id=MEMBER)
    assert "admin" in (await telegram.wait_for_answer(refused)).lower()
    await telegram.press_button(listing, "edit:1", user_id=ADMIN)
    question = await telegram.wait_for_message(GROUP, "New level for #1")
    assert question.reply_markup == {"force_reply": True, "selective": True}
    assert f"tg://user?id={ADMIN}" in question.text
    await telegram.user_sends(GROUP, "71000", user_id=ADMIN, chat_type="supergroup")  # not a reply: withheld
    await telegram.user_answers(GROUP, "71000 still tp", user_id=ADMIN)
    assert "≥ 71000" in (await telegram.wait_for_message(GROUP, "moved")).plain
    row = await _row(bot, 1, GROUP)
    assert (row["id"], Decimal(row["level"]), row["note"]) == (1, Decimal("71000"), "still tp")
    assert telegram.rejected == []


async def test_alerts_lists_grouped_by_symbol_closest_first_with_a_pencil_each(
        bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    exchange.set_price("ETHUSDT", "2600.00")
    for command in ("/alert BTCUSDT 70000", "/alert ETHUSDT 2700", "/alert BTCUSDT 63000", "/alert ETHUSDT 2000"):
        before = len(telegram.sent)
        await telegram.user_sends(USER, command)
        await telegram.wait_for_message(USER, "✅", after=before)
    await telegram.user_sends(USER, "/alerts")
    listing = await telegram.wait_for_message(USER, "Your alerts")
    order = [line.split()[0] for line in listing.plain.splitlines() if line.startswith("#")]
    assert order == ["#3", "#1", "#2", "#4"]  # BTC's #3 is 1.56 % away, ETH's #2 3.85 %
    assert "-1.56% from 64000.00" in listing.plain
    assert [b["callback_data"] for b in listing.buttons()] == [
        "del:3:0", "edit:3", "del:1:0", "edit:1", "del:2:0", "edit:2", "del:4:0", "edit:4"]


async def test_help_names_edit_and_cancel_of_a_pencil_question_says_the_alert_is_unchanged(
        bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    await telegram.user_sends(USER, "/help")
    assert "/edit ID PRICE [note]" in (await telegram.wait_for_message(USER, "Commands")).plain
    await telegram.user_sends(2002, "/help", language_code="zh")
    assert "/edit 编号 价格 [备注]" in (await telegram.wait_for_message(2002, "命令")).plain
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert BTCUSDT 70000")
    await telegram.wait_for_message(USER, "✅")
    await telegram.user_sends(USER, "/alerts")
    await telegram.press_button(await telegram.wait_for_message(USER, "Your alerts"), "edit:1")
    await telegram.wait_for_message(USER, "New level for #1")
    await telegram.user_sends(USER, "/cancel")
    assert "the alert was not changed" in (await telegram.wait_for_message(USER, "Cancelled")).plain
    assert Decimal((await _row(bot, 1))["level"]) == Decimal("70000")
