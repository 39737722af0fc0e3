"""At most N commands a chat per minute: the rule, pure and clock-driven. Commands in chat
(bot.telegram.flood) and the Mini App's requests (bot.webapp.api) count against one limiter."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

WINDOW = 60.0  # seconds
MAX_TRACKED = 100_000  # chats remembered at once; each costs about 150 bytes


class Verdict(enum.Enum):
    PASS = "pass"
    WARN = "warn"  # the first one over the limit: answer "slow down" once
    DROP = "drop"


@dataclass
class _Window:
    started: float
    count: int = 0
    warned: bool = False


class CommandLimiter:
    """A fixed one-minute window per chat, starting at its first command.

    Memory is bounded: a window is forgotten once its minute is over, and at most `max_tracked`
    chats are remembered (the oldest windows go first when a flood of new chats arrives).
    """

    def __init__(self, per_minute: int, *, window: float = WINDOW, max_tracked: int = MAX_TRACKED,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = per_minute
        self._window = window
        self._max = max_tracked
        self._clock = clock
        self._chats: dict[int, _Window] = {}  # insertion order is window start order

    def __len__(self) -> int:
        return len(self._chats)

    def check(self, chat_id: int) -> Verdict:
        now = self._clock()
        entry = self._chats.get(chat_id)
        if entry is None or now - entry.started >= self._window:
            if entry is not None:
                del self._chats[chat_id]  # re-inserted last: the order stays by window start
            elif len(self._chats) >= self._max:
                self._forget(now)
            entry = self._chats[chat_id] = _Window(now)
        entry.count += 1
        if entry.count <= self._limit:
            return Verdict.PASS
        if not entry.warned:
            entry.warned = True
            return Verdict.WARN
        return Verdict.DROP

    def _forget(self, now: float) -> None:
        """Drops windows that are over; if none is, the oldest ones, to stay under the cap."""
        for chat_id, entry in list(self._chats.items()):
            if now - entry.started < self._window and len(self._chats) < self._max:
                break
            del self._chats[chat_id]
