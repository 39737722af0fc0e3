"""What every group of queries shares: sessions, the clock, and the alert states by meaning.

One session per call and one commit at its end. Every write goes through `_write()`, which on
SQLite begins with BEGIN IMMEDIATE (storage.db): the whole call is one transaction that takes
the write lock up front, so it can neither half-commit nor fail on a lock upgrade.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.db import writer_sessions
from bot.storage.models import AlertState


# States in which an alert still exists for its chat: listed, deletable, counted by the limit.
LIVE = (AlertState.ACTIVE, AlertState.PAUSED, AlertState.WAITING, AlertState.COOLING, AlertState.ARMING)
DELETABLE = (*LIVE, AlertState.FIRED)
# States that can still fire, now or later: /pause and a block stop all of them.
WATCHING = (AlertState.ACTIVE, AlertState.WAITING, AlertState.COOLING, AlertState.ARMING)
# States a tick needs prices for: to fire, to see a repeat go back, to arm.
NEED_PRICES = (AlertState.ACTIVE, AlertState.WAITING, AlertState.ARMING)
RECENT = timedelta(days=7)  # how long fired alerts stay in /alerts


def utcnow() -> datetime:
    """Naive UTC: SQLite keeps no time zone, so we store UTC everywhere and say so."""
    return datetime.now(timezone.utc).replace(tzinfo=None)



class StoreBase:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions  # reads
        self._write = writer_sessions(sessions)  # writes: one transaction each, on both databases
