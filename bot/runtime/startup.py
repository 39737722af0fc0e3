"""Start-up waits for Telegram: a network that is not up yet is retried, a refused token is final."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

log = logging.getLogger(__name__)

FIRST_DELAY = 1.0
MAX_DELAY = 60.0
TOKEN_REFUSED = "Telegram refused TELEGRAM_BOT_TOKEN: check it with @BotFather"


class TokenRefused(Exception):
    """401 or 404 to getMe: no retry will help."""


def backoff_delays(first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> Iterator[float]:
    """1, 2, 4, ... seconds, then `cap` for ever."""
    delay = first
    while True:
        yield delay
        delay = min(cap, delay * 2)


async def wait_for_telegram(application: Application, stop: asyncio.Event) -> bool:
    """`application.initialize()` (its getMe) until Telegram answers; False if stopped first.

    One WARNING line per failed attempt with its cause, no traceback. Raises TokenRefused.
    """
    for delay in backoff_delays():
        try:
            await application.initialize()
            return True
        except InvalidToken:
            raise TokenRefused(TOKEN_REFUSED) from None
        except TelegramError as exc:  # network down, DNS, a proxy not started yet, 5xx, 429
            log.warning("Telegram does not answer (%s: %s); trying again in %g s", type(exc).__name__, exc, delay)
        try:
            await asyncio.wait_for(stop.wait(), delay)
            return False
        except TimeoutError:
            pass
    return False  # unreachable: the delays never end
