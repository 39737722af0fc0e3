"""Whole chats: their language, a block, /pause and /resume."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Insert, Update, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import DEFAULT
from bot.storage.base import WATCHING, StoreBase, utcnow
from bot.crossing import LEVEL_DIRECTIONS, crossed
from bot.sources import PriceSource
from bot.storage.models import Alert, AlertState, Chat, OutboxMessage, OutboxState, PauseReason, GuideStep


# What mark, index and funding alerts compare with, per source and symbol (the tick's fresh marks).
SourcePrices = Mapping[PriceSource, Mapping[str, Decimal]]


class ChatQueries(StoreBase):
    async def migrate_chat(self, old_id: int, new_id: int) -> int:
        """A group became a supergroup, which Telegram gives a new id: the chat's alerts, its row
        (language, settings), its pending messages and its guided /alert steps move to the new id,
        all in one transaction. Returns how many alerts moved: a second call (Telegram announces
        the move in both chats) moves nothing."""
        async with self._write() as session:
            alerts = await session.execute(update(Alert).where(Alert.chat_id == old_id).values(chat_id=new_id))
            if (await session.execute(select(Chat.id).where(Chat.id == old_id))).first() is not None:
                # The group's own settings win over a row a first command in the supergroup made.
                await session.execute(delete(Chat).where(Chat.id == new_id))
                await session.execute(update(Chat).where(Chat.id == old_id).values(id=new_id))
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.chat_id == old_id, OutboxMessage.state == OutboxState.PENDING)
                .values(chat_id=new_id)
            )
            await session.execute(delete(GuideStep).where(
                GuideStep.chat_id == new_id,
                GuideStep.user_id.in_(select(GuideStep.user_id).where(GuideStep.chat_id == old_id)),
            ))
            await session.execute(update(GuideStep).where(GuideStep.chat_id == old_id).values(chat_id=new_id))
            await session.commit()
            return alerts.rowcount  # type: ignore[attr-defined]

    async def chat_language(self, chat_id: int) -> tuple[str, bool] | None:
        """(language, chosen by /language) or None when the chat is new to us."""
        async with self._sessions() as session:
            chat = await session.get(Chat, chat_id)
            return (chat.language, chat.language_chosen) if chat else None

    async def set_chat_language(self, chat_id: int, language: str, *, chosen: bool) -> None:
        """An upsert: two commands of a new chat may arrive at once."""
        async with self._write() as session:
            await session.execute(upsert_chat(session, chat_id, {"language": language, "language_chosen": chosen}))
            await session.commit()

    async def block_chat(self, chat_id: int, reason: str) -> tuple[int, int]:
        """The chat refuses our messages: pause its alerts, drop what waits for it.

        Returns (alerts paused, messages dropped). Nothing is deleted: /start resumes the alerts.
        """
        async with self._write() as session:
            paused = await session.execute(_pause(chat_id, PauseReason.BLOCKED))
            await session.execute(upsert_chat(session, chat_id, {"blocked_at": utcnow()}))
            dropped = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.chat_id == chat_id, OutboxMessage.state == OutboxState.PENDING)
                .values(state=OutboxState.DROPPED, last_error=reason[:200], attempts=OutboxMessage.attempts + 1)
            )
            await session.commit()
            return paused.rowcount, dropped.rowcount  # type: ignore[attr-defined]

    async def pause_chat(self, chat_id: int) -> int:
        """/pause: the chat's alerts stop watching, repeating ones too; returns how many.

        Each keeps its state and times (paused_from, rearm_after...) for /resume to give back.
        """
        async with self._write() as session:
            paused = await session.execute(_pause(chat_id, PauseReason.USER))
            await session.commit()
            return paused.rowcount  # type: ignore[attr-defined]

    async def resume_chat(self, chat_id: int, prices: Mapping[str, Decimal] | None,
                          sources: SourcePrices | None = None) -> Resumed:
        """/resume: what /pause paused watches again, as it was (see _resume)."""
        async with self._write() as session:
            resumed = await _resume(session, (chat_id,), PauseReason.USER, prices, sources)
            await session.commit()
            return resumed

    async def unblock_chat(self, chat_id: int, prices: Mapping[str, Decimal] | None,
                           sources: SourcePrices | None = None) -> Resumed:
        """/start from a chat that had blocked the bot: what the block paused watches again.

        A chat that paused its alerts itself (/pause) keeps them paused.
        """
        async with self._write() as session:
            chat = await session.get(Chat, chat_id)
            if chat is None or chat.blocked_at is None:
                return Resumed([], [])
            chat.blocked_at = None
            resumed = await _resume(session, (chat_id,), PauseReason.BLOCKED, prices, sources)
            await session.commit()
            return resumed

    async def apply_allowlist(self, allowed: frozenset[int], prices: Mapping[str, Decimal] | None,
                              reason: str, sources: SourcePrices | None = None) -> tuple[int, Resumed]:
        """ALLOWED_CHAT_IDS, applied to stored alerts: chats outside it have their alerts paused
        (not deleted) and their pending messages dropped; chats back in it get theirs again.
        An empty allowlist allows every chat. Returns (alerts paused, what was resumed)."""
        async with self._write() as session:
            paused = 0
            if allowed:
                outside = Alert.chat_id.not_in(sorted(allowed))
                paused = (await session.execute(_pause(None, PauseReason.ALLOWLIST).where(outside))).rowcount  # type: ignore[attr-defined]
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.chat_id.not_in(sorted(allowed)))
                    .values(state=OutboxState.DROPPED, last_error=reason[:200], attempts=OutboxMessage.attempts + 1)
                )
            back = (await session.execute(
                select(Alert.chat_id).where(Alert.state == AlertState.PAUSED, Alert.paused_by == PauseReason.ALLOWLIST)
                .distinct()
            )).scalars().all()
            back = [chat for chat in back if not allowed or chat in allowed]
            resumed = await _resume(session, back, PauseReason.ALLOWLIST, prices, sources)
            await session.commit()
            return paused, resumed


@dataclass(frozen=True)
class Resumed:
    alerts: list[Alert]  # every alert that watches again
    waiting: list[Alert]  # of those, the ones whose level was passed meanwhile: they wait for a new crossing


def _pause(chat_id: int | None, reason: PauseReason) -> Update:
    """Pauses a chat's watching alerts (every chat's when None), remembering each one's state."""
    query = update(Alert).where(Alert.state.in_(WATCHING))
    if chat_id is not None:
        query = query.where(Alert.chat_id == chat_id)
    return query.values(paused_from=Alert.state, paused_by=reason, state=AlertState.PAUSED)


async def _resume(session: AsyncSession, chat_ids: Sequence[int], reason: PauseReason,
                  prices: Mapping[str, Decimal] | None, sources: SourcePrices | None = None) -> Resumed:
    """Gives the alerts `reason` paused back the state they had, with their times, so nothing
    fires that would not have fired without the pause. An armed price-level alert whose level
    was passed meanwhile (or whose price is unknown now) waits for a new crossing (ARMING);
    a repeat's cooldown that ended meanwhile counts as armed. `prices` are the last prices,
    `sources` the fresh mark, index and funding figures: each alert is judged on the one it watches."""
    if not chat_ids:
        return Resumed([], [])
    now = utcnow()
    alerts = (await session.scalars(
        select(Alert).where(Alert.chat_id.in_(chat_ids), Alert.state == AlertState.PAUSED, Alert.paused_by == reason)
        .order_by(Alert.id)
    )).all()
    waiting = []
    for alert in alerts:
        state = alert.paused_from or AlertState.ACTIVE
        if state is AlertState.COOLING and alert.rearm_after is not None and alert.rearm_after <= now:
            state = AlertState.ACTIVE
        if state is AlertState.ACTIVE and alert.direction in LEVEL_DIRECTIONS:
            price = _watched_price(alert, prices, sources)
            if price is None or crossed(alert.direction, alert.level, price):
                state = AlertState.ARMING
                if alert.repeat_seconds is None:
                    alert.rearm_level = alert.level
                if price is not None:
                    waiting.append(alert)
        if state is AlertState.ACTIVE:
            alert.armed_at = now
        alert.state, alert.paused_from, alert.paused_by = state, None, None
    return Resumed(list(alerts), waiting)


def _watched_price(alert: Alert, prices: Mapping[str, Decimal] | None,
                   sources: SourcePrices | None) -> Decimal | None:
    """The price `alert` compares with now (None: unknown, e.g. no fresh mark price)."""
    if alert.price_source is PriceSource.LAST:
        return prices.get(alert.symbol) if prices is not None else None
    return (sources or {}).get(alert.price_source, {}).get(alert.symbol)


def dialect_insert(session: AsyncSession) -> Callable[..., Any]:
    """The session's dialect's INSERT, the one with ON CONFLICT (upserts: SQLite and PostgreSQL)."""
    return sqlite_insert if session.bind.dialect.name == "sqlite" else postgresql_insert


def upsert_chat(session: AsyncSession, chat_id: int, values: dict[str, object]) -> Insert:
    """Sets some of a chat's columns, creating its row (in English) if it is new."""
    row = {"id": chat_id, "language": DEFAULT, "language_chosen": False, **values}
    return dialect_insert(session)(Chat).values(**row).on_conflict_do_update(index_elements=[Chat.id], set_=values)


async def chat_languages(session: AsyncSession, chat_ids: set[int]) -> dict[int, str]:
    """The language of each chat that has one stored; O(chats asked), in chunks under SQLite's bind limit."""
    return {chat: language for chat, (language, _) in (await chat_voices(session, chat_ids)).items()}


async def chat_voices(session: AsyncSession, chat_ids: set[int]) -> dict[int, tuple[str, str | None]]:
    """(language, /timezone name or None) of each chat that has a row: how its notices are worded
    and on which clock they give times. O(chats asked), in chunks under SQLite's bind limit."""
    found: dict[int, tuple[str, str | None]] = {}
    ids = sorted(chat_ids)
    for start in range(0, len(ids), 5000):
        rows = await session.execute(select(Chat.id, Chat.language, Chat.timezone)
                                     .where(Chat.id.in_(ids[start:start + 5000])))
        found.update({chat: (language, zone) for chat, language, zone in rows})
    return found
