"""Sends pending outbox messages and marks each one sent once Telegram accepted it.

A message is marked sent only after Telegram returned its message_id, so a crash between
the two repeats at most the one message that was in flight; nothing is lost. The sender runs
as its own task, woken by each tick, so a long queue never delays the price checks.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.storage.store import AlertStore, PendingMessage

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = 5.0  # seconds before pending messages are tried again after an error


class OutboxSender:
    def __init__(self, store: AlertStore, bot: Bot, batch: int = 100) -> None:
        self._store = store
        self._bot = bot
        self._batch = batch
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._wake.set()  # deliver what an earlier run left pending
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self, timeout: float = 10.0) -> None:
        """Lets the message in flight finish; the rest stays pending for the next start."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout)
            except TimeoutError:
                log.warning("outbox sender did not stop within %.0f s", timeout)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), RETRY_AFTER_FAILURE)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # a database hiccup must not end delivery for good
                log.exception("outbox delivery failed; retrying in %.0f s", RETRY_AFTER_FAILURE)

    async def flush(self) -> int:
        """Delivers what is pending until the queue is empty or Telegram asks us to wait."""
        sent = 0
        while not self._stopping:
            pending = await self._store.pending_messages(self._batch)
            if not pending:
                break
            for message in pending:
                if self._stopping:
                    break
                if not await self._deliver(message):
                    return sent
                sent += 1
        return sent

    async def _deliver(self, message: PendingMessage) -> bool:
        """True when the message left the queue (sent or dropped for good)."""
        try:
            result = await self._bot.send_message(message.chat_id, message.text, parse_mode=ParseMode.HTML)
        except Forbidden as exc:
            # Blocked by the user, kicked from the group: retrying never helps.
            log.warning("chat %d refuses messages (%s); dropping outbox #%d", message.chat_id, exc, message.id)
            await self._store.mark_failed(message.id, f"forbidden: {exc}", drop=True)
        except BadRequest as exc:
            log.error("Telegram refused outbox #%d for chat %d: %s", message.id, message.chat_id, exc)
            await self._store.mark_failed(message.id, f"bad request: {exc}", drop=True)
        except TelegramError as exc:
            # Flood limit beyond the rate limiter's retries, or network trouble: keep it pending.
            log.warning("could not send outbox #%d now (%s); will retry", message.id, exc)
            await self._store.mark_failed(message.id, str(exc), drop=False)
            return False
        else:
            await self._store.mark_sent(message.id, result.message_id)
        return True
