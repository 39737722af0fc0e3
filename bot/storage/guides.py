"""Where each user is in the guided /alert (and in a far level's confirmation), per chat.

In the database rather than in one process's memory, so that each step may be answered by a
different replica. A step older than `since` (the guide's time limit) counts as abandoned.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from bot.storage.base import StoreBase, utcnow
from bot.storage.models import GuideStep


class GuideQueries(StoreBase):
    async def start_guide(self, chat_id: int, user_id: int, step: str, *, symbol: str | None = None,
                          answer: str | None = None, since: datetime | None = None) -> None:
        """A new guide for this user in this chat, replacing any they had; abandoned ones of
        everyone are dropped on the way, so the table holds only guides under way."""
        async with self._write() as session:
            if since is not None:
                await session.execute(delete(GuideStep).where(GuideStep.updated_at < since))
            await session.execute(delete(GuideStep).where(GuideStep.chat_id == chat_id, GuideStep.user_id == user_id))
            session.add(GuideStep(chat_id=chat_id, user_id=user_id, step=step, symbol=symbol, answer=answer,
                                  updated_at=utcnow()))
            await session.commit()

    async def guide_step(self, chat_id: int, user_id: int, since: datetime) -> GuideStep | None:
        """The user's guide in this chat, unless abandoned before `since`."""
        async with self._sessions() as session:
            query = select(GuideStep).where(GuideStep.chat_id == chat_id, GuideStep.user_id == user_id,
                                            GuideStep.updated_at >= since)
            return (await session.scalars(query)).one_or_none()

    async def advance_guide(self, chat_id: int, user_id: int, expected: str, since: datetime, **values: object) -> bool:
        """Moves the guide on from step `expected` (with the values of the next step); False when it
        is no longer there (a double tap, another replica, /cancel, expiry): only one answer counts."""
        async with self._write() as session:
            query = (
                update(GuideStep)
                .where(GuideStep.chat_id == chat_id, GuideStep.user_id == user_id, GuideStep.step == expected,
                       GuideStep.updated_at >= since)
                .values(updated_at=utcnow(), **values)
                .returning(GuideStep.chat_id)
            )
            moved = (await session.execute(query)).first() is not None
            await session.commit()
            return moved

    async def set_guide_prompt(self, chat_id: int, user_id: int, message_id: int) -> None:
        """The question the user's answer must reply to (in groups, under privacy mode)."""
        async with self._write() as session:
            await session.execute(update(GuideStep).where(GuideStep.chat_id == chat_id, GuideStep.user_id == user_id)
                                  .values(prompt_message_id=message_id))
            await session.commit()

    async def take_guide(self, chat_id: int, user_id: int, expected: str, since: datetime) -> GuideStep | None:
        """Ends the guide if it is at step `expected` and returns it: of two presses of Create, only
        one gets it."""
        async with self._write() as session:
            query = (
                delete(GuideStep)
                .where(GuideStep.chat_id == chat_id, GuideStep.user_id == user_id, GuideStep.step == expected,
                       GuideStep.updated_at >= since)
                .returning(GuideStep)
            )
            taken = (await session.scalars(query)).one_or_none()
            await session.commit()
            return taken

    async def end_guide(self, chat_id: int, user_id: int, since: datetime) -> bool:
        """/cancel: True when there was a guide under way."""
        async with self._write() as session:
            query = (delete(GuideStep).where(GuideStep.chat_id == chat_id, GuideStep.user_id == user_id)
                     .returning(GuideStep.updated_at))
            ended = (await session.scalars(query)).one_or_none()
            await session.commit()
            return ended is not None and ended >= since
