"""The tick's queries: fire what the prices crossed, re-arm repeats, end expired alerts.

Every query a tick runs reads through an index only the alerts it changes, so a tick costs
O(symbols + alerts changed), not O(alerts stored) (see benchmarks/tick.py). Each call is one
transaction: an alert is fired (or expired) and its message recorded, or neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import TypeVar

from sqlalchemy import case, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crossing import LEVEL_DIRECTIONS, Direction, Extremes
from bot.sources import FUTURES_SOURCES, PriceSource
from bot.i18n import DEFAULT
from bot.storage.base import LIVE, WATCHING, StoreBase, utcnow
from bot.storage.chats import chat_languages, chat_voices
from bot.storage.topics import placements
from bot.storage.models import Alert, AlertState, MessageKind, OutboxMessage, OutboxState, PauseReason
from bot.storage.statements import (
    LIVE_SYMBOLS, NEXT_SYMBOLS, STORED_STEP, arm_statement, fire_statement, move_table, price_table, reach_table,
    went_back_statement, wick_table,
)
from bot.storage.types import fits


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
    # A wick between two checks reached the level and `price`, the last price, did not: the high
    # (rising) or low (falling) it touched, from the market stream (alerts.extremes).
    touched: Decimal | None = None
    # A mark or index alert (docs/futures.md): `price` is that price, `last_price` the last trade then
    # (a funding reminder: `price` the seconds left, `last_price` the predicted rate in %).
    source: PriceSource = PriceSource.LAST
    last_price: Decimal | None = None
    liquidation: Decimal | None = None  # a /liq step: the liquidation price it warns about

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
class EndedAlerts:
    """A chat's live alerts on a symbol that is no longer traded: one message says so."""

    chat_id: int
    symbol: str
    ids: list[int]


class TickQueries(StoreBase):
    async def fire_crossed(
        self, prices: Mapping[str, Decimal], render: Callable[[FiredAlert, str, str | None], str],
        extremes: Mapping[str, Extremes] | None = None, *, source: PriceSource = PriceSource.LAST,
        last_prices: Mapping[str, Decimal] | None = None,
    ) -> list[FiredAlert]:
        """Fires every active alert on `source` whose level the price reached, and records its message.

        Both happen in one transaction: either the alert is fired and its message is pending,
        or neither. For mark and index alerts `prices` are those prices and `last_prices` the last
        trades, which their notification shows too.
        """
        storable = {symbol: price for symbol, price in prices.items() if fits(price)}
        if not storable:
            return []
        now = utcnow()
        fired: list[FiredAlert] = []
        async with self._write() as session:
            dialect = session.bind.dialect.name
            # Wicks between checks (the market stream's extremes since the last tick) widen the
            # same scan; without them it is the last prices alone, as before.
            table = reach_table(dialect, storable, extremes) if extremes else price_table(dialect, storable)
            for direction in LEVEL_DIRECTIONS:
                wicks = wick_table(dialect, storable, extremes, direction) if extremes else None
                for row in await session.execute(fire_statement(table, direction, now, wicks, source)):
                    # The exchange's own spelling of the price ("65000.10"), same value as stored.
                    last = prices[row.symbol]
                    fired.append(FiredAlert(*row[:6], price=last, repeat_seconds=row.repeat_seconds,
                                            touched=row.fired_price if row.fired_price != last else None,
                                            source=source, last_price=(last_prices or {}).get(row.symbol),
                                            liquidation=row.liquidation))
            await self._after_firing(session, now, fired, render)
            await session.commit()
        return fired

    async def step(
        self, prices: Mapping[str, Decimal], render: Callable[[FiredAlert, str, str | None], str], *, source: PriceSource,
        last_prices: Mapping[str, Decimal] | None = None,
    ) -> list[FiredAlert]:
        """A futures source's once-a-second step: start_cooldowns then fire_crossed in ONE
        transaction over one prices table (half the commits and JSON encodings of calling both).
        Re-arming first, as the tick does for last prices: an alert armed now fires next step."""
        storable = {symbol: price for symbol, price in prices.items() if fits(price)}
        if not storable:
            return []
        now = utcnow()
        fired: list[FiredAlert] = []
        async with self._write() as session:
            table = price_table(session.bind.dialect.name, storable)
            for direction in LEVEL_DIRECTIONS:
                await session.execute(went_back_statement(table, direction, source))
                await session.execute(arm_statement(table, direction, now, source))
            for direction in LEVEL_DIRECTIONS:
                for row in await session.execute(fire_statement(table, direction, now, None, source)):
                    fired.append(FiredAlert(*row[:6], price=prices[row.symbol], repeat_seconds=row.repeat_seconds,
                                            source=source, last_price=(last_prices or {}).get(row.symbol),
                                            liquidation=row.liquidation))
            await self._after_firing(session, now, fired, render)
            await session.commit()
        return fired

    async def watched_symbols(self) -> set[str]:
        """Symbols with a price-level alert that is armed or arming: the kline streams to read.

        A loose index scan on ix_alerts_firing (state, symbol, ...): one index seek per symbol
        found (the next symbol after the previous one), not a read of every alert.
        """
        found: set[str] = set()
        async with self._sessions() as session:
            for state in (AlertState.ACTIVE, AlertState.ARMING):
                rows = await session.execute(NEXT_SYMBOLS, {"state": state.value})
                found.update(symbol for (symbol,) in rows if symbol is not None)
        return found

    async def sources_in_use(self) -> set[PriceSource]:
        """The futures price sources (mark, index, funding, reminders) that an alert which can
        still fire watches: the tick runs a source's statements only when it is here.

        Through ix_alerts_firing (state, symbol, direction, price_source, ...) only: per state, the
        symbols by a loose index scan, then per source one look for any (symbol, up/down) entry
        of it: index seeks per symbol, not a read of every alert (a DISTINCT over a million took
        half a second). Read only when alerts changed (the tick caches it), never once a second."""
        found: set[PriceSource] = set()
        async with self._sessions() as session:
            for state in WATCHING:
                symbols = [symbol for (symbol,) in await session.execute(LIVE_SYMBOLS, {"state": state.value})
                           if symbol is not None]
                for source in FUTURES_SOURCES:
                    if source in found or not symbols:
                        continue
                    for start in range(0, len(symbols), 5000):  # under SQLite's bind limit
                        query = select(Alert.id).where(
                            Alert.state == state, Alert.symbol.in_(symbols[start:start + 5000]),
                            Alert.direction.in_(LEVEL_DIRECTIONS), Alert.price_source == source).limit(1)
                        if (await session.execute(query)).first() is not None:
                            found.add(source)
                            break
                if len(found) == len(FUTURES_SOURCES):
                    break
        return found

    async def live_symbols(self) -> set[str]:
        """Every symbol a live alert (of any kind or state) is about: one index seek per symbol
        and state on ix_alerts_firing (state, symbol, ...), not a read of every alert."""
        found: set[str] = set()
        async with self._sessions() as session:
            for state in LIVE:
                rows = await session.execute(LIVE_SYMBOLS, {"state": state.value})
                found.update(symbol for (symbol,) in rows if symbol is not None)
        return found

    async def end_symbols(self, symbols: Sequence[str], render: Callable[[EndedAlerts, str], str]) -> list[EndedAlerts]:
        """The live alerts on symbols that stopped trading end (ENDED), and each chat is told once
        per symbol, in the same transaction."""
        if not symbols:
            return []
        now = utcnow()
        async with self._write() as session:
            rows = await session.execute(
                update(Alert).where(Alert.symbol.in_(symbols), Alert.state.in_(LIVE))
                .values(state=AlertState.ENDED, closed_at=now)
                .returning(Alert.id, Alert.chat_id, Alert.symbol, Alert.paused_by)
            )
            by_chat: dict[tuple[int, str], list[int]] = {}
            for alert_id, chat_id, symbol, paused_by in rows:
                if paused_by is not PauseReason.ALLOWLIST:  # a chat outside ALLOWED_CHAT_IDS is told nothing
                    by_chat.setdefault((chat_id, symbol), []).append(alert_id)
            ended = [EndedAlerts(chat, symbol, sorted(ids)) for (chat, symbol), ids in sorted(by_chat.items())]
            if ended:
                languages = await chat_languages(session, {e.chat_id for e in ended})
                places = await placements(session, [e.ids[0] for e in ended])
                await session.execute(insert(OutboxMessage), [
                    {"chat_id": e.chat_id, "alert_id": e.ids[0], "kind": MessageKind.EXPIRED,  # no buttons
                     "text": render(e, languages.get(e.chat_id, DEFAULT)), "state": OutboxState.PENDING,
                     "created_at": now, "attempts": 0, **places[e.ids[0]]}
                    for e in ended
                ])
            await session.commit()
        return ended

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
        render: Callable[[FiredAlert, str, str | None], str],
    ) -> list[FiredAlert]:
        """Fires the move alerts whose % the move of their (symbol, window) reached.

        `moves` maps (symbol, window) to (percent moved, the low or high it is measured from).
        Like fire_crossed: one transaction, one range scan per (symbol, window) on ix_alerts_moves.
        """
        rows = {key: move for key, move in moves.items() if fits(move[0].quantize(STORED_STEP, rounding=ROUND_DOWN))}
        if not rows:
            return []
        now = utcnow()
        fired: list[FiredAlert] = []
        async with self._write() as session:
            table = move_table(session.bind.dialect.name, rows)
            result = await session.execute(
                update(Alert)
                .where(Alert.state == AlertState.ACTIVE, Alert.direction == Direction.EITHER,
                       Alert.symbol == table.c.symbol, Alert.window_seconds == table.c.win,
                       Alert.level <= table.c.percent)
                # A repeating move alert rests for its cooldown; there is no level to go back past.
                .values(state=case((Alert.repeat_seconds.is_(None), AlertState.FIRED.value),
                                   else_=AlertState.COOLING.value),
                        fired_at=now, fire_count=Alert.fire_count + 1,
                        closed_at=case((Alert.repeat_seconds.is_(None), now), else_=None))
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
        self, session: AsyncSession, now: datetime, fired: list[FiredAlert], render: Callable[[FiredAlert, str, str | None], str]
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

    async def start_cooldowns(self, prices: Mapping[str, Decimal], *, source: PriceSource = PriceSource.LAST) -> int:
        """Repeating alerts whose price went back past their margin start their cooldown, and
        alerts waiting to be armed whose price is back on the waiting side are armed."""
        storable = {symbol: price for symbol, price in prices.items() if fits(price)}
        if not storable:
            return 0
        changed = 0
        async with self._write() as session:
            table = price_table(session.bind.dialect.name, storable)
            now = utcnow()
            for direction in LEVEL_DIRECTIONS:
                changed += (await session.execute(went_back_statement(table, direction, source))).rowcount  # type: ignore[attr-defined]
                changed += (await session.execute(arm_statement(table, direction, now, source))).rowcount  # type: ignore[attr-defined]
            await session.commit()
        return changed

    async def end_cooldowns(self) -> int:
        """Cooled-down repeats and snoozed alerts watch again (a range scan on ix_alerts_due)."""
        now = utcnow()
        async with self._write() as session:
            due = await session.execute(
                update(Alert)
                .where(Alert.state == AlertState.COOLING, Alert.rearm_after <= now)
                # after a snooze too: if the price is still past the level, it fires again (a reminder)
                .values(state=AlertState.ACTIVE, armed_at=now)
            )
            await session.commit()
        return due.rowcount  # type: ignore[attr-defined]

    async def expire_due(self, render: Callable[[ExpiredAlert, str, str | None], str]) -> list[ExpiredAlert]:
        """Ends alerts whose time ran out and tells their chats, in one transaction."""
        now = utcnow()
        async with self._write() as session:
            rows = await session.execute(
                update(Alert)
                # A chat outside ALLOWED_CHAT_IDS is told nothing; its alerts expire once it is back.
                .where(Alert.state.in_(LIVE), Alert.expires_at <= now,
                       or_(Alert.paused_by.is_(None), Alert.paused_by != PauseReason.ALLOWLIST))
                .values(state=AlertState.EXPIRED, closed_at=now)
                .returning(Alert.id, Alert.chat_id, Alert.symbol, Alert.direction, Alert.level, Alert.note,
                           Alert.fire_count > 0, Alert.window_seconds)
            )
            expired = sorted((ExpiredAlert(*row) for row in rows), key=lambda a: a.id)
            await self._record(session, now, expired, lambda a: MessageKind.EXPIRED, render)
            await session.commit()
        return expired

    async def _record(
        self, session: AsyncSession, now: datetime, alerts: Sequence[AnyAlert],
        kind: Callable[[AnyAlert], MessageKind], render: Callable[[AnyAlert, str, str | None], str],
    ) -> None:
        """One pending outbox message per alert, rendered in its chat's language, with times on its clock."""
        if not alerts:
            return
        voices = await chat_voices(session, {a.chat_id for a in alerts})
        places = await placements(session, [a.id for a in alerts])
        await session.execute(insert(OutboxMessage), [
            {"chat_id": a.chat_id, "alert_id": a.id, "kind": kind(a), "text": render(a, *voices.get(a.chat_id, (DEFAULT, None))),
             "state": OutboxState.PENDING, "created_at": now, "attempts": 0, **places[a.id]}
            for a in alerts
        ])

