"""The singleton work of the working process: the tick job, the outbox sender, the market
streams the tick reads, and the daily retention job. bot.runtime.process starts it when this
process takes the work lock, and stops it when the lock is lost or the process ends."""

from __future__ import annotations

import gc
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram.ext import Application, ContextTypes

from bot.exchange.client import ExchangeError, RestrictedLocation
from bot.metrics import TICK_SECONDS
from bot.notify.sender import OutboxSender
from bot.runtime.parts import parts_of
from bot.storage.store import utcnow

log = logging.getLogger(__name__)

RETENTION_EVERY = 86400.0  # seconds: the retention job runs daily
RETENTION_FIRST = 600.0  # seconds after start, out of the way of start-up


async def tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The JobQueue job: one all-symbol request, fire what crossed, wake the sender."""
    still_working = context.job.data if context.job else None  # given by bot.runtime.process
    parts = parts_of(context.application)
    async with context.bot_data["ticking"]:
        if still_working is not None and not await still_working():
            return  # the lock is gone: another process may be working now
        with TICK_SECONDS.time():
            try:
                recorded = await parts.quiet.around(parts.ticker.tick)()  # the Mini App waits meanwhile
            except RestrictedLocation:  # the client logs it, with the remedy, every 10 minutes at most
                parts.ticker.warn_if_stale()
                recorded = 1
            except ExchangeError as exc:
                log.warning("tick without prices: %s", exc)
                parts.ticker.warn_if_stale()
                recorded = 1  # expiry notices may have been recorded before the exchange failed
            except Exception:  # a database that is locked, full or gone: the tick was all or nothing
                log.exception("tick failed; the next one tries again")
                recorded = 1
        sender = context.bot_data.get("sender")
        if recorded and sender is not None:
            sender.wake()


async def prune_old_rows(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The daily JobQueue job: closed alerts and delivered messages older than RETENTION_DAYS go,
    in short transactions (storage.retention), so ticks keep their pace meanwhile."""
    parts = parts_of(context.application)
    days = parts.settings.retention_days
    pruned = await parts.store.prune(utcnow() - timedelta(days=days))
    log.info("retention: deleted %d alerts and %d messages closed more than %d days ago",
             pruned.alerts, pruned.messages, days)


async def start_work(application: Application, still_working: Callable[[], Awaitable[bool]] | None = None) -> None:
    """The singleton work (ticks, the market streams they read, the outbox sender, retention), on
    the working process only: bot.runtime starts it, and gives `still_working`, asked before every tick."""
    parts = parts_of(application)
    if parts.streams is not None:
        await parts.streams.start()
    if parts.ticker.marks is not None:  # mark prices (docs/futures.md)
        await parts.ticker.marks.start()
    allowed = application.bot_data.get("allowed_chats")
    await parts.outbox_api.initialize()
    sender = OutboxSender(parts.store, parts.outbox_api, pacer=parts.pacer, paid=parts.settings.paid_broadcast,
                          on_migrated=allowed.follow if allowed is not None else None,
                          app_links=lambda: application.bot_data.get("app_links"))  # the Mini App (issue 23)
    application.bot_data["sender"] = sender
    sender.start()
    application.job_queue.run_repeating(
        tick,
        interval=parts.settings.poll_interval,
        first=0,
        name="tick",
        data=still_working,
        # Never two ticks at once; a late tick is run once, not replayed.
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
    )
    application.job_queue.run_repeating(
        prune_old_rows, interval=RETENTION_EVERY, first=RETENTION_FIRST, name="retention",
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
    )
    # What is alive now (modules, libraries, the parts) lives as long as the work: frozen out of the
    # collector's full passes, which the garbage of many open Mini Apps triggers every few seconds.
    # They then scan only what came later: a pause of 5-15 ms instead of 120-150 ms that would
    # stretch the tick it lands in (benchmarks/webapp.py, docs/webapp.md). stop_work unfreezes.
    # Collected first, so that no garbage of the start-up is pinned for as long as the work runs.
    gc.collect()
    gc.freeze()


async def stop_work(application: Application) -> None:
    """Lets the tick and the messages in flight finish; what is left waits for the working process."""
    parts = parts_of(application)
    gc.unfreeze()  # what start_work froze may be collected again
    for job in [*application.job_queue.get_jobs_by_name("tick"), *application.job_queue.get_jobs_by_name("retention")]:
        job.schedule_removal()
    async with application.bot_data["ticking"]:  # the tick in flight, if any, finishes
        pass
    parts.ticker.forget_moves()
    sender = application.bot_data.pop("sender", None)
    if sender is not None:
        await sender.stop()
        await parts.outbox_api.shutdown()
    if parts.streams is not None:
        await parts.streams.close()
    if parts.ticker.marks is not None:
        await parts.ticker.marks.close()
    await parts.exchange.close()  # a standby holds no connection to Binance
