"""The outbox's "sent" marks, written in the background (bot.notify.sender).

A message is marked sent once Telegram returned its message_id. Writing each mark in a
transaction of its own held a paid burst up (a write every few milliseconds), so the marks
accepted within MARKS_WAIT share one write; the price is the duplicate window after a crash,
which grows by that much (bot.notify.sender's docstring, docs/design.md).
"""

from __future__ import annotations

import asyncio

from bot.storage.store import AlertStore

# A mark waits at most this long for others to share its transaction, or until this many are
# waiting: in a paid burst, 10 writes a second instead of one every few ms with 32 marks each
# (SQLite: 1.6 ms of CPU per write of 32, 3.4 ms per write of 200).
MARKS_WAIT = 0.1  # seconds
MARKS_BATCH = 200


class SentMarks:
    """Writes "sent" marks in the background: everything accepted since the last write, in one
    transaction, at most `wait` seconds after the first of them (sooner when `batch` are waiting,
    or nothing more is on its way: `now()`). `drain()` before reading the outbox again, so nothing
    accepted is read as pending."""

    def __init__(self, store: AlertStore, *, wait: float = MARKS_WAIT, batch: int = MARKS_BATCH) -> None:
        self._store = store
        self._wait = wait
        self._batch = batch
        self._queue: list[tuple[tuple[int, ...], int]] = []
        self._task: asyncio.Task[None] | None = None
        self._hurry = asyncio.Event()  # write what is queued now: a full batch, or drain()
        self._draining = False

    def add(self, outbox_ids: tuple[int, ...], telegram_message_id: int) -> None:
        self._queue.append((outbox_ids, telegram_message_id))
        if self._task is None or self._task.done():
            if self._task is not None and not self._task.cancelled():
                self._task.exception()  # a failed write's marks are queued again; this one writes them
            self._task = asyncio.create_task(self._write(), name="outbox-marks")
        elif len(self._queue) >= self._batch:
            self._hurry.set()

    def now(self) -> None:
        """Nothing more is on its way: the marks waiting are written without waiting for company.
        Only while a write is pending: set otherwise, it would hurry the next burst's first mark
        into a transaction of its own."""
        if self._task is not None and not self._task.done():
            self._hurry.set()

    async def _write(self) -> None:
        while self._queue:
            if len(self._queue) < self._batch:
                try:  # others accepted meanwhile share the transaction
                    async with asyncio.timeout(self._wait):
                        await self._hurry.wait()
                except TimeoutError:
                    pass
            if not self._draining:
                self._hurry.clear()
            batch, self._queue = self._queue, []
            try:
                await self._store.mark_sent_many(batch)
            except Exception:
                self._queue[:0] = batch  # kept for drain(), which tries again and reports
                raise

    async def drain(self) -> None:
        """Returns once every mark so far is committed; raises if the database refuses them."""
        self._draining = True
        self._hurry.set()  # no waiting for more
        try:
            if self._task is not None:
                task, self._task = self._task, None
                try:
                    await task
                except Exception:  # the same marks are written again just below
                    pass
            if self._queue:
                batch, self._queue = self._queue, []
                try:
                    await self._store.mark_sent_many(batch)
                except Exception:
                    self._queue[:0] = batch
                    raise
        finally:
            self._draining = False
            self._hurry.clear()
