"""Where and when a chat reads its notifications (issue 25): forum topic names, the chat's time
zone and quiet hours, and each outbox message's topic and sound."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.base import StoreBase, utcnow
from bot.storage.chats import dialect_insert, upsert_chat
from bot.storage.models import Alert, Chat, ForumTopic, OutboxMessage, OutboxState

MAX_TOPIC_NAME = 128  # Telegram's limit on a topic's name


async def placements(session: AsyncSession, alert_ids: Sequence[int]) -> dict[int, dict[str, object]]:
    """The outbox columns an alert's message inherits from it: its topic and whether it is
    silent. Read by primary key, in chunks under SQLite's bind limit."""
    found: dict[int, dict[str, object]] = {a: {"message_thread_id": None, "silent": False} for a in alert_ids}
    ids = sorted(set(alert_ids))
    for start in range(0, len(ids), 5000):
        rows = await session.execute(select(Alert.id, Alert.message_thread_id, Alert.silent)
                                     .where(Alert.id.in_(ids[start:start + 5000])))
        for alert_id, thread_id, silent in rows:
            found[alert_id] = {"message_thread_id": thread_id, "silent": bool(silent)}
    return found


class TopicQueries(StoreBase):
    async def remember_topic(self, chat_id: int, thread_id: int, name: str, *, latest: bool = True) -> None:
        """A topic's name: `latest` (created or renamed) replaces a stored one, else it is kept
        only if none is stored (a message in the topic tells the name it was created with)."""
        values = {"name": name[:MAX_TOPIC_NAME]}
        keys = [ForumTopic.chat_id, ForumTopic.message_thread_id]
        async with self._write() as session:
            statement = dialect_insert(session)(ForumTopic).values(chat_id=chat_id, message_thread_id=thread_id, **values)
            await session.execute(statement.on_conflict_do_update(index_elements=keys, set_=values) if latest
                                  else statement.on_conflict_do_nothing(index_elements=keys))
            await session.commit()

    async def topic_names(self, chat_id: int) -> dict[int, str]:
        async with self._sessions() as session:
            rows = await session.execute(select(ForumTopic.message_thread_id, ForumTopic.name)
                                         .where(ForumTopic.chat_id == chat_id))
            return dict(rows.all())

    async def chat_hours(self, chat_id: int) -> tuple[str | None, tuple[int | None, int | None, bool]]:
        """(zone name or None for UTC, (quiet start, end, digest) with None when there are none)."""
        async with self._sessions() as session:
            row = (await session.execute(select(Chat.timezone, Chat.quiet_start, Chat.quiet_end, Chat.quiet_digest)
                                         .where(Chat.id == chat_id))).first()
        if row is None:
            return None, (None, None, False)
        return row[0], (row[1], row[2], bool(row[3]))

    async def set_timezone(self, chat_id: int, name: str) -> None:
        async with self._write() as session:
            await session.execute(upsert_chat(session, chat_id, {"timezone": name}))
            await session.commit()

    async def set_quiet(self, chat_id: int, start: int | None, end: int | None, digest: bool) -> int:
        """Sets (or, start None, ends) the chat's quiet hours, in minutes after local midnight.
        Messages held for a digest are released at once: the sender holds them again if the new
        window says so. Returns how many."""
        values = {"quiet_start": start, "quiet_end": end, "quiet_digest": digest}
        now = utcnow()
        async with self._write() as session:
            await session.execute(upsert_chat(session, chat_id, values))
            released = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.chat_id == chat_id, OutboxMessage.state == OutboxState.PENDING,
                       OutboxMessage.held_until > now)
                .values(held_until=now))
            await session.commit()
        return released.rowcount  # type: ignore[attr-defined]

    async def hold_messages(self, message_ids: Sequence[int], until: datetime, now: datetime | None = None) -> int:
        """Digest quiet hours: these pending messages wait until `until` (naive UTC), in the
        database, so that a restart or another replica keeps holding them and sends them then.
        One statement that re-checks what the sender read: only messages not held past `now`,
        of chats whose quiet hours still hold a digest, so that a `/quiet off` committed since
        (here or on another replica) is never undone. Returns how many are held."""
        now = now or utcnow()
        digest_chats = select(Chat.id).where(Chat.quiet_digest.is_(True))
        async with self._write() as session:
            held = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(message_ids), OutboxMessage.state == OutboxState.PENDING,
                       or_(OutboxMessage.held_until.is_(None), OutboxMessage.held_until <= now),
                       OutboxMessage.chat_id.in_(digest_chats))
                .values(held_until=until))
            await session.commit()
        return held.rowcount  # type: ignore[attr-defined]

    async def next_release(self) -> datetime | None:
        """When the earliest held digest is due (naive UTC), or None: a starting sender schedules
        its wake from it, since pending_messages leaves held messages out."""
        async with self._sessions() as session:
            return await session.scalar(select(func.min(OutboxMessage.held_until))
                                        .where(OutboxMessage.state == OutboxState.PENDING))
