"""Silent alerts (issue 25): `/alert BTCUSDT 70000 silent` is delivered with disable_notification,
shown in /alerts, and kept by /export and /import; in the alert row, so anything that edits it keeps it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bot.alerts.backup import COLUMNS, parse_csv
from bot.alerts.commands import CommandError, parse_alert
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

USER, OTHER = 8101, 8102


@pytest.mark.parametrize(("words", "silent", "note", "repeat"), [
    (["BTCUSDT", "70000"], False, "", None),
    (["BTCUSDT", "70000", "silent"], True, "", None),
    (["BTCUSDT", "70000", "SILENT", "take", "profit"], True, "take profit", None),
    (["BTCUSDT", "70000", "every", "1h", "silent", "night"], True, "night", timedelta(hours=1)),
    (["BTCUSDT", "70000", "silent", "every", "1h"], True, "", timedelta(hours=1)),
    (["BTCUSDT", "70000", "take", "silent"], False, "take silent", None),  # inside the note: a word
])
def test_silent_is_an_option_like_every_and_until(words: list[str], silent: bool, note: str,
                                                  repeat: timedelta | None) -> None:
    request = parse_alert(words)
    assert (request.silent, request.note, request.repeat, request.level) == (silent, note, repeat, Decimal(70000))


def test_silent_twice_is_refused() -> None:
    with pytest.raises(CommandError) as caught:
        parse_alert(["BTCUSDT", "70000", "silent", "silent"])
    assert caught.value.reason == "option_twice"


def test_the_silent_column_reads_back() -> None:
    data = ("\ufeff" + ",".join(COLUMNS) + "\nBTCUSDT,above,70000,,,,yes\nETHUSDT,below,2000,,,,\n"
            "SOLUSDT,above,300,,,,maybe\n").encode()
    first, second, third = parse_csv(data, 100)
    assert first.request is not None and first.request.silent
    assert second.request is not None and not second.request.silent
    assert third.request is None and third.error is not None  # neither yes nor no: refused, with the line


async def test_a_silent_alert_arrives_without_a_sound_and_a_loud_one_rings(
    bot, exchange: FakeExchange, telegram: FakeTelegram,
) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert BTCUSDT 65000 silent night watch")
    created = await telegram.wait_for_message(USER, "#1")
    assert "🔕 silent" in created.plain and "night watch" in created.plain
    await telegram.user_sends(USER, "/alert BTCUSDT 64900")
    await telegram.wait_for_message(USER, "#2")
    await telegram.user_sends(USER, "/alerts")
    listing = await telegram.wait_for_message(USER, "Your alerts")
    lines = {line.split()[0]: line for line in listing.plain.splitlines() if line.startswith("#")}
    assert "🔕" in lines["#1"] and "🔕" not in lines["#2"]

    before = len(telegram.sent)
    exchange.set_price("BTCUSDT", "65000.00")  # both fire in the same tick
    silent = await telegram.wait_for_message(USER, "alert #1)", after=before)
    loud = await telegram.wait_for_message(USER, "alert #2)", after=before)
    assert silent.silent and not loud.silent
    assert silent.message_id != loud.message_id  # never combined: one would ring for the other
    assert not created.silent  # answers to commands ring as before


async def test_export_and_import_keep_silent(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert BTCUSDT 65000 silent")
    await telegram.wait_for_message(USER, "#1")
    await telegram.user_sends(USER, "/alert BTCUSDT 63000")
    await telegram.wait_for_message(USER, "#2")
    await telegram.user_sends(USER, "/export")
    exported = await telegram.wait_for_message(USER, "2 alerts")
    assert exported.document is not None
    assert exported.document.decode("utf-8-sig").splitlines() == [
        ",".join(COLUMNS), "BTCUSDT,above,65000,,,,yes", "BTCUSDT,below,63000,,,,"]

    await telegram.user_sends_document(OTHER, exported.filename or "alerts.csv", exported.document, caption="/import")
    answer = await telegram.wait_for_message(OTHER, "Import")
    assert "2 created" in answer.plain
    assert "#3 BTCUSDT rises to ≥ 65000 · 🔕 silent" in answer.plain
    assert "#4 BTCUSDT falls to ≤ 63000" in answer.plain
    assert "#4 BTCUSDT falls to ≤ 63000 · 🔕" not in answer.plain


async def test_an_edited_alert_stays_silent(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/timezone Europe/Berlin")
    await telegram.wait_for_message(USER, "Time zone set")
    await telegram.user_sends(USER, "/alert BTCUSDT 70000 until 2027-03-28T12:00 silent")
    await telegram.wait_for_message(USER, "✅")
    await telegram.user_sends(USER, "/edit 1 65000")
    answer = await telegram.wait_for_message(USER, "✏️")
    assert "🔕 silent" in answer.plain and "until 2027-03-28 12:00 CEST" in answer.plain  # on the chat's clock
    before = len(telegram.sent)
    exchange.set_price("BTCUSDT", "65000.00")
    fired = await telegram.wait_for_message(USER, "🔔", after=before)
    assert fired.silent
