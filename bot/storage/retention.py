"""Retention: closed alerts and delivered messages older than RETENTION_DAYS are deleted.

Rows go in batches (at most 1,000 per transaction): the ids are picked by a read, which takes no
lock, and each batch is one short write transaction, so a tick waiting for the write lock (SQLite)
or for the same rows (PostgreSQL) waits at most one batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select

from bot.storage.base import StoreBase
from bot.storage.models import Alert, AlertState, OutboxMessage, OutboxState

MAX_BATCH = 1000  # rows per transaction, at most
# What the daily job uses (benchmarks/retention.py): short transactions with a pause between
# them keep a tick from ever waiting long for the write lock.
BATCH = 250
PAUSE = 0.1  # seconds
# Alerts that can never fire again by themselves. A FIRED once-alert can be re-armed, but only
# from the last week's list (RECENT), which a retention of at least 7 days keeps.
CLOSED = (AlertState.FIRED, AlertState.DELETED, AlertState.EXPIRED, AlertState.ENDED)
DONE = (OutboxState.SENT, OutboxState.DROPPED)


@dataclass(frozen=True)
class Pruned:
    alerts: int
    messages: int


class RetentionQueries(StoreBase):
    async def prune(self, before: datetime, *, batch: int = BATCH, pause: float = PAUSE) -> Pruned:
        """Deletes alerts closed before `before`, and messages sent (or dropped) before it.

        `pause` seconds between batches leave the database to the ticks and commands.
        """
        batch = max(1, min(batch, MAX_BATCH))
        alerts = await self._prune(
            Alert, Alert.closed_at, (Alert.closed_at < before, Alert.state.in_(CLOSED)), batch, pause)
        # A dropped message has no sent_at: it was given up soon after it was written.
        finished = func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at)
        messages = await self._prune(
            OutboxMessage, OutboxMessage.id, (OutboxMessage.state.in_(DONE), finished < before), batch, pause)
        return Pruned(alerts, messages)

    async def _prune(self, table: type, order: ColumnElement, conditions: Sequence[ColumnElement[bool]],
                     batch: int, pause: float) -> int:
        deleted = 0
        while True:
            async with self._sessions() as session:
                ids = (await session.scalars(
                    select(table.id).where(*conditions).order_by(order).limit(batch))).all()  # type: ignore[attr-defined]
            if not ids:
                return deleted
            async with self._write() as session:
                # The conditions again: a row may have changed since it was read (a re-armed alert).
                result = await session.execute(delete(table).where(table.id.in_(ids), *conditions))  # type: ignore[attr-defined]
                await session.commit()
            deleted += result.rowcount  # type: ignore[attr-defined]
            if len(ids) < batch:
                return deleted
            if pause:
                await asyncio.sleep(pause)
