"""One `pricealert run` process: which role it plays, and everything that starts and stops with it.

Any number of processes may run on one database. The one holding the work lock (bot.runtime.lock)
is the working process: it ticks, sends the outbox, and in polling mode reads getUpdates (in
webhook mode it registers the webhook). The others are standbys that retry the lock every
LOCK_RETRY seconds. Every process serves the webhook, /healthz and /metrics, and in webhook mode
answers commands, so replicas behind a load balancer share the command load.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Coroutine
from typing import Any

from telegram.error import BadRequest, TelegramError
from telegram.ext import Application

from bot.memory import keep_giving_back, settle_start_up
from bot.metrics import ACTIVE_ALERTS, MEMORY_RETURNED, OUTBOX_PENDING, WORKING
from bot.runtime.health import HealthState, judge
from bot.runtime.lock import WorkLock, migration_lock, work_lock
from bot.runtime.startup import TokenRefused, backoff_delays, wait_for_telegram
from bot.settings import Settings
from bot.runtime.compose import build_application, build_http
from bot.runtime.parts import parts_of
from bot.runtime.work import start_work, stop_work
from bot.telegram.app import ALLOWED_UPDATES

log = logging.getLogger("pricealert")

LOCK_RETRY = 0.5  # seconds between a standby's tries: takeover well within 3 s of a kill -9
STANDBY_LINE = "standby: another process is working on this database"
LOCK_COMPLAINTS_EVERY = 60.0  # seconds between log lines while the database cannot be reached
STATS_EVERY = 60.0  # seconds; the active-alerts gauge costs a count over the alerts table
HEALTH_DB_TIMEOUT = 3.0


async def migrate(database_url: str) -> None:
    """Alembic to head, one process at a time: the others wait, then find nothing to do."""
    from bot.storage import migrate as alembic

    async with migration_lock(database_url):
        await asyncio.to_thread(alembic.upgrade, database_url)


class Replica:
    def __init__(self, settings: Settings, application: Application, lock: WorkLock) -> None:
        self._settings = settings
        self._application = application
        self._lock = lock
        self.role = "standby"
        self._working_since = 0.0
        self._lost = asyncio.Event()
        self._updates_task: asyncio.Task[None] | None = None
        self.webhook_refused = False  # /healthz says 503 until a setWebhook succeeds

    async def still_working(self) -> bool:
        """Asked before every tick: a lost lock ends the work before the tick, not after."""
        if self.role != "working":
            return False
        if await self._lock.still_held():
            return True
        if not self._lost.is_set():
            log.warning("the work lock is lost: stopping ticks and sending, back to standby")
            self._lost.set()
        return False

    async def serve(self, stop: asyncio.Event) -> None:
        """Standby until the lock is free, working until stopped or the lock is lost; again."""
        announced = False
        complained_at = -LOCK_COMPLAINTS_EVERY
        while not stop.is_set():
            try:
                acquired = await self._lock.try_acquire()
            except Exception as exc:  # database unreachable: stay standby, try again
                if time.monotonic() - complained_at >= LOCK_COMPLAINTS_EVERY:
                    complained_at = time.monotonic()
                    log.warning("cannot reach the database for the work lock: %s", exc)
                acquired = False
            if not acquired:
                if not announced:
                    log.info(STANDBY_LINE)
                    announced = True
                await _wait(stop, LOCK_RETRY)
                continue
            announced = False
            self._lost.clear()
            self.role, self._working_since = "working", time.time()
            WORKING.set(1)
            log.info("working: this process holds the lock; it ticks and sends")
            await start_work(self._application, self.still_working)
            self._updates_task = asyncio.create_task(self._receive_updates(), name="updates")
            watchdog = asyncio.create_task(self._watch_lock(), name="lock-watchdog")
            await _first(stop.wait(), self._lost.wait())
            watchdog.cancel()
            await self._step_down()

    async def _watch_lock(self) -> None:
        """Between ticks too (POLL_INTERVAL may be long): the sender stops soon after a loss."""
        while True:
            await asyncio.sleep(max(self._settings.poll_interval, 1.0))
            await self.still_working()

    async def _step_down(self) -> None:
        """Stops the singleton work (what is in flight finishes), then releases the lock."""
        self.role = "standby"
        WORKING.set(0)
        if self._updates_task is not None:
            self._updates_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # its errors are logged there
                await self._updates_task
        updater = self._application.updater
        if updater is not None and updater.running:
            try:
                await updater.stop()
            except Exception as exc:  # stopped halfway through its start: nothing left to stop
                log.warning("stopping getUpdates: %s", exc)
        await stop_work(self._application)
        await self._lock.release()
        log.info("released the work lock")

    async def _receive_updates(self) -> None:
        """Polling: getUpdates (python-telegram-bot deletes any webhook first). Webhook: setWebhook."""
        bot = self._application.bot
        if not self._settings.webhook_url:
            assert self._application.updater is not None
            try:
                await self._application.updater.start_polling(allowed_updates=ALLOWED_UPDATES, bootstrap_retries=-1)
            except Exception as exc:
                log.error("cannot start reading getUpdates: %s", exc)
            return
        for delay in backoff_delays():
            try:
                await bot.set_webhook(self._settings.webhook_url, secret_token=self._settings.webhook_token(),
                                      allowed_updates=ALLOWED_UPDATES)
                log.info("webhook set: Telegram posts updates to %s", self._settings.webhook_url)
                self.webhook_refused = False
                return
            except BadRequest as exc:  # Telegram will not take this URL: retrying cannot help
                log.error("Telegram refused WEBHOOK_URL %s: %s; no updates arrive, /healthz says 503",
                          self._settings.webhook_url, exc)
                self.webhook_refused = True
                return
            except TelegramError as exc:
                log.warning("cannot set the webhook (%s); trying again in %g s", exc, delay)
            await asyncio.sleep(delay)

    async def health(self) -> tuple[int, str]:
        parts = parts_of(self._application)
        store = parts.store
        try:
            active: bool | None = await asyncio.wait_for(store.has_active_alerts(), HEALTH_DB_TIMEOUT)
            database_ok = True
        except Exception:
            active, database_ok = None, False
        exchange = parts.exchange
        state = HealthState(
            role=self.role, database_ok=database_ok, active_alerts=active, prices_age=parts.ticker.prices_age(),
            working_for=time.time() - self._working_since if self.role == "working" else 0.0,
            restricted=exchange.restricted is not None,  # Binance answered 451/403 to the handshake
            webhook_refused=self.webhook_refused, mark_prices=parts.ticker.mark_status(),
        )
        return judge(state, self._settings.stale_after)

    async def refresh_gauges(self) -> None:
        """Database-wide figures, at most once a minute on every process."""
        while True:
            try:
                figures = await parts_of(self._application).store.stats()
                ACTIVE_ALERTS.set(figures["active_alerts"])
                OUTBOX_PENDING.set(figures["messages_pending"])
            except Exception as exc:
                log.warning("cannot read the figures for /metrics: %s", exc)
            await asyncio.sleep(STATS_EVERY)


async def run(settings: Settings) -> int:
    """The whole life of `pricealert run`; returns the exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    application = build_application(settings)
    try:
        if not await wait_for_telegram(application, stop):
            return 0
    except TokenRefused as exc:
        log.error("%s", exc)
        return 2
    try:
        try:
            await migrate(settings.database_url)
        except Exception as exc:  # an unreachable or unwritable database
            log.error("cannot migrate the database at %s: %s", _safe_url(settings.database_url), exc)
            return 1
        return await _serve(settings, application, stop)
    finally:
        if application.running:
            await application.stop()
        if application.post_stop:
            await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)


async def _serve(settings: Settings, application: Application, stop: asyncio.Event) -> int:
    replica = Replica(settings, application, work_lock(settings.database_url))
    if application.post_init:
        await application.post_init(application)
    await application.start()  # handlers answer updates, from getUpdates or the webhook

    http = build_http(settings, application, replica.health)
    try:
        await http.start()
    except OSError as exc:
        log.error("cannot listen: %s", exc)
        await http.stop()
        return 1
    settle_start_up()
    gauges = asyncio.create_task(replica.refresh_gauges(), name="gauges")
    memory = asyncio.create_task(keep_giving_back(settings.memory_trim_interval, MEMORY_RETURNED.observe),
                                 name="memory")
    mode = f"webhook {settings.webhook_url}" if settings.webhook_url else "polling Telegram"
    log.info("pricealert starting: %s, polling Binance every %g s", mode, settings.poll_interval)
    try:
        await replica.serve(stop)
    finally:
        gauges.cancel()
        memory.cancel()
        await http.stop()
    return 0


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _first(*waits: Coroutine[Any, Any, Any]) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
