"""Which texts go to which chat, and in what order. Pure, so it is tested without servers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.storage.store import PendingMessage

MAX_TEXT = 4096  # Telegram's limit for one message, in UTF-16 code units
MAX_PARTS = 25  # each part may carry a row of 3 buttons; Telegram allows about 100 per message
SEPARATOR = "\n\n"
HEADER_ROOM = 200  # a digest's first line (notify.placement) goes above its parts


@dataclass(frozen=True)
class Delivery:
    """One Telegram message carrying one or more outbox messages of one chat."""

    chat_id: int
    messages: tuple[PendingMessage, ...]
    # A digest too long for one message continues in the next ones: this is part `part` of `parts`,
    # and the whole digest (one per topic) holds `digest_size` notifications.
    part: int = 1
    parts: int = 1
    digest_size: int = 0

    @property
    def outbox_ids(self) -> tuple[int, ...]:
        return tuple(m.id for m in self.messages)

    @property
    def text(self) -> str:
        return SEPARATOR.join(m.text for m in self.messages)

    @property
    def thread_id(self) -> int | None:
        """The forum topic it goes to (combine() never mixes topics); None: General or no topics."""
        return self.messages[0].thread_id

    @property
    def silent(self) -> bool:
        """Only silent alerts: it arrives without a sound (combine() never mixes them with others)."""
        return all(m.silent for m in self.messages)

    @property
    def held(self) -> bool:
        """Held for a digest during quiet hours (combine() never mixes them with fresh ones)."""
        return any(m.held for m in self.messages)

    def split(self) -> list[Delivery]:
        return [Delivery(self.chat_id, (m,)) for m in self.messages]


def _length(text: str) -> int:
    # Counting the HTML, tags included, over-counts the visible text: safe.
    return len(text.encode("utf-16-le")) // 2


def _place(message: PendingMessage) -> tuple[int | None, bool, bool]:
    """What must be the same for messages to share one Telegram message: topic, sound, digest
    (a digest is one message whatever its parts' sound: it rings unless all of them are silent)."""
    return message.thread_id, message.silent and not message.held, message.held


def _digests_together(messages: Sequence[PendingMessage]) -> list[PendingMessage]:
    """The same messages, the held ones of each topic brought together where the first of them
    is (one digest per topic, in order), the others left in their place."""
    groups: dict[tuple[bool, int | None], list[PendingMessage]] = {}
    order: list[tuple[bool, int | None]] = []
    for message in messages:
        key = (True, message.thread_id) if message.held else (False, message.id)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(message)
    return [message for key in order for message in groups[key]]


def _numbered(deliveries: list[Delivery]) -> list[Delivery]:
    """Each digest's parts (consecutive held deliveries of one topic) numbered 1/n ... n/n."""
    numbered: list[Delivery] = []
    start = 0
    while start < len(deliveries):
        end = start + 1
        first = deliveries[start]
        if first.held:
            while end < len(deliveries) and deliveries[end].held and deliveries[end].thread_id == first.thread_id:
                end += 1
        run = deliveries[start:end]
        size = sum(len(d.messages) for d in run)
        numbered += [replace(d, part=k, parts=len(run), digest_size=size) if first.held else d
                     for k, d in enumerate(run, 1)]
        start = end
    return numbered


def combine(messages: Sequence[PendingMessage], limit: int = MAX_TEXT) -> list[Delivery]:
    """Joins one chat's messages, oldest first, into as few texts as fit under `limit`; a chat's
    held messages make one digest per topic, numbered when it takes more than one message."""
    deliveries: list[Delivery] = []
    parts: list[PendingMessage] = []
    size = 0
    for message in _digests_together(messages):
        extra = _length(message.text) + (_length(SEPARATOR) if parts else 0)
        room = limit - (HEADER_ROOM if parts and parts[0].held else 0)
        if parts and (size + extra > room or len(parts) == MAX_PARTS or _place(message) != _place(parts[0])):
            deliveries.append(Delivery(message.chat_id, tuple(parts)))
            parts, size = [], 0
            extra = _length(message.text)
        parts.append(message)
        size += extra
    if parts:
        deliveries.append(Delivery(parts[0].chat_id, tuple(parts)))
    return _numbered(deliveries)


def plan_rounds(pending: Sequence[PendingMessage], limit: int = MAX_TEXT) -> list[list[Delivery]]:
    """Round k holds the k-th message of every chat that has one.

    Sending round by round is fair: a chat with a hundred alerts firing gets its first message
    out together with everyone else's, not before them.
    """
    by_chat: dict[int, list[PendingMessage]] = {}
    for message in sorted(pending, key=lambda m: m.id):
        by_chat.setdefault(message.chat_id, []).append(message)
    per_chat = [combine(messages, limit) for messages in by_chat.values()]
    depth = max((len(d) for d in per_chat), default=0)
    return [[d[k] for d in per_chat if k < len(d)] for k in range(depth)]
