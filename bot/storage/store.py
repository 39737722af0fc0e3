"""Every query the bot runs, as one object; each group lives in the module named for what it stores.

- storage.alerts: chat commands on alerts; storage.firing: the tick; storage.outbox: messages;
  storage.chats: whole chats; storage.retention: deleting old rows; storage.guides: guided /alert steps.
"""

from __future__ import annotations

from sqlalchemy import func, select

from bot.storage.alerts import AlertListQueries, AlertPage, AlertQueries
from bot.storage.base import DELETABLE, LIVE, RECENT, WATCHING, utcnow
from bot.storage.chats import ChatQueries
from bot.storage.guides import GuideQueries
from bot.storage.edits import EditQueries
from bot.storage.firing import EndedAlerts, ExpiredAlert, FiredAlert, TickQueries
from bot.storage.statements import fire_statement, price_table
from bot.storage.models import Alert, AlertState, OutboxMessage, OutboxState
from bot.storage.outbox import OutboxQueries, PendingMessage
from bot.storage.retention import RetentionQueries
from bot.storage.topics import TopicQueries

__all__ = [
    "AlertPage", "AlertStore", "DELETABLE", "EndedAlerts", "ExpiredAlert", "FiredAlert", "LIVE", "PendingMessage",
    "RECENT", "WATCHING",
    "fire_statement", "price_table", "utcnow",
]


class AlertStore(AlertQueries, AlertListQueries, TickQueries, OutboxQueries, ChatQueries, RetentionQueries,
                 GuideQueries, EditQueries, TopicQueries):
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

