"""The lock that makes one process the working one, and the lock around migrations.

PostgreSQL: a session-level advisory lock held on a dedicated connection. The server drops it
the moment that connection ends (kill -9, crash, a terminated backend), and TCP keepalives end
a connection to a machine that is gone. SQLite: an exclusive `flock` on a file beside the
database, which the kernel drops when the process dies (processes on one machine only).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import asyncpg
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# Advisory lock keys: any two bigints that nothing else in the database uses.
WORK_KEY = 0x70726963_65616C31  # "pricealert" work lock
MIGRATE_KEY = 0x70726963_65616C32  # held while one process migrates
CHECK_TIMEOUT = 2.0  # seconds; a lock connection slower than this to answer counts as lost


class WorkLock(Protocol):
    async def try_acquire(self) -> bool:
        """Takes the lock if it is free; never waits for it."""

    async def still_held(self) -> bool:
        """Cheap check, made before every tick; False once the lock is gone."""

    async def release(self) -> None: ...


def work_lock(database_url: str) -> WorkLock:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresLock(postgres_dsn(database_url), WORK_KEY)
    return FileLock(sqlite_lock_path(database_url, ".lock"))


def postgres_dsn(database_url: str) -> str:
    """The URL asyncpg takes: SQLAlchemy's without the driver name."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlite_lock_path(database_url: str, suffix: str) -> Path | None:
    """`pricealert.db` → `pricealert.db.lock`; None for an in-memory database (one process only)."""
    database = make_url(database_url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database + suffix).resolve()


class FileLock:
    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._fd: int | None = None

    async def try_acquire(self) -> bool:
        if self._path is None:
            return True
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # who works, for an operator who looks
        self._fd = fd
        return True

    async def still_held(self) -> bool:
        return self._path is None or self._fd is not None

    async def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class PostgresLock:
    def __init__(self, dsn: str, key: int) -> None:
        self._dsn = dsn
        self._key = key
        self._connection: asyncpg.Connection | None = None
        self._busy = asyncio.Lock()  # one query at a time on the connection (ticks and the watchdog both ask)

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self._dsn, timeout=CHECK_TIMEOUT * 5, server_settings={
            # The test suite and operators find this process's lock connection by its name.
            "application_name": f"pricealert-lock-{os.getpid()}",
            # A machine that vanished is noticed by the server within about 20 s.
            "tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "2",
        })

    async def try_acquire(self) -> bool:
        async with self._busy:
            if self._connection is None or self._connection.is_closed():
                self._connection = await self._connect()
            return bool(await self._connection.fetchval(
                "SELECT pg_try_advisory_lock($1)", self._key, timeout=CHECK_TIMEOUT))

    async def still_held(self) -> bool:
        async with self._busy:
            connection = self._connection
            if connection is None or connection.is_closed():
                return False
            try:
                await connection.fetchval("SELECT 1", timeout=CHECK_TIMEOUT)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
                log.warning("lost the lock's connection to the database: %s", exc or type(exc).__name__)
                await self._discard()
                return False
            return True

    async def release(self) -> None:
        async with self._busy:
            connection = self._connection
            if connection is None or connection.is_closed():
                return
            try:
                await connection.fetchval("SELECT pg_advisory_unlock($1)", self._key, timeout=CHECK_TIMEOUT)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
                pass  # closing the connection releases it anyway
            await self._discard()

    async def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), CHECK_TIMEOUT)
            connection.terminate()


@contextlib.asynccontextmanager
async def migration_lock(database_url: str) -> AsyncIterator[None]:
    """Only one process migrates at a time; the next one finds the schema at head and does nothing."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        connection = await asyncpg.connect(postgres_dsn(database_url), timeout=30)
        try:
            await connection.execute("SELECT pg_advisory_lock($1)", MIGRATE_KEY)
            yield
        finally:
            connection.terminate()  # ends the session, and with it the lock
        return
    path = sqlite_lock_path(database_url, ".migrate.lock")
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the file drops its flock
