"""The outbox's sent marks (bot.notify.sent_marks): what Telegram accepted is marked sent in few
transactions, never lost, and never later than MARKS_WAIT plus one write (the duplicate window
after a crash). A store that records its writes stands in for the database."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.notify.sent_marks import SentMarks

Mark = tuple[tuple[int, ...], int]


class RecordingStore:
    def __init__(self, failures: int = 0) -> None:
        self.writes: list[tuple[float, list[Mark]]] = []
        self.failures = failures

    async def mark_sent_many(self, marks: list[Mark]) -> None:
        await asyncio.sleep(0)  # a write yields, as the database does
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database is locked")
        self.writes.append((time.monotonic(), list(marks)))

    def written(self) -> list[int]:
        return [ids[0] for _, marks in self.writes for ids, _ in marks]


async def until(condition, timeout: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.005)


async def test_marks_accepted_together_share_one_write_within_the_wait() -> None:
    store = RecordingStore()
    marks = SentMarks(store, wait=0.1, batch=200)  # type: ignore[arg-type]
    started = time.monotonic()
    for n in range(5):
        marks.add((n,), 1000 + n)
    await until(lambda: store.writes)
    assert [len(batch) for _, batch in store.writes] == [5]
    assert store.writes[0][0] - started < 0.1 + 0.5  # the wait, and no more than a loaded machine adds


async def test_a_full_batch_is_written_at_once() -> None:
    store = RecordingStore()
    marks = SentMarks(store, wait=30.0, batch=3)  # type: ignore[arg-type]
    for n in range(3):
        marks.add((n,), n)
    await until(lambda: store.written() == [0, 1, 2])  # long before the 30 s wait


async def test_drain_writes_what_waits_at_once_and_keeps_what_a_failed_write_held() -> None:
    store = RecordingStore(failures=1)
    marks = SentMarks(store, wait=30.0, batch=200)  # type: ignore[arg-type]
    marks.add((1, 2), 501)  # a combined message: two outbox rows, one Telegram message
    marks.add((3,), 502)
    await asyncio.wait_for(marks.drain(), 2.0)  # the first write fails: drain writes them again
    assert [marks for _, marks in store.writes] == [[((1, 2), 501), ((3,), 502)]]


async def test_hurrying_with_nothing_pending_does_not_split_the_next_burst() -> None:
    store = RecordingStore()
    marks = SentMarks(store, wait=0.1, batch=200)  # type: ignore[arg-type]
    marks.now()  # the sender had nothing more in flight, and nothing was waiting
    marks.add((1,), 1)
    await asyncio.sleep(0.02)  # the next answer comes a little later, as answers do
    marks.add((2,), 2)
    await until(lambda: len(store.written()) == 2)
    assert [len(batch) for _, batch in store.writes] == [2]  # before: the first mark went alone


@pytest.mark.parametrize("pending", [True, False])
async def test_now_writes_what_is_waiting_without_waiting_for_company(pending: bool) -> None:
    store = RecordingStore()
    marks = SentMarks(store, wait=30.0, batch=200)  # type: ignore[arg-type]
    if pending:
        marks.add((7,), 7)
        await asyncio.sleep(0.01)
    marks.now()
    if not pending:
        marks.add((7,), 7)
        marks.now()
    await until(lambda: store.written() == [7])
