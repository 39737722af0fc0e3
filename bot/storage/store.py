"""The queries the bot runs. One session per call, one commit at its end."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import CTE, String, Update, bindparam, column, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.alerts.rules import Direction
from bot.storage.models import Alert, AlertState, OutboxMessage, OutboxState
from bot.storage.types import ExactDecimal, fits, scaled


def utcnow() -> datetime:
    """Naive UTC: SQLite keeps no time zone, so we store UTC everywhere and say so."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class FiredAlert:
    id: int
    chat_id: int
    symbol: str
    direction: Direction
    level: Decimal
    note: str
    price: Decimal


@dataclass(frozen=True)
class PendingMessage:
    id: int
    chat_id: int
    text: str
    attempts: int


def price_table(dialect: str, prices: Mapping[str, Decimal]) -> CTE:
    """All prices as a table in one JSON parameter.

    One parameter, not 600 VALUES rows: the statement stays the same from tick to tick, so
    SQLAlchemy compiles it once (compiling the VALUES form took most of a tick's time).
    """
    if dialect == "sqlite":
        payload = json.dumps({symbol: scaled(price) for symbol, price in prices.items()})
        sql = "SELECT key AS symbol, value AS price FROM json_each(:prices)"
    else:
        payload = json.dumps({symbol: str(price) for symbol, price in prices.items()})
        sql = "SELECT key AS symbol, CAST(value AS NUMERIC(28, 10)) AS price FROM jsonb_each_text(CAST(:prices AS JSONB))"
    return (
        text(sql)
        .bindparams(bindparam("prices", payload, type_=String))
        .columns(column("symbol", String), column("price", ExactDecimal()))
        .cte("prices")
    )


def fire_statement(table: CTE, direction: Direction, now: datetime) -> Update:
    """Fires the active alerts of one direction whose level the table's price reached.

    Per (symbol, direction) this is a range scan on ix_alerts_firing (state, symbol, direction,
    level): it reads the alerts that fire and no others.
    """
    reached = Alert.level <= table.c.price if direction is Direction.UP else Alert.level >= table.c.price
    return (
        update(Alert)
        .where(
            Alert.state == AlertState.ACTIVE,
            Alert.symbol == table.c.symbol,
            Alert.direction == direction,
            reached,
        )
        .values(state=AlertState.FIRED, fired_at=now, fired_price=table.c.price)
        .returning(
            Alert.id, Alert.chat_id, Alert.symbol, Alert.direction, Alert.level, Alert.note, Alert.fired_price,
        )
    )


class AlertStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create_alert(
        self, chat_id: int, symbol: str, direction: Direction, level: Decimal, note: str
    ) -> Alert:
        alert = Alert(
            chat_id=chat_id, symbol=symbol, direction=direction, level=level, note=note,
            state=AlertState.ACTIVE, created_at=utcnow(),
        )
        async with self._sessions() as session:
            session.add(alert)
            await session.commit()
        return alert

    async def count_active(self, chat_id: int) -> int:
        """Active and paused alerts: what a chat's limit counts (pausing frees no room)."""
        async with self._sessions() as session:
            query = select(func.count()).select_from(Alert).where(
                Alert.chat_id == chat_id, Alert.state.in_([AlertState.ACTIVE, AlertState.PAUSED])
            )
            return (await session.execute(query)).scalar_one()

    async def list_active(self, chat_id: int, limit: int = 100) -> Sequence[Alert]:
        async with self._sessions() as session:
            query = (
                select(Alert)
                .where(Alert.chat_id == chat_id, Alert.state == AlertState.ACTIVE)
                .order_by(Alert.id)
                .limit(limit)
            )
            return (await session.scalars(query)).all()

    async def delete_alert(self, chat_id: int, alert_id: int) -> Alert | None:
        """Deletes one of the chat's own active alerts; None when there is no such alert."""
        async with self._sessions() as session:
            query = (
                update(Alert)
                .where(Alert.id == alert_id, Alert.chat_id == chat_id, Alert.state == AlertState.ACTIVE)
                .values(state=AlertState.DELETED)
                .returning(Alert)
            )
            deleted = (await session.scalars(query)).one_or_none()
            await session.commit()
            return deleted

    async def has_active_alerts(self) -> bool:
        async with self._sessions() as session:
            query = select(Alert.id).where(Alert.state == AlertState.ACTIVE).limit(1)
            return (await session.execute(query)).first() is not None

    async def fire_crossed(
        self, prices: Mapping[str, Decimal], render: Callable[[FiredAlert], str]
    ) -> list[FiredAlert]:
        """Fires every active alert whose level the price reached, and records its message.

        Both happen in one transaction: either the alert is fired and its message is pending,
        or neither. The database picks the alerts with a range scan on ix_alerts_firing per
        (symbol, direction), so the cost follows the symbols and the alerts that fire, not the
        alerts stored.
        """
        storable = {symbol: price for symbol, price in prices.items() if fits(price)}
        if not storable:
            return []
        now = utcnow()
        fired: list[FiredAlert] = []
        async with self._sessions() as session:
            table = price_table(session.bind.dialect.name, storable)
            for direction in Direction:
                query = fire_statement(table, direction, now)
                for row in await session.execute(query):
                    # The exchange's own spelling of the price ("65000.10"), same value as stored.
                    fired.append(FiredAlert(*row[:-1], price=prices[row.symbol]))
            if fired:
                fired.sort(key=lambda alert: alert.id)
                await session.execute(
                    insert(OutboxMessage),
                    [
                        {
                            "chat_id": alert.chat_id, "alert_id": alert.id, "text": render(alert),
                            "state": OutboxState.PENDING, "created_at": now, "attempts": 0,
                        }
                        for alert in fired
                    ],
                )
            await session.commit()
        return fired

    async def pending_messages(self, limit: int = 100) -> list[PendingMessage]:
        async with self._sessions() as session:
            query = (
                select(OutboxMessage.id, OutboxMessage.chat_id, OutboxMessage.text, OutboxMessage.attempts)
                .where(OutboxMessage.state == OutboxState.PENDING)
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
            return [PendingMessage(*row) for row in await session.execute(query)]

    async def mark_sent(self, message_ids: Sequence[int], telegram_message_id: int) -> None:
        """Right after Telegram accepted them: the only window for a duplicate is this commit."""
        async with self._sessions() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(message_ids))
                .values(
                    state=OutboxState.SENT, sent_at=utcnow(), telegram_message_id=telegram_message_id,
                    attempts=OutboxMessage.attempts + 1,
                )
            )
            await session.commit()

    async def mark_failed(self, message_ids: Sequence[int], error: str, *, drop: bool) -> None:
        """Counts a failed attempt; `drop` gives the messages up for good, with the reason."""
        async with self._sessions() as session:
            changes: dict[str, object] = {
                "attempts": OutboxMessage.attempts + 1, "last_error": error[:200],
            }
            if drop:
                changes["state"] = OutboxState.DROPPED
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(message_ids)).values(**changes)
            )
            await session.commit()

    async def block_chat(self, chat_id: int, reason: str) -> tuple[int, int]:
        """The chat refuses our messages: pause its alerts, drop what waits for it.

        Returns (alerts paused, messages dropped). Nothing is deleted: /start resumes the alerts.
        """
        async with self._sessions() as session:
            paused = await session.execute(_set_state(chat_id, AlertState.ACTIVE, AlertState.PAUSED))
            dropped = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.chat_id == chat_id, OutboxMessage.state == OutboxState.PENDING)
                .values(state=OutboxState.DROPPED, last_error=reason[:200], attempts=OutboxMessage.attempts + 1)
            )
            await session.commit()
            return paused.rowcount, dropped.rowcount  # type: ignore[attr-defined]

    async def pause_chat(self, chat_id: int) -> int:
        """/pause: the chat's active alerts stop watching; returns how many."""
        return await self._change_states(chat_id, AlertState.ACTIVE, AlertState.PAUSED)

    async def resume_chat(self, chat_id: int) -> int:
        """/resume, or /start after a block: paused alerts watch again; returns how many."""
        return await self._change_states(chat_id, AlertState.PAUSED, AlertState.ACTIVE)

    async def _change_states(self, chat_id: int, old: AlertState, new: AlertState) -> int:
        async with self._sessions() as session:
            changed = await session.execute(_set_state(chat_id, old, new))
            await session.commit()
            return changed.rowcount  # type: ignore[attr-defined]

    async def stats(self) -> dict[str, int]:
        """Figures for /stats: chats with alerts, active alerts, messages by state."""
        async with self._sessions() as session:
            chats, active = (await session.execute(
                select(func.count(func.distinct(Alert.chat_id)), func.count())
                .where(Alert.state == AlertState.ACTIVE)
            )).one()
            by_state = dict((await session.execute(
                select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
            )).all())
        return {
            "chats": chats, "active_alerts": active,
            "messages_sent": by_state.get(OutboxState.SENT, 0),
            "messages_pending": by_state.get(OutboxState.PENDING, 0),
            "messages_dropped": by_state.get(OutboxState.DROPPED, 0),
        }


def _set_state(chat_id: int, old: AlertState, new: AlertState) -> Update:
    return update(Alert).where(Alert.chat_id == chat_id, Alert.state == old).values(state=new)
