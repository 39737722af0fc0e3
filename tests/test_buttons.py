"""Buttons are idempotent: a double tap (slow network) is answered once per press, an edit that
would change nothing is no error, and a press on what is gone says so. Never "Something went wrong"."""

from __future__ import annotations

from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram, Sent

USER = 1001
WENT_WRONG = "went wrong"


async def assert_never(telegram: FakeTelegram, chat_id: int, contains: str, within: float = 1.5) -> None:
    """Nothing containing `contains` reaches the chat in the next `within` seconds."""
    try:
        found = await telegram.wait_for_message(chat_id, contains, timeout=within)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected message: {found.plain}")


async def double_tap(telegram: FakeTelegram, message: Sent, data: str) -> list[str]:
    """Two presses of one button, the second before the first is answered; both answers."""
    first = await telegram.press_button(message, data)
    second = await telegram.press_button(message, data)
    return [await telegram.wait_for_answer(first), await telegram.wait_for_answer(second)]


async def _alerts(telegram: FakeTelegram, count: int, start: int = 70000) -> None:
    for n in range(count):
        await telegram.user_sends(USER, f"/alert BTCUSDT {start + n}")
    await telegram.wait_for_message(USER, f"#{count}: BTCUSDT")


async def test_double_tap_on_next_shows_the_next_page_once_and_no_error(
        bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await _alerts(telegram, 12)
    await telegram.user_sends(USER, "/alerts")
    listing = await telegram.wait_for_message(USER, "Your alerts")
    forward = listing.buttons()[-1]["callback_data"]
    assert forward.startswith("page:")
    await double_tap(telegram, listing, forward)
    edit = await telegram.wait_for_edit(USER)
    assert "page 2/2" in edit.plain and "#11 BTCUSDT" in edit.plain
    await assert_never(telegram, USER, WENT_WRONG)
    assert len(telegram.callback_answers) == 2


async def test_double_tap_on_delete_under_the_list_deletes_once_and_says_it_is_gone(
        bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await _alerts(telegram, 2)
    await telegram.user_sends(USER, "/alerts")
    listing = await telegram.wait_for_message(USER, "Your alerts")
    answers = await double_tap(telegram, listing, listing.buttons()[0]["callback_data"])
    assert sum("no longer exists" in a for a in answers) == 1 and sum("🗑 #" in a for a in answers) == 1
    await assert_never(telegram, USER, WENT_WRONG)


async def test_double_tap_on_notification_buttons_never_errs(
        bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert ETHUSDT 19999")  # keeps the ticks going
    await telegram.user_sends(USER, "/alert BTCUSDT 65000")
    await telegram.wait_for_message(USER, "BTCUSDT rises")
    exchange.set_price("BTCUSDT", "65001.00")
    fired = await telegram.wait_for_message(USER, "🔔")
    alert_id = fired.buttons()[0]["callback_data"].removeprefix("nsnz:")
    snooze = await double_tap(telegram, fired, f"nsnz:{alert_id}")
    assert all("quiet until" in a for a in snooze)
    rearm = await double_tap(telegram, fired, f"narm:{alert_id}")  # snoozed, not fired: nothing to re-arm
    assert all("no longer exists" in a for a in rearm)
    delete = await double_tap(telegram, fired, f"ndel:{alert_id}")
    assert sum("no longer exists" in a for a in delete) == 1 and any(f"#{alert_id}" in a for a in delete)
    await assert_never(telegram, USER, WENT_WRONG)


async def test_double_tap_on_rearm_under_the_list_rearms_once(
        bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert ETHUSDT 19999")
    await telegram.user_sends(USER, "/alert BTCUSDT 65000")
    await telegram.wait_for_message(USER, "BTCUSDT rises")
    exchange.set_price("BTCUSDT", "65001.00")
    await telegram.wait_for_message(USER, "🔔")
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alerts")
    listing = await telegram.wait_for_message(USER, "Fired lately")
    rearm = next(b["callback_data"] for b in listing.buttons() if b["callback_data"].startswith("arm:"))
    answers = await double_tap(telegram, listing, rearm)
    assert sum("no longer exists" in a for a in answers) == 1
    await assert_never(telegram, USER, WENT_WRONG)


async def test_double_tap_on_a_language_never_errs(bot, telegram: FakeTelegram) -> None:
    await telegram.user_sends(USER, "/language")
    menu = await telegram.wait_for_message(USER, "anguage")
    await double_tap(telegram, menu, "lang:0")
    await assert_never(telegram, USER, WENT_WRONG)
