"""How each pending message goes out (issue 25): to which forum topic, with or without a sound,
now or held for a quiet-hours digest. Pure but for `clock`, which tests may replace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone

from bot.alerts.hours import QuietHours, is_quiet, quiet_hours, quiet_until, zone
from bot.notify.batching import SEPARATOR, Delivery
from bot.storage.outbox import PendingMessage
from bot.texts import Texts

# What Telegram answers (400) when a message's forum topic is gone: deleted topics are "message
# thread not found" (tdlib/telegram-bot-api#472, #854), closed ones TOPIC_CLOSED; TOPIC_DELETED
# is the MTProto name a few answers carry through.
TOPIC_GONE = ("message thread not found", "topic_closed", "topic_deleted")


def clock() -> datetime:
    """Now, naive UTC like storage."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def topic_gone(description: str) -> bool:
    return any(marker in description.lower() for marker in TOPIC_GONE)


def _hours(message: PendingMessage) -> QuietHours | None:
    return quiet_hours(*message.quiet)


def arrange(pending: Sequence[PendingMessage], now: datetime) -> tuple[list[PendingMessage], dict[datetime, list[int]]]:
    """(what goes out now, {until: outbox ids to hold}). In a chat's digest quiet hours its
    messages are held until the window ends; in silent quiet hours they go out without a sound."""
    due: list[PendingMessage] = []
    held: dict[datetime, list[int]] = {}
    decided: dict[int, tuple[datetime | None, bool]] = {}  # chat -> (hold until, quiet now)
    for message in pending:
        if message.chat_id not in decided:
            hours, where = _hours(message), zone(message.timezone)
            until = quiet_until(now, where, hours) if hours is not None and hours.digest else None
            decided[message.chat_id] = (until, is_quiet(now, where, hours))
        until, quiet = decided[message.chat_id]
        if until is not None:
            held.setdefault(until, []).append(message.id)
        elif quiet and not message.silent:
            due.append(replace(message, silent=True))
        else:
            due.append(message)
    return due, held


def digest_text(delivery: Delivery) -> str:
    """A held delivery's text: the digest's first line, numbered (`1/3`) when the digest takes
    several messages (over 25 notifications or 4096 characters), then what fired, in order."""
    header = Texts(delivery.messages[0].language).digest_header(delivery.digest_size or len(delivery.messages))
    if delivery.parts > 1:
        header += f" {delivery.part}/{delivery.parts}"
    return header + SEPARATOR + delivery.text
