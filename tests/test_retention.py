"""RETENTION_DAYS: closed alerts and delivered messages go after a while; nothing live ever does."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import event, func, insert, select, update

from bot.alerts.rules import Direction
from bot.storage.models import Alert, AlertState, MessageKind, OutboxMessage, OutboxState
from bot.storage.store import AlertStore, utcnow
from bot.runtime.work import RETENTION_EVERY, prune_old_rows

CHAT = 1001
LONG_AGO = timedelta(days=91)


async def _alert(store: AlertStore, state: AlertState, closed_ago: timedelta | None, note: str = "") -> int:
    alert = await store.create_alert(CHAT, "BTCUSDT", Direction.UP, Decimal("70000"), note)
    now = utcnow()
    closed = None if closed_ago is None else now - closed_ago
    async with store._write() as session:
        await session.execute(update(Alert).where(Alert.id == alert.id).values(
            state=state, closed_at=closed, created_at=now - timedelta(days=400),
            fired_at=closed if state is AlertState.FIRED else None))
        await session.commit()
    return alert.id


async def _message(store: AlertStore, state: OutboxState, ago: timedelta, text: str) -> None:
    at = utcnow() - ago
    async with store._write() as session:
        await session.execute(insert(OutboxMessage).values(
            chat_id=CHAT, text=text, state=state, created_at=at, kind=MessageKind.FIRED, attempts=1,
            sent_at=at if state is OutboxState.SENT else None))
        await session.commit()


async def test_old_closed_rows_go_and_everything_else_stays(store: AlertStore) -> None:
    gone = [await _alert(store, state, LONG_AGO) for state in
            (AlertState.FIRED, AlertState.DELETED, AlertState.EXPIRED, AlertState.ENDED)]
    live = [await _alert(store, state, None) for state in
            (AlertState.ACTIVE, AlertState.PAUSED, AlertState.WAITING, AlertState.COOLING, AlertState.ARMING)]
    recent_deleted = await _alert(store, AlertState.DELETED, timedelta(days=89))
    fired_yesterday = await _alert(store, AlertState.FIRED, timedelta(days=1), "yesterday")
    for state, ago, text in [(OutboxState.SENT, LONG_AGO, "old sent"), (OutboxState.DROPPED, LONG_AGO, "old dropped"),
                             (OutboxState.PENDING, LONG_AGO, "old pending"), (OutboxState.SENT, timedelta(days=2), "new")]:
        await _message(store, state, ago, text)

    pruned = await store.prune(utcnow() - timedelta(days=90), pause=0)

    assert (pruned.alerts, pruned.messages) == (4, 2)
    async with store._sessions() as session:
        left = set((await session.scalars(select(Alert.id))).all())
        texts = set((await session.scalars(select(OutboxMessage.text))).all())
    assert left == {*live, recent_deleted, fired_yesterday} and left.isdisjoint(gone)
    assert texts == {"old pending", "new"}  # a message not yet delivered is never pruned
    # The last week's fired alerts are still listed, and their re-arm buttons still work.
    assert [a.id for a in await store.list_recently_fired(CHAT)] == [fired_yesterday]
    assert await store.rearm_alert(CHAT, fired_yesterday) is not None


async def test_pruning_deletes_at_most_1000_rows_per_transaction(store: AlertStore) -> None:
    old = utcnow() - LONG_AGO
    async with store._write() as session:
        await session.execute(insert(Alert), [
            {"chat_id": CHAT, "symbol": "BTCUSDT", "direction": Direction.UP, "level": Decimal(1), "note": "",
             "state": AlertState.DELETED, "created_at": old, "closed_at": old} for _ in range(2500)])
        await session.commit()
    deletes: list[int] = []

    def count(conn: object, cursor: Any, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append(cursor.rowcount)

    engine = store._write.kw["bind"].sync_engine
    event.listen(engine, "after_cursor_execute", count)
    try:
        pruned = await store.prune(utcnow() - timedelta(days=90), batch=5000, pause=0)
    finally:
        event.remove(engine, "after_cursor_execute", count)
    assert pruned.alerts == 2500
    assert deletes == [1000, 1000, 500]
    async with store._sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Alert))).scalar_one() == 0


async def test_the_bot_prunes_daily(bot) -> None:
    jobs = bot.application.job_queue.get_jobs_by_name("retention")
    assert len(jobs) == 1 and jobs[0].trigger.interval == timedelta(seconds=RETENTION_EVERY) == timedelta(days=1)
    assert jobs[0].callback is prune_old_rows
    store: AlertStore = bot.application.bot_data["store"]
    old, recent = await _alert(store, AlertState.EXPIRED, LONG_AGO), await _alert(store, AlertState.EXPIRED, timedelta(days=80))
    await jobs[0].run(bot.application)  # what the JobQueue does once a day
    assert await store.get_alert(CHAT, old) is None and await store.get_alert(CHAT, recent) is not None
