"""A tick is all or nothing, on SQLite as on PostgreSQL: a fired alert always has its message."""

from __future__ import annotations

import asyncio
import random
import re
import signal
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from bot.alerts.rules import Direction
from bot.notify.notices import render_fired
from bot.storage.db import make_engine, make_sessions
from bot.storage.models import Alert, AlertState, OutboxMessage
from bot.storage.store import AlertStore, utcnow
from tests.conftest import spawn_bot
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram

_FAIL_SQLITE = "CREATE TRIGGER outbox_fails BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END"
_FAIL_POSTGRES = [
    "CREATE FUNCTION outbox_fails() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER outbox_fails BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION outbox_fails()",
]


async def _outbox_inserts_fail(database_url: str, fail: bool) -> None:
    engine = make_engine(database_url)
    async with engine.begin() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if fail:
            for statement in [_FAIL_SQLITE] if sqlite else _FAIL_POSTGRES:
                await connection.execute(text(statement))
        else:
            await connection.execute(text("DROP TRIGGER outbox_fails" + ("" if sqlite else " ON outbox")))
    await engine.dispose()


async def _count(store: AlertStore, query) -> int:  # type: ignore[no-untyped-def]
    async with store._sessions() as session:
        return (await session.execute(query)).scalar_one()


async def test_an_alert_whose_message_cannot_be_written_stays_active_and_fires_once_later(
    store: AlertStore, database_url: str
) -> None:
    alert = await store.create_alert(7, "BTCUSDT", Direction.UP, Decimal("70000"), "")
    await _outbox_inserts_fail(database_url, True)
    with pytest.raises(Exception, match="disk full"):
        await store.fire_crossed({"BTCUSDT": Decimal("70001")}, render_fired)
    state = await _count(store, select(Alert.state).where(Alert.id == alert.id))
    assert state == AlertState.ACTIVE
    assert await _count(store, select(func.count()).select_from(OutboxMessage)) == 0

    await _outbox_inserts_fail(database_url, False)
    fired = await store.fire_crossed({"BTCUSDT": Decimal("70002")}, render_fired)
    assert [a.id for a in fired] == [alert.id]
    assert await store.fire_crossed({"BTCUSDT": Decimal("70003")}, render_fired) == []
    pending = await store.pending_messages()
    assert [(m.chat_id, m.alert_id) for m in pending] == [(7, alert.id)]


CHATS, PER_CHAT, KILLS = 100, 20, 4  # each kill interrupts a tick that fires 2,000 alerts


async def _add_alerts(store: AlertStore, base_level: int) -> dict[int, int]:
    """CHATS x PER_CHAT rising alerts just above `base_level`; returns alert id -> chat."""
    rows = [{"chat_id": chat, "symbol": "BTCUSDT", "direction": Direction.UP, "level": Decimal(base_level + n),
             "note": "", "state": AlertState.ACTIVE, "created_at": utcnow(), "fire_count": 0}
            for chat in range(1, CHATS + 1) for n in range(PER_CHAT)]
    async with store._write() as session:
        ids = (await session.scalars(insert(Alert).returning(Alert.id, sort_by_parameter_order=True), rows)).all()
        await session.commit()
    return {alert_id: row["chat_id"] for alert_id, row in zip(ids, rows)}


async def test_sigkill_during_a_big_tick_loses_no_notification(
    tmp_path: Path, telegram: FakeTelegram, exchange: FakeExchange, database_url: str
) -> None:
    """Kill the bot at random moments while a tick fires 2,000 alerts; after a restart every
    alert is named in a message to its own chat."""
    engine = make_engine(database_url)
    store = AlertStore(make_sessions(engine))
    owners: dict[int, int] = {}
    rng = random.Random(20261125)
    log = (tmp_path / "bot.log").open("ab")  # 2,000 "fired" lines a tick would fill a pipe
    try:
        for kill in range(KILLS):
            base = 60000 + 1000 * kill
            owners.update(await _add_alerts(store, base))
            exchange.set_price("BTCUSDT", f"{base - 1}.00")
            telegram.hold_sends()  # nothing is delivered (and marked sent) before the kill
            process = await spawn_bot(tmp_path, telegram, exchange, database_url, stderr=log)
            try:
                await exchange.wait_for_requests(len(exchange.ticker_requests()) + 1, timeout=30)
                exchange.set_price("BTCUSDT", f"{base + PER_CHAT}.00")  # the next tick fires them all
                await exchange.wait_for_requests(len(exchange.ticker_requests()) + 1, timeout=30)
                await asyncio.sleep(rng.uniform(0, 0.2))  # somewhere around that tick's transaction
            finally:
                process.send_signal(signal.SIGKILL)
                await process.wait()
            telegram.release_sends(accept=False)
            # After any kill: every fired alert has its message recorded, or it is still active.
            fired = await _count(store, select(func.count()).select_from(Alert).where(Alert.state == AlertState.FIRED))
            recorded = await _count(store, select(func.count(func.distinct(OutboxMessage.alert_id))))
            assert fired == recorded
    finally:
        await engine.dispose()

    exchange.set_price("BTCUSDT", "99999.00")  # what a kill left active fires now
    process = await spawn_bot(tmp_path, telegram, exchange, database_url, stderr=log)
    try:
        async def everyone_told() -> None:
            while True:
                named = {int(n) for m in telegram.sent for n in re.findall(r"#(\d+)", m.plain)
                         if owners.get(int(n)) == m.chat_id}
                if named >= set(owners):
                    return
                await asyncio.sleep(0.2)
        await asyncio.wait_for(everyone_told(), 90)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
        log.close()
