"""The queries of chat commands on alerts: create, list, delete, re-arm, snooze."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update

from bot.crossing import Direction
from bot.sources import PriceSource
from bot.storage.base import DELETABLE, LIVE, NEED_PRICES, RECENT, StoreBase, utcnow
from bot.storage.models import Alert, AlertState


def new_alert(
    chat_id: int, symbol: str, direction: Direction, level: Decimal, note: str, *,
    repeat_seconds: int | None = None, rearm_level: Decimal | None = None, expires_at: datetime | None = None,
    window_seconds: int | None = None, passed: bool = False, silent: bool = False,
    message_thread_id: int | None = None, price_source: PriceSource = PriceSource.LAST,
    liquidation: Decimal | None = None,
) -> Alert:
    """The row of a new alert (see AlertQueries.create_alert)."""
    now = utcnow()
    arm_at = rearm_level if repeat_seconds is not None else level
    return Alert(
        chat_id=chat_id, symbol=symbol, direction=direction, level=level, note=note,
        state=AlertState.ARMING if passed else AlertState.ACTIVE, armed_at=None if passed else now,
        created_at=now, fire_count=0, repeat_seconds=repeat_seconds,
        rearm_level=arm_at if passed else rearm_level, expires_at=expires_at, window_seconds=window_seconds,
        silent=silent, message_thread_id=message_thread_id, price_source=price_source, liquidation=liquidation,
    )


class AlertQueries(StoreBase):
    async def create_alert(
        self, chat_id: int, symbol: str, direction: Direction, level: Decimal, note: str, *,
        repeat_seconds: int | None = None, rearm_level: Decimal | None = None, expires_at: datetime | None = None,
        window_seconds: int | None = None, passed: bool = False,
    ) -> Alert:
        """`passed`: the price is already past the level, so the alert waits to be armed
        (ARMING) until the price is strictly back on its waiting side: it fires on a crossing only.
        A repeating alert arms past its margin (`rearm_level`), a once-alert past the level itself."""
        alert = new_alert(
            chat_id, symbol, direction, level, note, repeat_seconds=repeat_seconds, rearm_level=rearm_level,
            expires_at=expires_at, window_seconds=window_seconds, passed=passed,
        )
        async with self._write() as session:
            session.add(alert)
            await session.commit()
        return alert

    async def create_alerts(self, chat_id: int, specs: Sequence[Mapping[str, Any]]) -> list[Alert]:
        """Several alerts at once (/import), in one transaction: all of them or none. Each spec
        holds create_alert's arguments after the chat id."""
        alerts = [new_alert(chat_id, **spec) for spec in specs]
        async with self._write() as session:
            session.add_all(alerts)
            await session.commit()
        return alerts

    async def newest_alert_id(self) -> int:
        """The highest alert id (0 for none): one look at the primary key's end. The working
        process compares it from tick to tick to see alerts another replica created."""
        async with self._sessions() as session:
            return (await session.execute(select(func.max(Alert.id)))).scalar_one() or 0

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

    async def list_live_on(self, chat_id: int, symbol: str) -> Sequence[Alert]:
        """The chat's live alerts on one symbol, oldest first, all of them (a chart draws every one;
        a chat holds at most its alert limit)."""
        async with self._sessions() as session:
            query = select(Alert).where(Alert.chat_id == chat_id, Alert.symbol == symbol,
                                        Alert.state.in_(LIVE)).order_by(Alert.id)
            return (await session.scalars(query)).all()

    async def list_recently_fired(self, chat_id: int, limit: int = 100) -> Sequence[Alert]:
        """Once-alerts that fired in the last week, newest first (they can be re-armed), and alerts
        that ended in the last week because their symbol is no longer traded (shown as ended)."""
        async with self._sessions() as session:
            query = (
                select(Alert)
                .where(Alert.chat_id == chat_id, Alert.state.in_((AlertState.FIRED, AlertState.ENDED)),
                       Alert.closed_at >= utcnow() - RECENT)
                .order_by(Alert.id.desc())
                .limit(limit)
            )
            return (await session.scalars(query)).all()

    async def get_alert(self, chat_id: int, alert_id: int) -> Alert | None:
        """One of the chat's own alerts, in any state (a chart of a fired or deleted one still
        shows where it was); None for another chat's id. One row on the primary key."""
        async with self._sessions() as session:
            query = select(Alert).where(Alert.id == alert_id, Alert.chat_id == chat_id)
            return (await session.scalars(query)).one_or_none()

    async def delete_alert(self, chat_id: int, alert_id: int) -> Alert | None:
        """Deletes one of the chat's own alerts; None when it has no such alert (any more).

        A /liq step goes with the other steps of its watch (same symbol, side and liquidation
        price), in the same transaction: a trader who deletes one warning wants the watch gone,
        not the next step ringing (docs/futures.md)."""
        now = utcnow()
        async with self._write() as session:
            query = (
                update(Alert)
                .where(Alert.id == alert_id, Alert.chat_id == chat_id, Alert.state.in_(DELETABLE))
                .values(state=AlertState.DELETED, closed_at=now)
                .returning(Alert)
            )
            deleted = (await session.scalars(query)).one_or_none()
            if deleted is not None and deleted.liquidation is not None:
                await session.execute(
                    update(Alert)
                    .where(Alert.chat_id == chat_id, Alert.symbol == deleted.symbol,
                           Alert.direction == deleted.direction, Alert.price_source == deleted.price_source,
                           Alert.liquidation == deleted.liquidation, Alert.state.in_(DELETABLE))
                    .values(state=AlertState.DELETED, closed_at=now)
                )
            await session.commit()
            return deleted

    async def rearm_alert(self, chat_id: int, alert_id: int, arm_at: Decimal | None = None) -> Alert | None:
        """A fired once-alert watches again: armed now, or, with `arm_at`, once the price is
        strictly back past `arm_at` (its price is still past the level: no notification twice)."""
        if arm_at is None:
            return await self._transition(chat_id, alert_id, (AlertState.FIRED,), state=AlertState.ACTIVE,
                                          armed_at=utcnow(), closed_at=None)
        return await self._transition(chat_id, alert_id, (AlertState.FIRED,), state=AlertState.ARMING,
                                      rearm_level=arm_at, armed_at=None, closed_at=None)

    async def snooze_alert(self, chat_id: int, alert_id: int, until: datetime) -> Alert | None:
        """The alert stays quiet until `until`, then watches again (fired, repeating or active)."""
        return await self._transition(
            chat_id, alert_id, (AlertState.FIRED, AlertState.ACTIVE, AlertState.WAITING, AlertState.COOLING),
            state=AlertState.COOLING, rearm_after=until,
        )

    async def _transition(self, chat_id: int, alert_id: int, allowed: Sequence[AlertState], **values: object) -> Alert | None:
        """Changes one of the chat's own alerts if it is in an allowed state. The chat check is
        in the WHERE clause, so a forged id or button can never touch another chat's alert."""
        async with self._write() as session:
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
        """Anything a tick must watch prices for (repeats waiting to go back, and alerts waiting
        to be armed, need prices too)."""
        async with self._sessions() as session:
            query = select(Alert.id).where(Alert.state.in_(NEED_PRICES)).limit(1)
            return (await session.execute(query)).first() is not None


# /alerts lists the live alerts by id ascending, then those that fired (or ended) lately by id
# descending. A page starts after a list key: a live alert's key is its id, a fired one's is
# FIRED_KEYS - id, so keys grow along the list and every page is found by a range on
# ix_alerts_chat (keyset pagination), however many alerts a chat has.
FIRED_KEYS = 2**32  # above every id (ids are 32-bit integers)


def list_key(alert: Alert) -> int:
    return alert.id if alert.state in LIVE else FIRED_KEYS - alert.id


@dataclass(frozen=True)
class AlertPage:
    live: Sequence[Alert]
    fired: Sequence[Alert]
    before: int  # listed alerts before this page
    total: int
    live_total: int
    previous: int | None  # where the previous page starts (None: this is the first)
    next: int | None  # where the next page starts (None: this is the last)


class AlertListQueries(StoreBase):
    async def list_page(self, chat_id: int, after: int, limit: int) -> AlertPage:
        """Up to `limit` listed alerts whose key is above `after` (0: from the start)."""
        live_query = select(Alert).where(Alert.chat_id == chat_id, Alert.state.in_(LIVE))
        fired_query = select(Alert).where(Alert.chat_id == chat_id, Alert.state.in_((AlertState.FIRED, AlertState.ENDED)),
                                          Alert.closed_at >= utcnow() - RECENT)
        in_fired = after > FIRED_KEYS // 2
        async with self._sessions() as session:
            async def count(query: Any) -> int:
                return (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()

            async def rows(query: Any, n: int) -> Sequence[Alert]:
                return (await session.scalars(query.limit(n))).all() if n > 0 else []

            live_total, fired_total = await count(live_query), await count(fired_query)
            if in_fired:
                live: Sequence[Alert] = []
                fired = await rows(fired_query.where(Alert.id < FIRED_KEYS - after).order_by(Alert.id.desc()), limit)
                before = live_total + await count(fired_query.where(Alert.id >= FIRED_KEYS - after))
                # Back: walking the list backwards from `after`, the (limit + 1)-th alert.
                back = [FIRED_KEYS - a.id for a in await rows(
                    fired_query.where(Alert.id >= FIRED_KEYS - after).order_by(Alert.id), limit + 1)]
                back += [a.id for a in await rows(live_query.order_by(Alert.id.desc()), limit + 1 - len(back))]
            else:
                live = await rows(live_query.where(Alert.id > after).order_by(Alert.id), limit)
                fired = await rows(fired_query.order_by(Alert.id.desc()), limit - len(live))
                before = await count(live_query.where(Alert.id <= after))
                back = [a.id for a in await rows(live_query.where(Alert.id <= after).order_by(Alert.id.desc()), limit + 1)]
        shown = [*live, *fired]
        total = live_total + fired_total
        return AlertPage(
            live=live, fired=fired, before=before, total=total, live_total=live_total,
            previous=None if before == 0 else (back[limit] if len(back) > limit else 0),
            next=list_key(shown[-1]) if shown and before + len(shown) < total else None,
        )
