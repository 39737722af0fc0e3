"""/export and /import: a chat's alerts as a CSV file, and back, checked like typed /alert commands."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from bot.alerts.backup import COLUMNS, MAX_BYTES, OLD_COLUMNS, BackupError, export_csv, parse_csv
from bot.alerts.liquidation import direction, step_level
from bot.alerts.rules import DEFAULT_MARGIN, Direction, rearm_level
from bot.sources import PriceSource
from tests.conftest import bot_settings, start_bot, stop_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

USER, OTHER = 1001, 1002
HEADER = ",".join(OLD_COLUMNS)  # files from before silent alerts; the new column is tested in test_silent.py


@dataclass
class Row:
    symbol: str
    direction: Direction
    level: Decimal
    note: str = ""
    repeat_seconds: int | None = None
    rearm_level: Decimal | None = None
    expires_at: datetime | None = None
    window_seconds: int | None = None


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def test_export_writes_one_line_per_alert_under_a_header() -> None:
    alerts = [
        Row("BTCUSDT", Direction.UP, Decimal("70000"), "take, \"profit\"", 3600,
            rearm_level(Direction.UP, Decimal("70000"), Decimal("1")), datetime(2030, 12, 31, 23, 59)),
        Row("ETHUSDT", Direction.DOWN, Decimal("2500.5")),
        Row("SOLUSDT", Direction.EITHER, Decimal("3"), window_seconds=900),
        Row("币安人生USDT", Direction.UP, Decimal("0.0000123"), "", 86400,
            rearm_level(Direction.UP, Decimal("0.0000123"), DEFAULT_MARGIN)),
    ]
    data = export_csv(alerts)
    assert data.startswith("\ufeff".encode())  # spreadsheets then read UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [
        list(COLUMNS),
        ["BTCUSDT", "above", "70000", 'take, "profit"', "1h margin 1%", "2030-12-31T23:59", ""],
        ["ETHUSDT", "below", "2500.5", "", "", "", ""],
        ["SOLUSDT", "move", "3% 15m", "", "", "", ""],
        ["币安人生USDT", "above", "0.0000123", "", "1d", "", ""],
    ]


def test_an_exported_file_reads_back_as_the_same_requests() -> None:
    alerts = [
        Row("BTCUSDT", Direction.UP, Decimal("70000"), "take profit", 3600,
            rearm_level(Direction.UP, Decimal("70000"), Decimal("1")), datetime(2030, 12, 31, 23, 59)),
        Row("ETHUSDT", Direction.DOWN, Decimal("2500.5"), "  spaced   out "),
        Row("SOLUSDT", Direction.EITHER, Decimal("3"), window_seconds=900, repeat_seconds=5400),
    ]
    lines = parse_csv(export_csv(alerts), 100)
    assert [line.number for line in lines] == [2, 3, 4] and all(line.error is None for line in lines)
    first, second, third = (line.request for line in lines)
    assert (first.symbol, first.direction, first.level, first.note) == ("BTCUSDT", Direction.UP, Decimal("70000"), "take profit")
    assert first.repeat == timedelta(hours=1) and first.margin == Decimal("1")
    assert first.expires == datetime(2030, 12, 31, 23, 59)
    assert (second.direction, second.level, second.note, second.repeat) == (Direction.DOWN, Decimal("2500.5"), "spaced out", None)
    assert (third.direction, third.level, third.window, third.repeat) == (
        Direction.EITHER, Decimal("3"), timedelta(minutes=15), timedelta(minutes=90))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(
    st.sampled_from(["BTCUSDT", "1000PEPEUSDT", "BTCUSDT_261225", "币安人生USDT"]),
    st.sampled_from([Direction.UP, Direction.DOWN]),
    st.decimals(min_value=Decimal("0.0000000001"), max_value=Decimal("99999999"), places=4, allow_nan=False),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=50),
), max_size=20))
def test_any_export_reads_back_line_for_line(alerts: list[tuple[str, Direction, Decimal, str]]) -> None:
    rows = [Row(symbol, direction, level, note) for symbol, direction, level, note in alerts]
    lines = parse_csv(export_csv(rows), 100) if rows else []
    for row, line in zip(rows, lines, strict=True):
        assert line.error is None, line.error
        request = line.request
        assert (request.symbol, request.direction, request.level) == (row.symbol, row.direction, row.level)
        assert request.note == " ".join(row.note.split())


@pytest.mark.parametrize(("data", "reason", "line"), [
    (b"", "malformed", 1),
    (b"\xff\xfe\x00garbage", "malformed", 1),
    (b"name,price\nBTCUSDT,70000\n", "malformed", 1),
    (csv_bytes("BTCUSDT,above,70000"), "malformed", 2),  # three columns of six
    (csv_bytes("BTCUSDT,above,70000,,,", 'ETHUSDT,below,"2500'), "malformed", 1),  # an unclosed quote
    (csv_bytes(), "empty", 0),
    (csv_bytes(*["BTCUSDT,above,70000,,,"] * 4), "too_many", 0),
    (csv_bytes("BTCUSDT,above,70000," + "x" * MAX_BYTES + ",,"), "too_large", 0),
])
def test_a_file_that_is_not_an_export_is_refused_whole(data: bytes, reason: str, line: int) -> None:
    with pytest.raises(BackupError) as refused:
        parse_csv(data, 3)
    assert (refused.value.reason, refused.value.line) == (reason, line)


def test_a_bad_line_is_refused_with_the_reason_alert_would_give() -> None:
    lines = parse_csv(csv_bytes(
        "BTCUSDT,above,lots,,,", "ETHUSDT,sideways,2500,,,", "SOLUSDT,below,100,,fortnight,", "BNBUSDT,,600,,,",
        "XRPUSDT,below,1," + "n" * 201 + ",,", "ADAUSDT,above,1,,,2999-01-01"), 10)
    assert [(line.number, line.error.reason if line.error else None) for line in lines] == [
        (2, "bad_level"), (3, "bad_level"), (4, "bad_duration"), (5, None), (6, "note_too_long"), (7, "until_too_far")]
    assert lines[3].request is not None and lines[3].request.direction is None  # decided from the price, as /alert does


async def test_export_then_import_in_another_chat(bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    for command in ("/alert BTCUSDT 70000 every 1h margin 1% until 2030-12-31 take profit", "/alert ETHUSDT below 1500",
                    "/alert SOLUSDT 3% 15m pump"):
        before = len(telegram.sent)
        await telegram.user_sends(USER, command)
        await telegram.wait_for_message(USER, "✅", after=before)
    await telegram.user_sends(USER, "/export")
    exported = await telegram.wait_for_message(USER, "3 alerts")
    assert exported.document is not None and exported.filename.endswith(".csv")
    assert exported.document.decode("utf-8-sig").splitlines()[1:] == [
        "BTCUSDT,above,70000,take profit,1h margin 1%,2030-12-31T23:59,",
        "ETHUSDT,below,1500,,,,",
        "SOLUSDT,move,3% 15m,pump,,,",
    ]

    await telegram.user_sends_document(OTHER, exported.filename, exported.document, caption="/import")
    answer = await telegram.wait_for_message(OTHER, "Import")
    assert "3 created, 0 refused" in answer.plain
    assert "Line 2: ✅ #4 BTCUSDT rises to ≥ 70000 · every 1h · until 2030-12-31 23:59 UTC" in answer.plain
    assert "Line 4: ✅ #6 SOLUSDT moves ±3% within 15m" in answer.plain
    await telegram.user_sends(OTHER, "/alerts")
    listing = await telegram.wait_for_message(OTHER, "Your alerts")
    assert "(3)" in listing.plain and "take profit" in listing.plain and "pump" in listing.plain


async def test_import_answers_line_by_line_and_creates_what_passes(
    bot, exchange: FakeExchange, telegram: FakeTelegram,
) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    data = csv_bytes("BTCUSDT,above,70000,ok,,", "BTCUSDT,above,lots,,,", "NOSUCHUSDT,above,1,,,",
                     "ETHUSDT,below,1500,,,2020-01-01", "BTCUSDT,below,50000,<b>also ok</b>,,",
                     "BTCUSDT,above,700000,,,")
    message_id = await telegram.user_sends_document(USER, "mine.csv", data)
    await telegram.user_replies(USER, message_id, "/import")  # /import in reply to the file
    answer = await telegram.wait_for_message(USER, "Import")
    assert "2 created, 4 refused" in answer.plain
    lines = answer.plain.splitlines()
    assert lines[1].startswith("Line 2: ✅ #1 BTCUSDT rises to ≥ 70000")
    assert lines[2].startswith("Line 3: ✖") and "lots is not a price" in lines[2]
    assert lines[3].startswith("Line 4: ✖") and "NOSUCHUSDT is not a Binance" in lines[3]
    assert lines[4].startswith("Line 5: ✖") and "already passed" in lines[4]
    assert lines[5].startswith("Line 6: ✅ #2 BTCUSDT falls to ≤ 50000")
    # A level 10x away is confirmed in chat, which a file cannot do: refused with the reason.
    assert lines[6].startswith("Line 7: ✖") and "700000 is more than 10 times away from the price (64000.00)" in lines[6]
    await telegram.user_sends(USER, "/alerts")
    listing = await telegram.wait_for_message(USER, "Your alerts")
    assert "(2)" in listing.plain and "<b>also ok</b>" in listing.plain  # typed text stays text
    assert telegram.rejected == []


@pytest.mark.parametrize(("data", "expected"), [
    (b"symbol;direction;level\nBTCUSDT;above;70000\n", "is not an alert list from /export (line 1)"),
    (csv_bytes("BTCUSDT,above,70000,,,", "ETHUSDT,below"), "is not an alert list from /export (line 3)"),
    (csv_bytes(*["BTCUSDT,above,70000,,,"] * 101), "more than 100 alerts"),
    (csv_bytes("BTCUSDT,above,70000," + "x" * MAX_BYTES + ",,"), "too large: at most 64 KB"),
    (csv_bytes(), "lists no alerts"),
])
async def test_a_malformed_or_oversized_file_creates_nothing(
    bot, telegram: FakeTelegram, data: bytes, expected: str,
) -> None:
    await telegram.user_sends_document(USER, "alerts.csv", data, caption="/import")
    answer = await telegram.wait_for_message(USER, "Nothing was created")
    assert expected in answer.plain
    await telegram.user_sends(USER, "/alerts")
    await telegram.wait_for_message(USER, "no active alerts")
    if len(data) > MAX_BYTES:
        assert telegram.downloads == []  # refused on its announced size, never downloaded


@pytest.fixture
async def small_bot(database_url: str, exchange: FakeExchange, telegram: FakeTelegram):
    application = await start_bot(bot_settings(database_url, exchange, telegram, max_alerts_per_chat=3))
    yield application
    await stop_bot(application)


async def test_import_keeps_the_chat_limit(small_bot, exchange: FakeExchange, telegram: FakeTelegram) -> None:
    exchange.set_price("BTCUSDT", "64000.00")
    await telegram.user_sends(USER, "/alert BTCUSDT 80000")
    await telegram.wait_for_message(USER, "✅")
    await telegram.user_sends_document(USER, "a.csv", csv_bytes(*[f"BTCUSDT,above,{70000 + i},,," for i in range(3)]),
                                       caption="/import")
    answer = await telegram.wait_for_message(USER, "Import")
    assert "2 created, 1 refused" in answer.plain
    assert "Line 4: ✖ You have 3 active alerts, the most a chat may have" in answer.plain


async def test_export_without_alerts_and_import_without_a_file(bot, telegram: FakeTelegram) -> None:
    await telegram.user_sends(USER, "/export")
    await telegram.wait_for_message(USER, "no live alerts to export")
    await telegram.user_sends(USER, "/import")
    assert "<code>/import</code>" in (await telegram.wait_for_message(USER, "CSV file")).text


async def test_only_group_admins_import(bot, telegram: FakeTelegram) -> None:
    group = -4005
    message_id = await telegram.user_sends_document(group, "a.csv", csv_bytes("BTCUSDT,above,70000,,,"),
                                                    user_id=77, chat_type="group")
    await telegram.user_replies(group, message_id, "/import", user_id=77, chat_type="group")
    await telegram.wait_for_message(group, "administrators")
    assert telegram.downloads == []


@dataclass
class LiqRow(Row):
    price_source: PriceSource = PriceSource.MARK
    liquidation: Decimal | None = None


@settings(max_examples=200, deadline=None)
@given(st.booleans(), st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("9999999"), places=8),
       st.decimals(min_value=Decimal("0.1"), max_value=Decimal("50"), places=2), st.booleans())
def test_a_liq_step_at_any_price_reads_back_as_the_same_step(long: bool, liquidation: Decimal, percent: Decimal,
                                                             edited: bool) -> None:
    """A /liq step's level is written as stored: a step of a low price (0.00001237 at 2.5 % is a
    level no percentage with 10 decimals gives back) or one moved by /edit reads back exactly."""
    level = step_level(long, liquidation, percent)
    if edited:  # /edit moved it: any level on the safe side of liquidation
        level = (level + liquidation) / 2 if level != liquidation else level
        level = level.quantize(Decimal("1e-10")).normalize()
    if level == liquidation or level <= 0:
        return
    row = LiqRow("BTCUSDT", direction(long), level, repeat_seconds=60,
                 rearm_level=level, liquidation=liquidation)
    [line] = parse_csv(export_csv([row]), 100)
    assert line.error is None, (line.error, export_csv([row]))
    assert line.request.level == level and line.request.liquidation == liquidation
    assert line.request.direction is direction(long) and line.request.source is PriceSource.MARK


def test_a_step_of_a_low_price_reads_back() -> None:
    level = step_level(True, Decimal("0.00001237"), Decimal("2.5"))
    [line] = parse_csv(export_csv([LiqRow("1000PEPEUSDT", Direction.DOWN, level, liquidation=Decimal("0.00001237"))]), 100)
    assert line.error is None and line.request.level == level
