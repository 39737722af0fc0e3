"""Gaps of issue 24 closed (docs/futures.md): the tick skips futures sources no alert watches,
resuming decides "already passed" on the price an alert watches, /edit and the guided /alert keep
to it, /liq in the menu, funding reminders round-trip through /export and /import."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.conftest import RunningBot, eventually
from tests.fakes.exchange import FakeExchange
from tests.fakes.streams import FakeStreams
from tests.fakes.telegram import FakeTelegram
from tests.test_futures_bot import USER, fired, futures_bot, rest, streams, ticks_pass  # noqa: F401  (fixtures)

FUTURES_WORDS = {"mark", "index", "funding", "before"}


@pytest.fixture
def futures_statements() -> Iterator[list[str]]:
    """Every SQL statement run with a futures price source among its parameters (the tick's mark,
    index and funding steps), from any engine, while the test runs."""
    seen: list[str] = []

    def values(parameters: Any) -> list[Any]:
        if isinstance(parameters, dict):
            return list(parameters.values())
        if isinstance(parameters, (list, tuple)):
            return [v for p in parameters for v in values(p)] if parameters and isinstance(
                parameters[0], (list, tuple, dict)) else list(parameters)
        return []

    def listen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        words = {v.value if isinstance(v, enum.Enum) else v for v in values(parameters)}
        if "UPDATE alerts" in statement and words & FUTURES_WORDS:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", listen)
    yield seen
    event.remove(Engine, "before_cursor_execute", listen)


async def test_a_tick_with_only_last_price_alerts_runs_no_futures_statement_and_a_new_mark_alert_still_fires(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,  # noqa: F811
    futures_statements: list[str],
) -> None:
    ticker = futures_bot.application.bot_data["parts"].ticker
    streams.marks.set("BTCUSDT", "69500")
    await eventually(lambda: ticker.mark_status() == "stream")
    await eventually(lambda: getattr(ticker.marks.latest("BTCUSDT"), "mark", None) == Decimal("69500"))
    await telegram.user_sends(USER, "/alert ETHUSDT 9999")
    await telegram.wait_for_message(USER, "✅ Alert #1")
    await ticks_pass(ticker, 2)
    futures_statements.clear()
    await ticks_pass(ticker, 5)  # 2.5 s of ticks with fresh mark prices: two or more once-a-second steps
    assert futures_statements == []
    await telegram.user_sends(USER, "/alert BTCUSDT mark 70000")
    await telegram.wait_for_message(USER, "✅ Alert #2")
    streams.marks.set("BTCUSDT", "70010.5")
    await telegram.wait_for_message(USER, "BTCUSDT mark price rose to 70010.50", timeout=3)
    assert futures_statements  # its source is stepped now


async def test_a_mark_alert_whose_mark_crossed_during_a_pause_waits_for_a_new_crossing_after_resume(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,  # noqa: F811
) -> None:
    ticker = futures_bot.application.bot_data["parts"].ticker
    exchange.set_price("BTCUSDT", "69000.0")
    streams.marks.set("BTCUSDT", "69500")
    await eventually(lambda: getattr(ticker.marks.latest("BTCUSDT"), "mark", None) == Decimal("69500"))
    await telegram.user_sends(USER, "/alert BTCUSDT mark 70000")
    await telegram.wait_for_message(USER, "✅ Alert #1")
    before = len(telegram.sent)
    await telegram.user_sends(USER, "/pause")
    await telegram.wait_for_message(USER, after=before)
    streams.marks.set("BTCUSDT", "70100")  # the mark passes the level during the pause; the last price does not
    await eventually(lambda: getattr(ticker.marks.latest("BTCUSDT"), "mark", None) == Decimal("70100"))
    await telegram.user_sends(USER, "/resume")
    resumed = (await telegram.wait_for_message(USER, "watching again")).plain
    assert "Passed during the pause" in resumed and "#1 BTCUSDT mark price rises to ≥ 70000" in resumed
    assert "now 70100" in resumed
    await ticks_pass(ticker, 4)
    assert fired(telegram) == []  # it waits for the mark price to come back first
    streams.marks.set("BTCUSDT", "69900")
    await ticks_pass(ticker, 4)
    streams.marks.set("BTCUSDT", "70050")
    await telegram.wait_for_message(USER, "BTCUSDT mark price rose to 70050")


async def test_edit_of_a_mark_alert_decides_its_direction_from_the_mark_price_and_keeps_watching_it(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,  # noqa: F811
) -> None:
    ticker = futures_bot.application.bot_data["parts"].ticker
    exchange.set_price("BTCUSDT", "69000.0")
    streams.marks.set("BTCUSDT", "71000")
    await eventually(lambda: getattr(ticker.marks.latest("BTCUSDT"), "mark", None) == Decimal("71000"))
    await telegram.user_sends(USER, "/alert BTCUSDT mark 72000")
    assert "rises to ≥ 72000" in (await telegram.wait_for_message(USER, "✅ Alert #1")).plain
    await telegram.user_sends(USER, "/edit 1 70500")  # below the mark (71000), above the last price (69000)
    edited = (await telegram.wait_for_message(USER, "moved")).plain
    assert "falls to ≤ 70500" in edited and "Watches the mark price, now 71000" in edited
    exchange.set_price("BTCUSDT", "70600.0")  # the last price rising through 70500 fires nothing
    await ticks_pass(ticker, 4)
    assert fired(telegram) == []
    streams.marks.set("BTCUSDT", "70400")
    await telegram.wait_for_message(USER, "BTCUSDT mark price fell to 70400")


async def test_the_guided_alert_shows_a_relative_level_on_the_mark_price_as_it_is_created(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,  # noqa: F811
) -> None:
    ticker = futures_bot.application.bot_data["parts"].ticker
    exchange.set_price("BTCUSDT", "64000.00")
    streams.marks.set("BTCUSDT", "64010")
    await eventually(lambda: getattr(ticker.marks.latest("BTCUSDT"), "mark", None) == Decimal("64010"))
    await telegram.user_sends(USER, "/alert")
    await telegram.press_button(await telegram.wait_for_message(USER, "Which symbol"), "gs:BTCUSDT")
    await telegram.wait_for_message(USER, "At what price")
    await telegram.user_sends(USER, "+5%")
    confirm = await telegram.wait_for_message(USER, "Create this alert?")
    assert "rises to ≥ 67200" in confirm.plain  # from the last price
    assert "On the mark price (now 64010.00): rises to ≥ 67210.50" in confirm.plain
    await telegram.press_button(confirm, "gc:mark")
    created = (await telegram.wait_for_message(USER, "✅ Alert")).plain
    assert "rises to ≥ 67210.5" in created and "Watches the mark price" in created, created


async def test_funding_reminders_round_trip_through_export_and_import(
    futures_bot: RunningBot, exchange: FakeExchange, telegram: FakeTelegram, streams: FakeStreams,  # noqa: F811
) -> None:
    ticker = futures_bot.application.bot_data["parts"].ticker
    streams.marks.set("BTCUSDT", "69000", rate="0.0001")
    await eventually(lambda: getattr(ticker.marks.latest("BTCUSDT"), "mark", None) == Decimal("69000"))
    for command in ("/alert BTCUSDT funding 15m before every", "/alert BTCUSDT funding 1h before",
                    "/alert BTCUSDT funding above 0.05%"):
        before = len(telegram.sent)
        await telegram.user_sends(USER, command)
        await telegram.wait_for_message(USER, "✅", after=before)
    await telegram.user_sends(USER, "/export")
    exported = await telegram.wait_for_message(USER, "3 alerts")
    assert exported.document is not None
    await telegram.user_sends_document(USER + 1, exported.filename, exported.document, caption="/import")
    answer = (await telegram.wait_for_message(USER + 1, "Import")).plain
    assert "3 created, 0 refused" in answer, answer
    await telegram.user_sends(USER + 1, "/export")
    again = await telegram.wait_for_message(USER + 1, "3 alerts")
    assert again.document == exported.document  # the same reminders: lead, every, funding level
