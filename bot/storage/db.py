"""Engine and sessions.

SQLite gets WAL so commands and ticks do not block each other, and real transactions: Python's
sqlite3 opens a transaction by itself only before INSERT/UPDATE/DELETE, so a statement starting
with `WITH` (the tick's firing) would commit on its own. SQLAlchemy's documented recipe turns the
driver's own BEGIN off and emits BEGIN from the engine's `begin` event; writers say
BEGIN IMMEDIATE, so they take the write lock first instead of failing on a lock upgrade.

SQLite's pool never overflows: a burst of commands waits for one of its POOL_SIZE connections.
SQLAlchemy would otherwise open up to ten more and close each after one use, and on aiosqlite a
connection is a thread with its own page cache and prepared statements: such churn, with a malloc
heap per thread (now one for all, bot/memory.py), kept the process growing (benchmarks/memory.py).
SQLite has one writer anyway: more connections would let more readers run side by side, but
writers would queue on its lock instead of in the pool.

Each connection keeps its prepared statements, about 10 KiB each, for the life of the process.
Python's sqlite3 keeps up to 128 per connection; the bot runs about 110 different statements, so
over hours every pooled connection came to hold nearly all of them (5.5 MiB, and RSS growing by
that much after start-up). STATEMENT_CACHE keeps each connection's most recently used: a tick's
few statements stay prepared, and preparing a rare one again takes about 0.1 ms.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine, AsyncSession


POOL_SIZE = 5  # SQLite's connections (SQLAlchemy's default size, without its overflow)
STATEMENT_CACHE = 32  # prepared statements kept by each SQLite connection (sqlite3's default: 128)
WRITER = "pricealert_writer"  # an execution option: this engine's transactions write


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable with WAL except on power loss
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
    dbapi_connection.isolation_level = None  # the driver emits no BEGIN; _sqlite_begin does


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(WRITER, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine for `url`; on SQLite with the pool, statement cache and pragmas this module
    describes, unless the caller or the URL chose otherwise."""
    parsed = make_url(url)
    in_memory = parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory"
    pool_chosen = "poolclass" in kwargs or "pool" in kwargs
    if parsed.get_backend_name() == "sqlite":
        if "cached_statements" not in parsed.query:
            kwargs["connect_args"] = {"cached_statements": STATEMENT_CACHE, **(kwargs.get("connect_args") or {})}
        if not in_memory and not pool_chosen:
            kwargs = {"pool_size": POOL_SIZE, "max_overflow": 0, **kwargs}
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def writer_sessions(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Sessions like `sessions`, whose transactions begin as writers (BEGIN IMMEDIATE on SQLite)."""
    engine: AsyncEngine = sessions.kw["bind"]
    return async_sessionmaker(engine.execution_options(**{WRITER: True}), expire_on_commit=False)
