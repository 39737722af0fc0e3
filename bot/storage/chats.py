"""Whole chats: their language, a block, /pause and /resume."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Insert, Update, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import DEFAULT
from bot.storage.base import WATCHING, StoreBase, utcnow
from bot.storage.models import Alert, AlertState, Chat, OutboxMessage, OutboxState


class ChatQueries(StoreBase):
    async def chat_language(self, chat_id: int) -> tuple[str, bool] | None:
        """(language, chosen by /language) or None when the chat is new to us."""
        async with self._sessions() as session:
            chat = await session.get(Chat, chat_id)
            return (chat.language, chat.language_chosen) if chat else None

    async def set_chat_language(self, chat_id: int, language: str, *, chosen: bool) -> None:
        """An upsert: two commands of a new chat may arrive at once."""
        async with self._write() as session:
            await session.execute(_upsert_chat(session, chat_id, {"language": language, "language_chosen": chosen}))
            await session.commit()

    async def block_chat(self, chat_id: int, reason: str) -> tuple[int, int]:
        """The chat refuses our messages: pause its alerts, drop what waits for it.

        Returns (alerts paused, messages dropped). Nothing is deleted: /start resumes the alerts.
        """
        async with self._write() as session:
            paused = await session.execute(_set_state(chat_id, WATCHING, AlertState.PAUSED))
            await session.execute(_upsert_chat(session, chat_id, {"blocked_at": utcnow()}))
            dropped = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.chat_id == chat_id, OutboxMessage.state == OutboxState.PENDING)
                .values(state=OutboxState.DROPPED, last_error=reason[:200], attempts=OutboxMessage.attempts + 1)
            )
            await session.commit()
            return paused.rowcount, dropped.rowcount  # type: ignore[attr-defined]

    async def pause_chat(self, chat_id: int) -> int:
        """/pause: the chat's alerts stop watching, repeating ones too; returns how many."""
        return await self._change_states(chat_id, WATCHING, AlertState.PAUSED)

    async def resume_chat(self, chat_id: int) -> int:
        """/resume: paused alerts watch again; returns how many."""
        return await self._change_states(chat_id, (AlertState.PAUSED,), AlertState.ACTIVE)

    async def unblock_chat(self, chat_id: int) -> int:
        """/start from a chat that had blocked the bot: what the block paused watches again.

        A chat that paused its alerts itself (/pause) keeps them paused.
        """
        async with self._write() as session:
            chat = await session.get(Chat, chat_id)
            if chat is None or chat.blocked_at is None:
                return 0
            chat.blocked_at = None
            resumed = await session.execute(_set_state(chat_id, (AlertState.PAUSED,), AlertState.ACTIVE))
            await session.commit()
            return resumed.rowcount  # type: ignore[attr-defined]

    async def _change_states(self, chat_id: int, old: Sequence[AlertState], new: AlertState) -> int:
        async with self._write() as session:
            changed = await session.execute(_set_state(chat_id, old, new))
            await session.commit()
            return changed.rowcount  # type: ignore[attr-defined]


def _upsert_chat(session: AsyncSession, chat_id: int, values: dict[str, object]) -> Insert:
    """Sets some of a chat's columns, creating its row (in English) if it is new."""
    dialect_insert = sqlite_insert if session.bind.dialect.name == "sqlite" else postgresql_insert
    row = {"id": chat_id, "language": DEFAULT, "language_chosen": False, **values}
    return dialect_insert(Chat).values(**row).on_conflict_do_update(index_elements=[Chat.id], set_=values)


async def chat_languages(session: AsyncSession, chat_ids: set[int]) -> dict[int, str]:
    """The language of each chat that has one stored; O(chats asked), in chunks under SQLite's bind limit."""
    found: dict[int, str] = {}
    ids = sorted(chat_ids)
    for start in range(0, len(ids), 5000):
        rows = await session.execute(select(Chat.id, Chat.language).where(Chat.id.in_(ids[start:start + 5000])))
        found.update(dict(rows.all()))
    return found


def _set_state(chat_id: int, old: Sequence[AlertState], new: AlertState) -> Update:
    return update(Alert).where(Alert.chat_id == chat_id, Alert.state.in_(old)).values(state=new)
