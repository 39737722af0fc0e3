"""The tables. Every change here needs an Alembic revision (migrations/versions)."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, DateTime, Enum, Index, Integer, MetaData, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.crossing import Direction
from bot.sources import PriceSource
from bot.storage.types import ExactDecimal


class Base(DeclarativeBase):
    # Named constraints, so that migrations can drop and alter them on every database.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class AlertState(str, enum.Enum):
    """An alert's life: ACTIVE -> FIRED (once), or ACTIVE -> WAITING -> COOLING -> ACTIVE (repeat).

    An alert fires on a crossing only: one whose level is already passed when it is created,
    re-armed or resumed starts ARMING and becomes ACTIVE once the price is back on its waiting side.
    """

    ACTIVE = "active"  # armed: the price was on the waiting side since armed_at; fires when it reaches the level
    FIRED = "fired"  # fired once and done; the Re-arm button makes it watch again
    DELETED = "deleted"
    PAUSED = "paused"  # /pause, a block or the allowlist; paused_from keeps the state to go back to
    WAITING = "waiting"  # a repeating alert fired; waits for the price to go back past rearm_level
    COOLING = "cooling"  # becomes active at rearm_after (repeat cooldown, or Snooze)
    EXPIRED = "expired"  # its `for`/`until` time ran out
    ARMING = "arming"  # its level is passed: becomes ACTIVE once the price is strictly back past rearm_level
    ENDED = "ended"  # its symbol is no longer traded


class PauseReason(str, enum.Enum):
    """Who paused an alert, which decides who gives it back."""

    USER = "user"  # /pause; /resume
    BLOCKED = "blocked"  # the chat blocked the bot; /start
    ALLOWLIST = "allowlist"  # the chat left ALLOWED_CHAT_IDS; putting it back


class MessageKind(str, enum.Enum):
    """What an outbox message is about, which decides its buttons."""

    FIRED = "fired"  # a once-alert fired: Snooze / Re-arm / Delete
    REPEAT = "repeat"  # a repeating alert fired: Snooze / Delete (it re-arms by itself)
    EXPIRED = "expired"  # no buttons


class OutboxState(str, enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    DROPPED = "dropped"  # Telegram refused it for good; `last_error` says why


def _enum(cls: type[enum.Enum], name: str, *, constraint: bool = True, length: int = 8) -> Enum:
    # Stored as short strings with a CHECK constraint: readable in SQL, the same on both databases.
    return Enum(
        cls, name=name, native_enum=False, create_constraint=constraint, length=length,
        values_callable=lambda members: [m.value for m in members],
    )


class Chat(Base):
    """What we remember of a chat besides its alerts: its language, and whether it blocked us."""

    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str] = mapped_column(String(8))
    language_chosen: Mapped[bool] = mapped_column(Boolean, default=False)  # by /language, not guessed
    # Telegram refused our messages (403) then; its alerts were paused until it sends /start.
    blocked_at: Mapped[datetime | None] = mapped_column(DateTime())
    # Time zones and quiet hours (issue 25): the IANA zone times are shown in (None: UTC), and the
    # quiet window in minutes after local midnight; `quiet_digest` holds notifications instead.
    timezone: Mapped[str | None] = mapped_column(String(64))
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    quiet_digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    symbol: Mapped[str] = mapped_column(String(40))
    direction: Mapped[Direction] = mapped_column(_enum(Direction, "direction"))
    level: Mapped[Decimal] = mapped_column(ExactDecimal())
    note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[AlertState] = mapped_column(_enum(AlertState, "alert_state"), default=AlertState.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(DateTime())  # naive UTC, on both databases
    fired_at: Mapped[datetime | None] = mapped_column(DateTime())
    fired_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    fire_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    repeat_seconds: Mapped[int | None] = mapped_column(Integer)  # None: fires once
    rearm_level: Mapped[Decimal | None] = mapped_column(ExactDecimal())  # repeat: level minus the margin
    rearm_after: Mapped[datetime | None] = mapped_column(DateTime())  # COOLING ends here
    expires_at: Mapped[datetime | None] = mapped_column(DateTime())
    window_seconds: Mapped[int | None] = mapped_column(Integer)  # move alerts: level is a % within this
    # When it last became ACTIVE: a price extreme seen before this never fires it.
    armed_at: Mapped[datetime | None] = mapped_column(DateTime())
    # While PAUSED: the state it goes back to, and who paused it.
    paused_from: Mapped[AlertState | None] = mapped_column(_enum(AlertState, "paused_from", constraint=False))
    paused_by: Mapped[PauseReason | None] = mapped_column(_enum(PauseReason, "paused_by", constraint=False, length=10))
    # When it fired for good, was deleted, expired or ended: retention counts from here.
    closed_at: Mapped[datetime | None] = mapped_column(DateTime())
    # Topics and silent alerts (issue 25): the forum topic it was made in (None: General or no
    # topics), announced there; `silent` notifications arrive without a sound.
    message_thread_id: Mapped[int | None] = mapped_column(BigInteger)
    silent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The price it watches: the last trade, or the mark or index price (docs/futures.md).
    price_source: Mapped[PriceSource] = mapped_column(_enum(PriceSource, "price_source"), default=PriceSource.LAST,
                                                      server_default=PriceSource.LAST.value)
    # A /liq step: the liquidation price it warns about (its level is `step` % away from it).
    liquidation: Mapped[Decimal | None] = mapped_column(ExactDecimal())

    __table_args__ = (
        # The tick's query: for each (symbol, direction, price source), a range scan on level among active alerts.
        Index("ix_alerts_firing", "state", "symbol", "direction", "price_source", "level"),
        # Repeating alerts whose price went back: the same shape on rearm_level among WAITING ones.
        Index("ix_alerts_rearm", "state", "symbol", "direction", "price_source", "rearm_level"),
        # Which (symbol, window) pairs move alerts watch, and those that a move fires.
        Index("ix_alerts_moves", "state", "direction", "symbol", "window_seconds", "level"),
        # COOLING alerts whose time has come, and alerts whose expiry has come.
        Index("ix_alerts_due", "state", "rearm_after"),
        Index("ix_alerts_expiry", "state", "expires_at"),
        # /alerts and /delete: one chat's alerts.
        Index("ix_alerts_chat", "chat_id", "state", "id"),
        # Retention: closed alerts, oldest first.
        Index("ix_alerts_closed", "closed_at"),
    )


class OutboxMessage(Base):
    """A message to send, written in the same transaction that fired its alert."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    alert_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[MessageKind] = mapped_column(_enum(MessageKind, "message_kind"), default=MessageKind.FIRED,
                                              server_default=MessageKind.FIRED.value)
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[OutboxState] = mapped_column(_enum(OutboxState, "outbox_state"), default=OutboxState.PENDING)
    created_at: Mapped[datetime] = mapped_column(DateTime())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime())
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    # Issue 25: the topic it goes to, whether it rings, and (digest quiet hours) until when it is held.
    message_thread_id: Mapped[int | None] = mapped_column(BigInteger)
    silent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    held_until: Mapped[datetime | None] = mapped_column(DateTime())

    __table_args__ = (Index("ix_outbox_state", "state", "id"),)


class GuideStep(Base):
    """Where one user is in the guided /alert of one chat. In the database, not in a process's
    memory, so that each step may be answered by a different replica."""

    __tablename__ = "guide_steps"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    step: Mapped[str] = mapped_column(String(16))  # symbol, level, confirm...
    symbol: Mapped[str | None] = mapped_column(String(40))
    answer: Mapped[str | None] = mapped_column(Text)  # the level as typed, parsed again at confirmation
    prompt_message_id: Mapped[int | None] = mapped_column(BigInteger)  # the question a reply answers
    updated_at: Mapped[datetime] = mapped_column(DateTime())


class ForumTopic(Base):
    """A forum topic's name, as Telegram last told it (topic created or renamed, or a message in
    it): /alerts marks each alert's topic by name, and a notification whose topic is gone says
    which topic it was for."""

    __tablename__ = "forum_topics"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    message_thread_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(128))
