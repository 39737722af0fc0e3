"""The outbox: messages waiting for Telegram, and what became of each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select, update

from bot.i18n import DEFAULT
from bot.storage.base import StoreBase, utcnow
from bot.storage.models import Chat, MessageKind, OutboxMessage, OutboxState


@dataclass(frozen=True)
class PendingMessage:
    id: int
    chat_id: int
    text: str
    attempts: int
    alert_id: int | None = None
    kind: MessageKind = MessageKind.FIRED
    language: str = "en"  # of its chat: for the buttons' labels
    # Issue 25: its forum topic, whether it rings, whether it was held for a digest, and its
    # chat's zone and quiet hours (start, end, digest), which decide how it goes out now.
    thread_id: int | None = None
    silent: bool = False
    held: bool = False
    timezone: str | None = None
    quiet: tuple[int | None, int | None, bool] = (None, None, False)



class OutboxQueries(StoreBase):
    async def pending_messages(self, limit: int = 100, now: datetime | None = None) -> list[PendingMessage]:
        """What is due: pending, and not held for a digest past `now` (naive UTC; default: the clock)."""
        now = now or utcnow()
        async with self._sessions() as session:
            query = (
                select(OutboxMessage.id, OutboxMessage.chat_id, OutboxMessage.text, OutboxMessage.attempts,
                       OutboxMessage.alert_id, OutboxMessage.kind, func.coalesce(Chat.language, DEFAULT),
                       OutboxMessage.message_thread_id, OutboxMessage.silent, OutboxMessage.held_until,
                       Chat.timezone, Chat.quiet_start, Chat.quiet_end, Chat.quiet_digest)
                .outerjoin(Chat, Chat.id == OutboxMessage.chat_id)
                .where(OutboxMessage.state == OutboxState.PENDING,
                       or_(OutboxMessage.held_until.is_(None), OutboxMessage.held_until <= now))
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
            return [PendingMessage(*row[:7], thread_id=row[7], silent=bool(row[8]), held=row[9] is not None,
                                   timezone=row[10], quiet=(row[11], row[12], bool(row[13])))
                    for row in await session.execute(query)]

    async def mark_sent(self, message_ids: Sequence[int], telegram_message_id: int) -> None:
        """Right after Telegram accepted them: the only window for a duplicate is this commit."""
        async with self._write() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(message_ids))
                .values(
                    state=OutboxState.SENT, sent_at=utcnow(), telegram_message_id=telegram_message_id,
                    attempts=OutboxMessage.attempts + 1,
                )
            )
            await session.commit()

    async def mark_sent_many(self, sent: Sequence[tuple[Sequence[int], int]]) -> None:
        """Marks what Telegram accepted, (outbox ids, Telegram message id) per message, in one
        transaction: the outbox sender writes them while its next messages are on the way."""
        table = OutboxMessage.__table__
        rows = [{"outbox_id": outbox_id, "telegram_id": telegram_id} for ids, telegram_id in sent for outbox_id in ids]
        if not rows:
            return
        async with self._write() as session:
            await session.execute(
                update(table).where(table.c.id == bindparam("outbox_id")).values(
                    state=OutboxState.SENT, sent_at=utcnow(), telegram_message_id=bindparam("telegram_id"),
                    attempts=table.c.attempts + 1,
                ),
                rows,
            )
            await session.commit()

    async def mark_failed(self, message_ids: Sequence[int], error: str, *, drop: bool) -> None:
        """Counts a failed attempt; `drop` gives the messages up for good, with the reason."""
        async with self._write() as session:
            changes: dict[str, object] = {
                "attempts": OutboxMessage.attempts + 1, "last_error": error[:200],
            }
            if drop:
                changes["state"] = OutboxState.DROPPED
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(message_ids)).values(**changes)
            )
            await session.commit()

