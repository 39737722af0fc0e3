"""Retention benchmark: does pruning old rows leave the tick its pace?

Builds --live active alerts (as benchmarks.tick does) and --old rows past retention (70 % closed
alerts, 30 % sent or dropped messages), plus some recent closed ones that must stay. Then runs
the tick's queries every --interval seconds, first alone, then while `AlertStore.prune` deletes
the old rows in batches of 1,000, and prints the tick's durations and the gaps between tick
starts (p50/p99/max), and how fast pruning went.

    python -m benchmarks.retention --database URL [--live 100000 --old 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, insert, select, text

from benchmarks.tick import BASE, build_rows, symbol_names
from bot.alerts.rules import Direction
from bot.notify.notices import render_expired, render_fired
from bot.storage import migrate
from bot.storage.db import make_engine, make_sessions
from bot.storage.models import Alert, AlertState, MessageKind, OutboxMessage, OutboxState
from bot.storage.retention import BATCH, PAUSE
from bot.storage.store import AlertStore, utcnow

CHUNK = 20_000
RETENTION = timedelta(days=90)
RECENT_CLOSED = 10_000  # closed within retention: kept


def old_alert_rows(count: int, symbols: list[str], rng: random.Random, age: timedelta) -> Iterator[list[dict]]:
    now = utcnow()
    states = [AlertState.FIRED, AlertState.DELETED, AlertState.EXPIRED, AlertState.ENDED]
    for start in range(0, count, CHUNK):
        rows = []
        for i in range(start, min(count, start + CHUNK)):
            closed = now - age - timedelta(minutes=rng.randint(0, 60 * 24 * 200))
            rows.append({
                "chat_id": 1000 + i // 5, "symbol": symbols[i % len(symbols)], "direction": Direction.UP,
                "level": BASE + 10, "note": "", "state": states[i % 4], "created_at": closed - timedelta(days=3),
                "fired_at": closed, "closed_at": closed,
            })
        yield rows


def old_message_rows(count: int, rng: random.Random, age: timedelta) -> Iterator[list[dict]]:
    now = utcnow()
    for start in range(0, count, CHUNK):
        rows = []
        for i in range(start, min(count, start + CHUNK)):
            at = now - age - timedelta(minutes=rng.randint(0, 60 * 24 * 200))
            dropped = i % 10 == 0
            rows.append({
                "chat_id": 1000 + i // 3, "alert_id": None, "kind": MessageKind.FIRED,
                "text": "🔔 <b>S0001USDT</b> rose to <b>110</b> (your level 110, alert #1)",
                "state": OutboxState.DROPPED if dropped else OutboxState.SENT, "created_at": at,
                "sent_at": None if dropped else at, "telegram_message_id": None if dropped else i, "attempts": 1,
            })
        yield rows


async def load(database_url: str, live: int, old: int, symbols: list[str]) -> None:
    await asyncio.to_thread(migrate.downgrade, database_url, "base")
    await asyncio.to_thread(migrate.upgrade, database_url)
    engine = make_engine(database_url)
    rng = random.Random(7)
    old_alerts = old * 7 // 10
    async with engine.begin() as connection:
        rows = build_rows(live, symbols, rng)
        for start in range(0, len(rows), CHUNK):
            await connection.execute(insert(Alert), rows[start:start + CHUNK])
        for chunk in old_alert_rows(old_alerts, symbols, rng, RETENTION + timedelta(days=1)):
            await connection.execute(insert(Alert), chunk)
        for chunk in old_alert_rows(RECENT_CLOSED, symbols, rng, timedelta(days=-200)):  # closed lately
            for row in chunk:
                row["closed_at"] = row["fired_at"] = utcnow() - timedelta(days=rng.randint(0, 80))
            await connection.execute(insert(Alert), chunk)
        for chunk in old_message_rows(old - old_alerts, rng, RETENTION + timedelta(days=1)):
            await connection.execute(insert(OutboxMessage), chunk)
        await connection.execute(text("ANALYZE alerts" if engine.dialect.name == "postgresql" else "ANALYZE"))
        if engine.dialect.name == "postgresql":
            await connection.execute(text("ANALYZE outbox"))
    await engine.dispose()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def summary(name: str, durations: list[float], gaps: list[float]) -> str:
    return (f"{name}: ticks={len(durations)} tick_ms p50={statistics.median(durations):.1f} "
            f"p99={percentile(durations, 0.99):.1f} max={max(durations):.1f} | "
            f"gap_s p50={statistics.median(gaps):.3f} p99={percentile(gaps, 0.99):.3f} max={max(gaps):.3f}")


async def tick_loop(store: AlertStore, prices: dict[str, Decimal], interval: float, stop: asyncio.Event,
                    min_ticks: int) -> tuple[list[float], list[float]]:
    """Every query of a tick (as benchmarks.tick's full tick), started every `interval` seconds
    like the JobQueue job (a late tick runs at once, never two at a time)."""
    durations: list[float] = []
    starts: list[float] = []
    next_at = time.perf_counter()
    while not stop.is_set() or len(durations) < min_ticks:
        delay = next_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        started = time.perf_counter()
        starts.append(started)
        await store.expire_due(render_expired)
        await store.end_cooldowns()
        await store.has_active_alerts()
        await store.start_cooldowns(prices)
        await store.fire_crossed(prices, render_fired)
        await store.watched_windows()
        durations.append((time.perf_counter() - started) * 1000)
        next_at = max(next_at + interval, time.perf_counter())
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    return durations, gaps


async def run(database_url: str, live: int, old: int, interval: float, baseline_ticks: int, skip_load: bool,
              pause: float, batch: int) -> None:
    symbols = symbol_names(600)
    if not skip_load:
        started = time.perf_counter()
        await load(database_url, live, old, symbols)
        print(f"loaded {live} live alerts, {old} old rows, {RECENT_CLOSED} recent closed alerts "
              f"in {time.perf_counter() - started:.0f} s", flush=True)
    engine = make_engine(database_url)
    store = AlertStore(make_sessions(engine))
    prices = {s: BASE for s in symbols}  # nothing fires: the tick's cost is its queries

    stop = asyncio.Event()
    stop.set()
    durations, gaps = await tick_loop(store, prices, interval, stop, baseline_ticks)
    print(summary("alone        ", durations, gaps), flush=True)

    stop = asyncio.Event()
    ticking = asyncio.create_task(tick_loop(store, prices, interval, stop, 5))
    started = time.perf_counter()
    pruned = await store.prune(utcnow() - RETENTION, batch=batch, pause=pause)
    prune_s = time.perf_counter() - started
    stop.set()
    busy_durations, busy_gaps = await ticking
    print(summary("while pruning", busy_durations, busy_gaps), flush=True)
    async with make_sessions(engine)() as session:
        left_alerts = (await session.execute(select(func.count()).select_from(Alert))).scalar_one()
        left_messages = (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
    print(f"pruned {pruned.alerts} alerts + {pruned.messages} messages in {prune_s:.1f} s "
          f"({(pruned.alerts + pruned.messages) / prune_s:,.0f} rows/s, batches of {batch}, pause {pause:g} s); "
          f"left {left_alerts} alerts, {left_messages} messages; "
          f"tick p99 ratio {percentile(busy_durations, 0.99) / percentile(durations, 0.99):.2f}x", flush=True)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--live", type=int, default=100_000)
    parser.add_argument("--old", type=int, default=1_000_000)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between ticks (POLL_INTERVAL)")
    parser.add_argument("--baseline-ticks", type=int, default=120)
    parser.add_argument("--pause", type=float, default=PAUSE, help="seconds between pruning batches")
    parser.add_argument("--batch", type=int, default=BATCH, help="rows per transaction (at most 1000)")
    parser.add_argument("--database", default="", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        asyncio.run(run(url, args.live, args.old, args.interval, args.baseline_ticks, args.skip_load, args.pause,
                        args.batch))


if __name__ == "__main__":
    main()
