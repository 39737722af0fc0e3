"""A user talks to the real bot through the fake Telegram server while the fake exchange moves prices."""

from __future__ import annotations


from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

USER = 1001


async def test_alert_fires_once_when_price_rises_to_level(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert ETHUSDT 19999")  # keeps ticks polling after BTC fired
    await telegram.wait_for_message(USER, "ETHUSDT")
    await telegram.user_sends(USER, "/alert btcusdt 65000 take profit")
    confirmation = await telegram.wait_for_message(USER, "BTCUSDT")
    assert "BTCUSDT" in confirmation.plain and "rises to" in confirmation.plain and "65000" in confirmation.plain

    exchange.set_price("BTCUSDT", "65000.10")
    fired = await telegram.wait_for_message(USER, "🔔")
    assert "BTCUSDT" in fired.plain and "65000.10" in fired.plain and "take profit" in fired.plain

    seen = len(exchange.ticker_requests())
    await exchange.wait_for_requests(seen + 3)
    assert [m for m in telegram.messages_to(USER) if "🔔" in m.plain] == [fired]


async def test_start_help_and_command_menu(bot, telegram: FakeTelegram) -> None:
    assert {c["command"] for c in telegram.commands} == {
        "start", "help", "alert", "alerts", "delete", "edit", "price", "chart", "pause", "resume", "language",
        "export", "import", "timezone", "quiet", "liq"}
    await telegram.user_sends(USER, "/start")
    assert "/help" in (await telegram.wait_for_message(USER, "pricealert")).plain
    await telegram.user_sends(USER, "/help")
    help_message = await telegram.wait_for_message(USER, "Commands")
    for example in ("/alert BTCUSDT 70000", "/alerts", "/delete 12", "/price BTCUSDT", "/pause", "/resume",
                    "/export", "/import", "/liq BTCUSDT long 61234", "/alert BTCUSDT mark 70000"):
        assert example in help_message.plain


async def test_alert_falls_when_price_is_above_level(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("ETHUSDT", "2600.00")
    await telegram.user_sends(USER, "/alert ETHUSDT 2500")
    confirmation = await telegram.wait_for_message(USER, "ETHUSDT")
    assert "falls to ≤ 2500" in confirmation.plain and "2600.00" in confirmation.plain and "-3.85%" in confirmation.plain
    exchange.set_price("ETHUSDT", "2550.00")
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 2)
    assert not [m for m in telegram.messages_to(USER) if "🔔" in m.plain]
    exchange.set_price("ETHUSDT", "2499.99")
    fired = await telegram.wait_for_message(USER, "🔔")
    assert "fell to 2499.99" in fired.plain and "level 2500" in fired.plain


async def test_explicit_direction_is_kept(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("ETHUSDT", "2600.00")
    await telegram.user_sends(USER, "/alert ETHUSDT above 2500")
    created = (await telegram.wait_for_message(USER, "ETHUSDT")).plain
    # Already above: nothing happened yet, so it waits for the next crossing up through 2500.
    assert "rises to ≥ 2500" in created
    assert "ETHUSDT is already above 2500 (now 2600.00): the alert fires the next time it crosses up through 2500" in created
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 3)
    assert not [m for m in telegram.messages_to(USER) if "🔔" in m.plain]
    exchange.set_price("ETHUSDT", "2499.99")
    await exchange.wait_for_requests(len(exchange.ticker_requests()) + 2)
    exchange.set_price("ETHUSDT", "2500.00")
    assert "rose to 2500.00" in (await telegram.wait_for_message(USER, "🔔")).plain


async def test_unknown_symbol_gets_suggestions(bot, telegram: FakeTelegram) -> None:
    await telegram.user_sends(USER, "/alert btc 70000")
    answer = await telegram.wait_for_message(USER, "not a Binance")
    assert "BTCUSDT" in answer.plain and "BTCUSDC" in answer.plain


async def test_odd_symbols_work(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    for typed, symbol in [("币安人生usdt", "币安人生USDT"), ("1000000mogusdt", "1000000MOGUSDT"),
                          ("btcusdt_261225", "BTCUSDT_261225"), ("1inchusdt", "1INCHUSDT")]:
        await telegram.user_sends(USER, f"/alert {typed} above 100000")
        assert "rises to ≥ 100000" in (await telegram.wait_for_message(USER, f"{symbol} rises")).plain


async def test_bad_input_gets_a_friendly_answer_with_an_example(bot, telegram: FakeTelegram) -> None:
    for command, expected in [
        ("/alert", "Which symbol?"),  # the guided form; the next command leaves it
        ("/alert BTCUSDT lots", "is not a price"),
        ("/alert BTCUSDT 0", "above zero"),
        ("/alert <b>hi</b> 5", "is not a symbol"),
        ("/delete abc", "/delete 12"),
        ("/price", "/price BTCUSDT"),
        ("/frobnicate", "/help"),
    ]:
        before = len(telegram.sent)
        await telegram.user_sends(USER, command)
        await telegram.wait_for_message(USER, expected, after=before)
    assert telegram.rejected == []  # every answer was valid HTML


async def test_note_is_escaped_and_shown_as_typed(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    note = "<b>moon</b> & <i>lambo"
    await telegram.user_sends(USER, f"/alert BTCUSDT 63000 {note}")
    assert note in (await telegram.wait_for_message(USER, "BTCUSDT falls")).plain
    exchange.set_price("BTCUSDT", "62000.00")
    assert note in (await telegram.wait_for_message(USER, "🔔")).plain
    assert telegram.rejected == []


async def test_alerts_lists_with_delete_buttons_and_a_button_deletes(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert BTCUSDT 70000 tp")
    await telegram.wait_for_message(USER, "BTCUSDT rises")
    await telegram.user_sends(USER, "/alert BTCUSDT 60000")
    await telegram.wait_for_message(USER, "BTCUSDT falls")
    await telegram.user_sends(USER, "/alerts")
    listing = await telegram.wait_for_message(USER, "Your alerts")
    assert "#1 BTCUSDT rises to ≥ 70000 · +9.38% from 64000.00 — tp" in listing.plain
    assert "#2 BTCUSDT falls to ≤ 60000 · -6.25% from 64000.00" in listing.plain
    buttons = listing.buttons()
    assert [b["callback_data"] for b in buttons] == ["del:2:0", "edit:2", "del:1:0", "edit:1"]  # closest first

    query = await telegram.press_button(listing, "del:1:0")
    assert "🗑 #1" in await telegram.wait_for_answer(query)
    edit = await telegram.wait_for_edit(USER)
    assert "#1 " not in edit.plain and "#2 BTCUSDT" in edit.plain
    assert [b["callback_data"] for b in edit.buttons()] == ["del:2:0", "edit:2"]

    replayed = await telegram.press_button(listing, "del:1:0")
    assert "no longer exists" in await telegram.wait_for_answer(replayed)


async def test_a_chat_cannot_touch_another_chats_alerts(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    other = 2002
    await telegram.user_sends(USER, "/alert BTCUSDT 99999")
    await telegram.wait_for_message(USER, "#1")
    await telegram.user_sends(other, "/delete 1")
    assert "no active alert #1" in (await telegram.wait_for_message(other, "#1")).plain
    await telegram.user_sends(other, "/alerts")
    await telegram.wait_for_message(other, "You have no active alerts")
    await telegram.user_sends(other, "/start")
    greeting = await telegram.wait_for_message(other, "pricealert")
    forged = await telegram.press_button(greeting, "del:1:0")
    assert "no longer exists" in await telegram.wait_for_answer(forged)
    await telegram.user_sends(USER, "/alerts")
    assert "#1 BTCUSDT" in (await telegram.wait_for_message(USER, "Your alerts")).plain


async def test_price_answers_with_latest_prices_and_their_age(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    exchange.set_price("币安人生USDT", "0.1234500")
    await telegram.user_sends(USER, "/price btcusdt 币安人生usdt NOPEUSDT")
    answer = await telegram.wait_for_message(USER, "BTCUSDT")
    assert "BTCUSDT: 64000.00" in answer.plain and "币安人生USDT: 0.1234500" in answer.plain
    assert "NOPEUSDT: not listed" in answer.plain and "s ago" in answer.plain


async def test_commands_fetch_prices_when_no_tick_has_run(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    assert exchange.ticker_requests() == []  # no alert yet: ticks send nothing
    await telegram.user_sends(USER, "/price BTCUSDT")
    await telegram.wait_for_message(USER, "BTCUSDT:")
    assert len(exchange.ticker_requests()) == 1
    request = exchange.ticker_requests()[0].message
    assert request["method"] == "ticker.price" and "params" not in request


async def test_one_request_per_tick_whatever_the_number_of_alerts(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    for chat in range(3000, 3010):
        await telegram.user_sends(chat, f"/alert BTCUSDT {90000 + chat}")
        await telegram.user_sends(chat, "/alert ETHUSDT 19999")
    for chat in range(3000, 3010):
        await telegram.wait_for_message(chat, "ETHUSDT rises")
    start, started = len(exchange.ticker_requests()), exchange.ticker_requests()[-1].at
    await exchange.wait_for_requests(start + 4)
    requests = exchange.ticker_requests()[start:]
    assert all("params" not in r.message for r in requests)  # all symbols, never one by one
    gaps = [b.at - a.at for a, b in zip([exchange.ticker_requests()[start - 1]] + requests, requests)]
    assert min(gaps) > 0.3  # one request per 0.5 s tick, not one per alert
    assert started > 0
    assert exchange.handshakes == 1  # one persistent connection


async def test_group_commands_addressed_to_the_bot_work(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    group = -100123
    await telegram.user_sends(group, "/price@pricealert_test_bot BTCUSDT", user_id=USER, chat_type="supergroup")
    assert "BTCUSDT:" in (await telegram.wait_for_message(group, "BTCUSDT")).plain


async def test_a_burst_of_users_is_answered_within_telegrams_limits(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    users = range(7000, 7060)
    for user in users:
        await telegram.user_sends(user, "/price BTCUSDT")
    for user in users:
        await telegram.wait_for_message(user, "BTCUSDT:", timeout=20)
    assert [r for r in telegram.rejected if r[1] == 429] == []
