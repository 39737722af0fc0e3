"""The queries the bot runs. One session per call, one commit at its end.

Every query a tick runs reads through an index only the alerts it changes, so a tick costs
O(symbols + alerts changed), not O(alerts stored) (see benchmarks/tick.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal
from typing import TypeVar

from sqlalchemy import CTE, Insert, Integer, String, Update, bindparam, case, column, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.alerts.rules import LEVEL_DIRECTIONS, Direction
from bot.i18n import DEFAULT
from bot.storage.models import Alert, AlertState, Chat, MessageKind, OutboxMessage, OutboxState
from bot.storage.types import ExactDecimal, fits, scaled

# States in which an alert still exists for its chat: listed, deletable, counted by the limit.
LIVE = (AlertState.ACTIVE, AlertState.PAUSED, AlertState.WAITING, AlertState.COOLING)
DELETABLE = (*LIVE, AlertState.FIRED)
# States that can still fire, now or later: /pause and a block stop all of them.
WATCHING = (AlertState.ACTIVE, AlertState.WAITING, AlertState.COOLING)
RECENT = timedelta(days=7)  # how long fired alerts stay in /alerts


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
    repeat_seconds: int | None = None  # a repeating alert's cooldown
    window_seconds: int | None = None  # a move alert: the price moved `move` % from `reference`
    move: Decimal | None = None
    reference: Decimal | None = None

    @property
    def repeats(self) -> bool:
        return self.repeat_seconds is not None


@dataclass(frozen=True)
class ExpiredAlert:
    id: int
    chat_id: int
    symbol: str
    direction: Direction
    level: Decimal
    note: str
    fired: bool  # it fired at least once before it expired
    window_seconds: int | None = None


AnyAlert = TypeVar("AnyAlert", FiredAlert, ExpiredAlert)


@dataclass(frozen=True)
class PendingMessage:
    id: int
    chat_id: int
    text: str
    attempts: int
    alert_id: int | None = None
    kind: MessageKind = MessageKind.FIRED
    language: str = "en"  # of its chat: for the buttons' labels


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
    level): it reads the alerts that fire and no others. Once-alerts end FIRED; repeating ones
    go WAITING for the price to come back.
    """
    reached = Alert.level <= table.c.price if direction is Direction.UP else Alert.level >= table.c.price
    return (
        update(Alert)
        .where(Alert.state == AlertState.ACTIVE, Alert.symbol == table.c.symbol, Alert.direction == direction, reached)
        .values(
            state=case((Alert.repeat_seconds.is_(None), AlertState.FIRED.value), else_=AlertState.WAITING.value),
            fired_at=now, fired_price=table.c.price, fire_count=Alert.fire_count + 1,
        )
        .returning(
            Alert.id, Alert.chat_id, Alert.symbol, Alert.direction, Alert.level, Alert.note,
            Alert.repeat_seconds, Alert.fired_price,
        )
    )


def went_back_statement(table: CTE, direction: Direction) -> Update:
    """WAITING repeat alerts whose price went back past rearm_level start their cooldown.

    The same shape as firing, on ix_alerts_rearm (state, symbol, direction, rearm_level).
    """
    back = Alert.rearm_level >= table.c.price if direction is Direction.UP else Alert.rearm_level <= table.c.price
    return (
        update(Alert)
        .where(Alert.state == AlertState.WAITING, Alert.symbol == table.c.symbol, Alert.direction == direction, back)
        .values(state=AlertState.COOLING)
    )


_STEP = Decimal("1e-10")


def _move_table(dialect: str, moves: Mapping[tuple[str, int], tuple[Decimal, Decimal]]) -> CTE:
    """(symbol, window, percent moved) rows in one JSON parameter, like price_table.

    The percent is rounded down to the stored step, so a move never counts for more than it was.
    """
    percent = {key: move[0].quantize(_STEP, rounding=ROUND_DOWN) for key, move in moves.items()}
    if dialect == "sqlite":
        payload = json.dumps([{"s": s, "w": w, "p": scaled(p)} for (s, w), p in percent.items()])
        sql = ("SELECT json_extract(value, '$.s') AS symbol, json_extract(value, '$.w') AS win, "
               "json_extract(value, '$.p') AS percent FROM json_each(:moves)")
    else:
        payload = json.dumps([{"s": s, "w": w, "p": str(p)} for (s, w), p in percent.items()])
        sql = ("SELECT s AS symbol, w AS win, CAST(p AS NUMERIC(28, 10)) AS percent "
               "FROM jsonb_to_recordset(CAST(:moves AS JSONB)) AS m(s TEXT, w INTEGER, p TEXT)")
    return (
        text(sql)
        .bindparams(bindparam("moves", payload, type_=String))
        .columns(column("symbol", String), column("win", Integer), column("percent", ExactDecimal()))
        .cte("moves")
    )


class AlertStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    # -- chat commands ------------------------------------------------------------------------
    async def create_alert(
        self, chat_id: int, symbol: str, direction: Direction, level: Decimal, note: str, *,
        repeat_seconds: int | None = None, rearm_level: Decimal | None = None, expires_at: datetime | None = None,
        window_seconds: int | None = None,
    ) -> Alert:
        alert = Alert(
            chat_id=chat_id, symbol=symbol, direction=direction, level=level, note=note,
            state=AlertState.ACTIVE, created_at=utcnow(), fire_count=0,
            repeat_seconds=repeat_seconds, rearm_level=rearm_level, expires_at=expires_at,
            window_seconds=window_seconds,
        )
        async with self._sessions() as session:
            session.add(alert)
            await session.commit()
        return alert

    async def count_active(self, chat_id: int) -> int:
        """Live alerts (active, paused, repeating): what a chat's limit counts."""
        async with self._sessions() as session:
            query = select(func.count()).select_from(Alert).where(Alert.chat_id == chat_id, Alert.state.in_(LIVE))
            return (await session.execute(query)).scalar_one()

    async def list_active(self, chat_id: int, limit: int = 100) -> Sequence[Alert]:
        """The chat's live alerts, oldest first."""
        async with self._sessions() as session:
            query = (
                select(Alert).where(Alert.chat_id == chat_id, Alert.state.in_(LIVE)).order_by(Alert.id).limit(limit)
            )
            return (await session.scalars(query)).all()

    async def list_recently_fired(self, chat_id: int, limit: int = 100) -> Sequence[Alert]:
        """Once-alerts that fired in the last week, newest first (they can be re-armed)."""
        async with self._sessions() as session:
            query = (
                select(Alert)
                .where(Alert.chat_id == chat_id, Alert.state == AlertState.FIRED, Alert.fired_at >= utcnow() - RECENT)
                .order_by(Alert.id.desc())
                .limit(limit)
            )
            return (await session.scalars(query)).all()

    async def delete_alert(self, chat_id: int, alert_id: int) -> Alert | None:
        """Deletes one of the chat's own alerts; None when it has no such alert (any more)."""
        return await self._transition(chat_id, alert_id, DELETABLE, state=AlertState.DELETED)

    async def rearm_alert(self, chat_id: int, alert_id: int) -> Alert | None:
        """A fired once-alert watches again."""
        return await self._transition(chat_id, alert_id, (AlertState.FIRED,), state=AlertState.ACTIVE)

    async def snooze_alert(self, chat_id: int, alert_id: int, until: datetime) -> Alert | None:
        """The alert stays quiet until `until`, then watches again (fired, repeating or active)."""
        return await self._transition(
            chat_id, alert_id, (AlertState.FIRED, AlertState.ACTIVE, AlertState.WAITING, AlertState.COOLING),
            state=AlertState.COOLING, rearm_after=until,
        )

    async def _transition(self, chat_id: int, alert_id: int, allowed: Sequence[AlertState], **values: object) -> Alert | None:
        """Changes one of the chat's own alerts if it is in an allowed state. The chat check is
        in the WHERE clause, so a forged id or button can never touch another chat's alert."""
        async with self._sessions() as session:
            query = (
                update(Alert)
                .where(Alert.id == alert_id, Alert.chat_id == chat_id, Alert.state.in_(allowed))
                .values(**values)
                .returning(Alert)
            )
            changed = (await session.scalars(query)).one_or_none()
            await session.commit()
            return changed

    async def has_active_alerts(self) -> bool:
        """Anything a tick must watch prices for (waiting repeat alerts need prices too)."""
        async with self._sessions() as session:
            query = select(Alert.id).where(Alert.state.in_((AlertState.ACTIVE, AlertState.WAITING))).limit(1)
            return (await session.execute(query)).first() is not None

    # -- the tick -------------------------------------------------------------------------------
    async def fire_crossed(
        self, prices: Mapping[str, Decimal], render: Callable[[FiredAlert, str], str]
    ) -> list[FiredAlert]:
        """Fires every active alert whose level the price reached, and records its message.

        Both happen in one transaction: either the alert is fired and its message is pending,
        or neither.
        """
        storable = {symbol: price for symbol, price in prices.items() if fits(price)}
        if not storable:
            return []
        now = utcnow()
        fired: list[FiredAlert] = []
        async with self._sessions() as session:
            table = price_table(session.bind.dialect.name, storable)
            for direction in LEVEL_DIRECTIONS:
                for row in await session.execute(fire_statement(table, direction, now)):
                    # The exchange's own spelling of the price ("65000.10"), same value as stored.
                    fired.append(FiredAlert(*row[:6], price=prices[row.symbol], repeat_seconds=row.repeat_seconds))
            await self._after_firing(session, now, fired, render)
            await session.commit()
        return fired

    async def watched_windows(self) -> list[tuple[str, int]]:
        """The (symbol, window) pairs active move alerts ask for, from ix_alerts_moves."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(Alert.symbol, Alert.window_seconds)
                .where(Alert.state == AlertState.ACTIVE, Alert.direction == Direction.EITHER)
                .distinct()
            )
            return [(symbol, window) for symbol, window in rows]

    async def fire_moves(
        self, moves: Mapping[tuple[str, int], tuple[Decimal, Decimal]], prices: Mapping[str, Decimal],
        render: Callable[[FiredAlert, str], str],
    ) -> list[FiredAlert]:
        """Fires the move alerts whose % the move of their (symbol, window) reached.

        `moves` maps (symbol, window) to (percent moved, the low or high it is measured from).
        Like fire_crossed: one transaction, one range scan per (symbol, window) on ix_alerts_moves.
        """
        rows = {key: move for key, move in moves.items() if fits(move[0].quantize(_STEP, rounding=ROUND_DOWN))}
        if not rows:
            return []
        now = utcnow()
        fired: list[FiredAlert] = []
        async with self._sessions() as session:
            table = _move_table(session.bind.dialect.name, rows)
            result = await session.execute(
                update(Alert)
                .where(Alert.state == AlertState.ACTIVE, Alert.direction == Direction.EITHER,
                       Alert.symbol == table.c.symbol, Alert.window_seconds == table.c.win,
                       Alert.level <= table.c.percent)
                # A repeating move alert rests for its cooldown; there is no level to go back past.
                .values(state=case((Alert.repeat_seconds.is_(None), AlertState.FIRED.value),
                                   else_=AlertState.COOLING.value),
                        fired_at=now, fire_count=Alert.fire_count + 1)
                .returning(Alert.id, Alert.chat_id, Alert.symbol, Alert.direction, Alert.level, Alert.note,
                           Alert.repeat_seconds, Alert.window_seconds)
            )
            for row in result:
                move, reference = rows[(row.symbol, row.window_seconds)]
                fired.append(FiredAlert(*row[:6], price=prices[row.symbol], repeat_seconds=row.repeat_seconds,
                                        window_seconds=row.window_seconds, move=move, reference=reference))
            await self._after_firing(session, now, fired, render)
            await session.commit()
        return fired

    async def _after_firing(
        self, session: AsyncSession, now: datetime, fired: list[FiredAlert], render: Callable[[FiredAlert, str], str]
    ) -> None:
        """Repeating alerts rest at least their cooldown; each fired alert's message is recorded."""
        cooldowns: dict[int, list[int]] = {}
        for alert in fired:
            if alert.repeat_seconds is not None:
                cooldowns.setdefault(alert.repeat_seconds, []).append(alert.id)
        for seconds, ids in cooldowns.items():
            await session.execute(
                update(Alert).where(Alert.id.in_(ids)).values(rearm_after=now + timedelta(seconds=seconds))
            )
        fired.sort(key=lambda alert: alert.id)
        await self._record(session, now, fired, lambda a: MessageKind.REPEAT if a.repeats else MessageKind.FIRED,
                           render)

    async def start_cooldowns(self, prices: Mapping[str, Decimal]) -> int:
        """Repeating alerts whose price went back past their margin start their cooldown."""
        storable = {symbol: price for symbol, price in prices.items() if fits(price)}
        if not storable:
            return 0
        changed = 0
        async with self._sessions() as session:
            table = price_table(session.bind.dialect.name, storable)
            for direction in LEVEL_DIRECTIONS:
                changed += (await session.execute(went_back_statement(table, direction))).rowcount  # type: ignore[attr-defined]
            await session.commit()
        return changed

    async def end_cooldowns(self) -> int:
        """Cooled-down repeats and snoozed alerts watch again (a range scan on ix_alerts_due)."""
        async with self._sessions() as session:
            due = await session.execute(
                update(Alert)
                .where(Alert.state == AlertState.COOLING, Alert.rearm_after <= utcnow())
                .values(state=AlertState.ACTIVE)  # after a snooze too: if still crossed, it fires again
            )
            await session.commit()
        return due.rowcount  # type: ignore[attr-defined]

    async def expire_due(self, render: Callable[[ExpiredAlert, str], str]) -> list[ExpiredAlert]:
        """Ends alerts whose time ran out and tells their chats, in one transaction."""
        now = utcnow()
        async with self._sessions() as session:
            rows = await session.execute(
                update(Alert)
                .where(Alert.state.in_(LIVE), Alert.expires_at <= now)
                .values(state=AlertState.EXPIRED)
                .returning(Alert.id, Alert.chat_id, Alert.symbol, Alert.direction, Alert.level, Alert.note,
                           Alert.fire_count > 0, Alert.window_seconds)
            )
            expired = sorted((ExpiredAlert(*row) for row in rows), key=lambda a: a.id)
            await self._record(session, now, expired, lambda a: MessageKind.EXPIRED, render)
            await session.commit()
        return expired

    async def _record(
        self, session: AsyncSession, now: datetime, alerts: Sequence[AnyAlert],
        kind: Callable[[AnyAlert], MessageKind], render: Callable[[AnyAlert, str], str],
    ) -> None:
        """One pending outbox message per alert, rendered in its chat's language."""
        if not alerts:
            return
        languages = await _languages(session, {a.chat_id for a in alerts})
        await session.execute(insert(OutboxMessage), [
            {"chat_id": a.chat_id, "alert_id": a.id, "kind": kind(a), "text": render(a, languages.get(a.chat_id, DEFAULT)),
             "state": OutboxState.PENDING, "created_at": now, "attempts": 0}
            for a in alerts
        ])

    # -- the outbox -----------------------------------------------------------------------------
    async def pending_messages(self, limit: int = 100) -> list[PendingMessage]:
        async with self._sessions() as session:
            query = (
                select(OutboxMessage.id, OutboxMessage.chat_id, OutboxMessage.text, OutboxMessage.attempts,
                       OutboxMessage.alert_id, OutboxMessage.kind, func.coalesce(Chat.language, DEFAULT))
                .outerjoin(Chat, Chat.id == OutboxMessage.chat_id)
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

    # -- whole chats ----------------------------------------------------------------------------
    async def chat_language(self, chat_id: int) -> tuple[str, bool] | None:
        """(language, chosen by /language) or None when the chat is new to us."""
        async with self._sessions() as session:
            chat = await session.get(Chat, chat_id)
            return (chat.language, chat.language_chosen) if chat else None

    async def set_chat_language(self, chat_id: int, language: str, *, chosen: bool) -> None:
        """An upsert: two commands of a new chat may arrive at once."""
        async with self._sessions() as session:
            await session.execute(_upsert_chat(session, chat_id, {"language": language, "language_chosen": chosen}))
            await session.commit()

    async def block_chat(self, chat_id: int, reason: str) -> tuple[int, int]:
        """The chat refuses our messages: pause its alerts, drop what waits for it.

        Returns (alerts paused, messages dropped). Nothing is deleted: /start resumes the alerts.
        """
        async with self._sessions() as session:
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
        async with self._sessions() as session:
            chat = await session.get(Chat, chat_id)
            if chat is None or chat.blocked_at is None:
                return 0
            chat.blocked_at = None
            resumed = await session.execute(_set_state(chat_id, (AlertState.PAUSED,), AlertState.ACTIVE))
            await session.commit()
            return resumed.rowcount  # type: ignore[attr-defined]

    async def _change_states(self, chat_id: int, old: Sequence[AlertState], new: AlertState) -> int:
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


def _upsert_chat(session: AsyncSession, chat_id: int, values: dict[str, object]) -> Insert:
    """Sets some of a chat's columns, creating its row (in English) if it is new."""
    dialect_insert = sqlite_insert if session.bind.dialect.name == "sqlite" else postgresql_insert
    row = {"id": chat_id, "language": DEFAULT, "language_chosen": False, **values}
    return dialect_insert(Chat).values(**row).on_conflict_do_update(index_elements=[Chat.id], set_=values)


async def _languages(session: AsyncSession, chat_ids: set[int]) -> dict[int, str]:
    """The language of each chat that has one stored; O(chats asked), in chunks under SQLite's bind limit."""
    found: dict[int, str] = {}
    ids = sorted(chat_ids)
    for start in range(0, len(ids), 5000):
        rows = await session.execute(select(Chat.id, Chat.language).where(Chat.id.in_(ids[start:start + 5000])))
        found.update(dict(rows.all()))
    return found


def _set_state(chat_id: int, old: Sequence[AlertState], new: AlertState) -> Update:
    return update(Alert).where(Alert.chat_id == chat_id, Alert.state.in_(old)).values(state=new)
