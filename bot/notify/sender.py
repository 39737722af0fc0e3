"""Delivers the outbox to Telegram, and marks each message sent once Telegram accepted it.

Guarantees, and what is left of them:
- A fired alert's message is written in the same transaction that fires it, so it is never lost.
- A message is marked sent once Telegram returned its message_id: the marks are written in the
  background, what was accepted within 0.1 s in one transaction, while the next messages go
  out (a transaction per message held delivery up). If the process dies before its mark is
  committed (or a request times out after Telegram accepted it), that message is sent again on
  the next start: the only duplicate window, one request, 0.1 s and one write long.
- Telegram's limits are kept by bot.notify.pacing (30 messages in any second overall, 20 a
  minute per group, a 429 obeyed to the second); here, a chat gets at most one message a
  second, and alerts of one chat that fire together go out as one message.
- Fairness: pending messages go out in rounds, one message per chat per round; each message
  waits only for its own chat's second, never for the slowest chat of its round.
- PAID_BROADCAST: what the free 30 a second cannot carry goes with allow_paid_broadcast (up to
  1,000 a second, 0.1 Star each over the free 30). If Telegram refuses a paid message (no
  Stars left), the sender says so once, goes back to the free rate until restarted, and sends
  that message again, free.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.metrics import MESSAGES_FAILED, MESSAGES_PAID, MESSAGES_SENT, OUTBOX_PENDING, TELEGRAM_RETRY_AFTER
from bot.notify import placement
from bot.notify.batching import Delivery, plan_rounds
from bot.notify.notices import notification_keyboard
from bot.notify.pacing import Pacer, retry_seconds
from bot.notify.sent_marks import SentMarks
from bot.notify.transport import BotApiClient
from bot.storage.store import AlertStore
from bot.webapp.links import AppLinks, open_chart_button
from bot.texts import Texts

log = logging.getLogger(__name__)

IDLE_POLL = 30.0  # seconds; ticks wake the sender, this only catches what they missed
MAX_BACKOFF = 60.0
# Requests in flight at once: the pacer decides when each starts; this only bounds the sockets
# (1,000 a second paid, at tens of milliseconds each).
CONCURRENCY = 100
# How Telegram names a refused paid broadcast: 400 "Bad Request: BALANCE_TOO_LOW" when the bot's
# Stars run out (the error Stars payments answer with), or a description naming the feature.
PAID_REFUSALS = ("balance_too_low", "paid broadcast", "allow_paid_broadcast", "stars")


def refuses_paid(exc: TelegramError) -> bool:
    """Whether a 400 is Telegram refusing to take payment, not refusing the message."""
    return any(word in exc.message.lower() for word in PAID_REFUSALS)


class Outcome(enum.Enum):
    DONE = "done"  # sent, or dropped for good
    BLOCKED = "blocked"  # the chat refuses us: its other messages are dropped too
    RETRY = "retry"  # keep pending, stop this flush, try again after a pause


class OutboxSender:
    def __init__(
        self, store: AlertStore, api: BotApiClient, *, concurrency: int = CONCURRENCY, per_chat_interval: float = 1.0,
        batch: int = 1000, on_migrated: Callable[[int, int], None] | None = None,
        app_links: Callable[[], AppLinks | None] | None = None,
        pacer: Pacer | None = None, paid: bool = False,
    ) -> None:
        self._store = store
        self._app_links = app_links  # the Mini App's "Open chart" under each notification (issue 23)
        self._on_migrated = on_migrated  # ALLOWED_CHAT_IDS follows the group (telegram.allowlist)
        self._api = api
        self._pacer = pacer or Pacer()  # the Application's own, so that command answers and the outbox share one count
        self._paid = paid  # PAID_BROADCAST, until Telegram refuses to be paid
        self._marks = SentMarks(store)
        self._slots = asyncio.Semaphore(concurrency)
        self._per_chat_interval = per_chat_interval
        self._batch = batch
        self._last_sent: dict[int, float] = {}  # chat -> monotonic time of our last message
        self._failures = 0
        self._retry_in = 0.0
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._release: asyncio.TimerHandle | None = None  # wakes delivery when a digest's quiet hours end
        self.sent = 0
        self.failed = 0

    def start(self) -> None:
        self._wake.set()  # deliver what an earlier run left pending
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self, timeout: float = 10.0) -> None:
        """Lets the messages in flight finish; the rest stays pending for the next start."""
        self._stopping = True
        if self._release is not None:
            self._release.cancel()
        self._stopped.set()
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout)
            except TimeoutError:
                log.warning("outbox sender did not stop within %.0f s", timeout)
        try:
            await self._marks.drain()
        except Exception:
            log.exception("could not mark delivered messages sent; they will be sent again on the next start")

    async def _run(self) -> None:
        try:  # digests held by an earlier run: wake when the first is due, not at an idle poll
            until = await self._store.next_release()
            if until is not None:
                self._wake_at(until, placement.clock())
        except Exception:  # the first flush tries the database again; the idle poll is the fallback
            log.exception("outbox: could not read when held digests are due")
        while not self._stopping:
            pause, self._retry_in = self._retry_in, 0.0
            if pause:
                log.info("outbox: trying again in %.1f s", pause)
            await self._wait(pause or IDLE_POLL, wake_early=not pause)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # a database hiccup must not end delivery for good
                log.exception("outbox delivery failed")
                self._retry_in = self._backoff()
            self._marks.now()  # nothing more on its way: no mark waits for company

    async def _wait(self, seconds: float, *, wake_early: bool) -> None:
        """Waits `seconds`; a stop always ends the wait, a wake() only when `wake_early`."""
        event = self._wake if wake_early else self._stopped
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            pass

    def _backoff(self) -> float:
        self._failures += 1
        return min(MAX_BACKOFF, 2.0 ** (self._failures - 1)) * random.uniform(0.75, 1.0)

    async def flush(self) -> None:
        """Delivers what is pending, round by round, until done or told to wait."""
        while not self._stopping:
            await self._marks.drain()
            now = placement.clock()
            fetched = await self._store.pending_messages(self._batch, now)
            OUTBOX_PENDING.set(len(fetched))  # exact below one batch, "at least" above; less each delivery
            if not fetched:
                return
            pending, held = placement.arrange(fetched, now)  # quiet hours: silent, or held for a digest
            for until, ids in held.items():
                if await self._store.hold_messages(ids, until, now) < len(ids):
                    self.wake()  # their quiet hours changed since the read: decide again at once
                OUTBOX_PENDING.dec(len(ids))
            if held:
                self._wake_at(min(held), now)
            blocked: set[int] = set()
            for round_ in plan_rounds(pending):
                round_ = [d for d in round_ if d.chat_id not in blocked]
                if self._stopping or not round_:
                    continue
                outcomes = await asyncio.gather(*(self._deliver(d) for d in round_))
                blocked.update(d.chat_id for d, o in zip(round_, outcomes) if o is Outcome.BLOCKED)
                if Outcome.RETRY in outcomes:
                    return
            if len(fetched) < self._batch:
                return

    def _wake_at(self, until: datetime, now: datetime) -> None:
        """Delivery wakes when the earliest digest is due, not at the next idle poll."""
        loop = asyncio.get_running_loop()
        when = loop.time() + max(0.0, (until - now).total_seconds())
        if self._release is None or self._release.cancelled() or when < self._release.when() or \
                self._release.when() < loop.time():
            if self._release is not None:
                self._release.cancel()
            self._release = loop.call_at(when, self.wake)

    async def _chat_ready(self, chat_id: int) -> None:
        """One message a second per chat (Bots FAQ), counted from our last one's answer."""
        ready = self._last_sent.get(chat_id, 0.0) + self._per_chat_interval
        now = time.monotonic()
        if ready > now:
            await asyncio.sleep(ready - now)
        if len(self._last_sent) > 100_000:  # forget chats we have not written to lately
            cutoff = time.monotonic() - self._per_chat_interval
            self._last_sent = {c: t for c, t in self._last_sent.items() if t > cutoff}

    async def _deliver(self, delivery: Delivery) -> Outcome:
        await self._chat_ready(delivery.chat_id)
        async with self._slots:
            if self._stopping:
                return Outcome.RETRY
            return await self._send(delivery)

    def _params(self, delivery: Delivery) -> dict[str, object]:
        """sendMessage's fields, in the Bot API's JSON."""
        # The end of digest quiet hours: one message per topic (numbered parts when it is long).
        text = placement.digest_text(delivery) if delivery.held else delivery.text
        params: dict[str, object] = {"chat_id": delivery.chat_id, "text": text, "parse_mode": "HTML"}
        rows = notification_keyboard(delivery.messages)
        links = self._app_links() if self._app_links is not None else None
        if delivery.messages:  # the Mini App's "Open chart" (issue 23), where allowed
            button = open_chart_button(links, delivery.messages[0].language, delivery.chat_id)
            if button is not None:
                rows.append([button.to_dict()])
        if rows:
            params["reply_markup"] = {"inline_keyboard": rows}
        if delivery.thread_id is not None:
            params["message_thread_id"] = delivery.thread_id
        if delivery.silent:
            params["disable_notification"] = True
        return params

    async def _send(self, delivery: Delivery) -> Outcome:
        params = self._params(delivery)
        slot = await self._pacer.reserve(delivery.chat_id, paid_ok=self._paid)
        if self._stopping:
            slot.finish()
            return Outcome.RETRY
        if slot.paid:
            params["allow_paid_broadcast"] = True
        try:
            try:
                message_id = await self._api.send_message(params)
            except RetryAfter as exc:
                self._pacer.obey(exc)  # before the slot frees: nothing else starts during the pause
                raise
            finally:
                slot.finish()  # at the answer: the slot holds its place for a second from now
        except Forbidden as exc:
            paused, dropped = await self._store.block_chat(delivery.chat_id, f"forbidden: {exc.message}")
            log.warning("chat %d refuses messages (%s): %d alerts paused, %d messages dropped",
                        delivery.chat_id, exc.message, paused, dropped)
            self.failed += dropped
            MESSAGES_FAILED.labels("blocked").inc(dropped)
            OUTBOX_PENDING.dec(dropped)
            return Outcome.BLOCKED
        except ChatMigrated as exc:
            return await self._migrated(delivery, int(exc.new_chat_id))
        except BadRequest as exc:
            if slot.paid and refuses_paid(exc):
                self._stop_paying(exc)
                return await self._send(delivery)  # the same message again, at the free rate
            if delivery.thread_id is not None and placement.topic_gone(exc.message):
                return await self._topic_gone(delivery, exc)
            return await self._refused(delivery, exc)
        except RetryAfter as exc:
            # The pacer holds every request back for the time Telegram asks; this message waits too.
            pause = retry_seconds(exc)
            TELEGRAM_RETRY_AFTER.inc()
            await self._store.mark_failed(delivery.outbox_ids, f"retry after {pause:g} s", drop=False)
            self._retry_in = max(self._retry_in, pause)
            log.warning("Telegram flood limit: pausing delivery for %g s", pause)
            return Outcome.RETRY
        except TelegramError as exc:  # network trouble, timeouts, 5xx
            await self._store.mark_failed(delivery.outbox_ids, str(exc), drop=False)
            MESSAGES_FAILED.labels("network").inc(len(delivery.outbox_ids))
            self._retry_in = max(self._retry_in, self._backoff())
            log.warning("could not reach Telegram (%s); outbox %s stays pending", exc, list(delivery.outbox_ids))
            return Outcome.RETRY
        self._last_sent[delivery.chat_id] = time.monotonic()
        self._marks.add(delivery.outbox_ids, message_id)
        self._failures = 0
        self.sent += len(delivery.outbox_ids)
        MESSAGES_SENT.inc(len(delivery.outbox_ids))
        if slot.paid:
            MESSAGES_PAID.inc()
        OUTBOX_PENDING.dec(len(delivery.outbox_ids))
        return Outcome.DONE

    def _stop_paying(self, exc: TelegramError) -> None:
        """Said once: paid sends in flight at the same moment are refused too, and re-sent quietly."""
        if self._paid:
            self._paid = False
            log.warning("Telegram refused a paid broadcast (%s): back to the free rate of %d messages a second "
                        "until the bot restarts; nothing is lost. Top up the bot's Stars to pay again.",
                        exc.message, self._pacer.per_second)

    async def _migrated(self, delivery: Delivery, new_chat_id: int) -> Outcome:
        """The group became a supergroup with a new id: the chat moves there (alerts, settings,
        pending messages, in one transaction), and the message goes to the new id."""
        if new_chat_id == delivery.chat_id:
            return await self._refused(delivery, ChatMigrated(new_chat_id))
        moved = await self._store.migrate_chat(delivery.chat_id, new_chat_id)
        log.info("chat %d became supergroup %d: %d alerts moved", delivery.chat_id, new_chat_id, moved)
        if self._on_migrated is not None:
            self._on_migrated(delivery.chat_id, new_chat_id)
        return await self._send(replace(delivery, chat_id=new_chat_id))

    async def _topic_gone(self, delivery: Delivery, exc: TelegramError) -> Outcome:
        """Its forum topic was closed or deleted: it goes to General, saying which topic it was for."""
        thread_id = delivery.thread_id
        assert thread_id is not None
        name = (await self._store.topic_names(delivery.chat_id)).get(thread_id)
        log.info("chat %d: topic %d refused (%s); outbox %s goes to General", delivery.chat_id, thread_id,
                 exc, list(delivery.outbox_ids))
        first, *rest = delivery.messages
        note = Texts(first.language).topic_gone(name, thread_id)
        moved = (replace(first, thread_id=None, text=f"{note}\n{first.text}"),
                 *(replace(m, thread_id=None) for m in rest))
        return await self._send(replace(delivery, messages=moved))

    async def _refused(self, delivery: Delivery, exc: TelegramError) -> Outcome:
        """Telegram will never take this text. Alone, it is dropped; combined, each part is tried alone."""
        if len(delivery.outbox_ids) > 1:
            for single in delivery.split():
                outcome = await self._send(single)
                if outcome is not Outcome.DONE:
                    return outcome
            return Outcome.DONE
        log.error("Telegram refused outbox #%d for chat %d: %s; dropped", delivery.outbox_ids[0], delivery.chat_id, exc)
        await self._store.mark_failed(delivery.outbox_ids, f"refused: {exc}", drop=True)
        self.failed += 1
        MESSAGES_FAILED.labels("refused").inc()
        OUTBOX_PENDING.dec()
        return Outcome.DONE
