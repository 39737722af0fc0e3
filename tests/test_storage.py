"""The database decides which alerts fire; it must agree with the rule, exactly, on every backend."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.alerts.rules import Direction, crossed
from bot.storage.models import OutboxMessage, OutboxState
from bot.storage.store import AlertStore, FiredAlert


def render(alert: FiredAlert) -> str:
    return f"{alert.symbol} {alert.price}"


@pytest.mark.parametrize("level", ["0.0000000001", "99999999.9999999999", "0.1", "65000.10"])
async def test_levels_come_back_exactly(store: AlertStore, level: str) -> None:
    created = await store.create_alert(1, "BTCUSDT", Direction.UP, Decimal(level), "")
    [listed] = await store.list_active(1)
    assert listed.id == created.id and listed.level == Decimal(level)


async def test_price_equal_to_level_fires_and_a_hair_below_does_not(store: AlertStore) -> None:
    await store.create_alert(1, "PEPEUSDT", Direction.UP, Decimal("0.0000100001"), "")
    assert await store.fire_crossed({"PEPEUSDT": Decimal("0.0000100000")}, render) == []
    [fired] = await store.fire_crossed({"PEPEUSDT": Decimal("0.0000100001")}, render)
    assert fired.price == fired.level == Decimal("0.0000100001")


async def test_database_fires_exactly_what_the_rule_says(store: AlertStore) -> None:
    rng = random.Random(7)
    symbols = ["BTCUSDT", "ETHUSDT", "1000PEPEUSDT", "币安人生USDT", "BTCUSDT_261225"]
    alerts = {}
    for _ in range(300):
        symbol = rng.choice(symbols)
        direction = rng.choice(list(Direction))
        level = Decimal(rng.randint(1, 2000)) / 100
        created = await store.create_alert(rng.randint(1, 5), symbol, direction, level, "")
        alerts[created.id] = created
    for _ in range(5):
        prices = {s: Decimal(rng.randint(1, 2000)) / 100 for s in symbols if rng.random() < 0.8}
        expected = {
            a.id for a in alerts.values()
            if a.symbol in prices and crossed(a.direction, a.level, prices[a.symbol])
        }
        fired = await store.fire_crossed(prices, render)
        assert {f.id for f in fired} == expected
        for alert_id in expected:
            del alerts[alert_id]


async def test_firing_records_one_pending_message_per_alert_and_never_fires_twice(store: AlertStore) -> None:
    first = await store.create_alert(10, "BTCUSDT", Direction.DOWN, Decimal("60000"), "")
    await store.create_alert(11, "BTCUSDT", Direction.DOWN, Decimal("50000"), "")
    fired = await store.fire_crossed({"BTCUSDT": Decimal("59999.9")}, render)
    assert [f.id for f in fired] == [first.id]
    assert await store.fire_crossed({"BTCUSDT": Decimal("59000")}, render) == []
    [pending] = await store.pending_messages()
    assert (pending.chat_id, pending.text) == (10, "BTCUSDT 59999.9")
    await store.mark_sent([pending.id], telegram_message_id=555)
    assert await store.pending_messages() == []
    async with store._sessions() as session:
        row = (await session.scalars(select(OutboxMessage))).one()
    assert (row.state, row.telegram_message_id, row.alert_id) == (OutboxState.SENT, 555, first.id)


async def test_a_chat_deletes_only_its_own_alerts(store: AlertStore) -> None:
    mine = await store.create_alert(1, "BTCUSDT", Direction.UP, Decimal("1"), "")
    assert await store.delete_alert(2, mine.id) is None
    assert [a.id for a in await store.list_active(1)] == [mine.id]
    deleted = await store.delete_alert(1, mine.id)
    assert deleted is not None and deleted.symbol == "BTCUSDT"
    assert await store.delete_alert(1, mine.id) is None  # twice: already gone
    assert not await store.has_active_alerts()
    assert await store.fire_crossed({"BTCUSDT": Decimal("2")}, render) == []


async def test_prices_the_database_cannot_hold_exactly_are_ignored(store: AlertStore) -> None:
    await store.create_alert(1, "BTCUSDT", Direction.UP, Decimal("1"), "")
    assert await store.fire_crossed({"BTCUSDT": Decimal("1.00000000001")}, render) == []
    assert len(await store.fire_crossed({"BTCUSDT": Decimal("1.5"), "X": Decimal("1e9")}, render)) == 1


async def test_sqlite_runs_in_wal_mode(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("WAL is SQLite's")
    from sqlalchemy import text

    from bot.storage.db import make_engine

    engine = make_engine(database_url)
    async with engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
    await engine.dispose()
