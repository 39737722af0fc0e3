"""Wiring, in one place: the Application, its handlers, its tick job and the services they use."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from collections.abc import Awaitable, Callable

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter, Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler, Defaults,
    ContextTypes, MessageHandler, TypeHandler, filters,
)

from bot.i18n import DEFAULT, LANGUAGES
from bot.metrics import TICK_SECONDS
from bot.texts import Texts
from bot.alerts.service import AlertService
from bot.exchange.client import BinanceClient, ClientOptions, ExchangeError, RestrictedLocation
from bot.exchange.feed import PriceFeed
from bot.exchange.streams import KlineStreams, StreamOptions
from bot.alerts.extremes import ExtremesTracker
from bot.notify.sender import OutboxSender
from bot.settings import Settings
from bot.storage.db import make_engine, make_sessions
from bot.storage.store import AlertStore
from bot.telegram import charts as chart_handlers, guide, handlers
from bot.telegram.buttons import BUTTONS, CHART_BUTTONS
from bot.alerts.charts import ChartService
from bot.exchange.rest import KlineClient
from bot.telegram.admins import AdminCheck
from bot.telegram.allowlist import AllowedChats
from bot.telegram import backup, supergroups
from bot.telegram.flood import CommandLimiter, flood_guard
from bot.storage.store import utcnow

log = logging.getLogger(__name__)


async def tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The JobQueue job: one all-symbol request, fire what crossed, wake the sender."""
    still_working = context.job.data if context.job else None  # given by bot.runtime
    async with context.bot_data["ticking"]:
        if still_working is not None and not await still_working():
            return  # the lock is gone: another process may be working now
        alerts: AlertService = context.bot_data["alerts"]
        with TICK_SECONDS.time():
            try:
                recorded = await alerts.tick()
            except RestrictedLocation:  # the client logs it, with the remedy, every 10 minutes at most
                alerts.warn_if_stale()
                recorded = 1
            except ExchangeError as exc:
                log.warning("tick without prices: %s", exc)
                alerts.warn_if_stale()
                recorded = 1  # expiry notices may have been recorded before the exchange failed
            except Exception:  # a database that is locked, full or gone: the tick was all or nothing
                log.exception("tick failed; the next one tries again")
                recorded = 1
        sender = context.bot_data.get("sender")
        if recorded and sender is not None:
            sender.wake()


RETENTION_EVERY = 86400.0  # seconds: the retention job runs daily
RETENTION_FIRST = 600.0  # seconds after start, out of the way of start-up


async def prune_old_rows(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The daily JobQueue job: closed alerts and delivered messages older than RETENTION_DAYS go,
    in short transactions (storage.retention), so ticks keep their pace meanwhile."""
    days = context.bot_data["retention_days"]
    pruned = await context.bot_data["store"].prune(utcnow() - timedelta(days=days))
    log.info("retention: deleted %d alerts and %d messages closed more than %d days ago",
             pruned.alerts, pruned.messages, days)


async def start_work(application: Application, still_working: Callable[[], Awaitable[bool]] | None = None) -> None:
    """The singleton work (ticks, the market streams they read, the outbox sender, retention), on
    the working process only: bot.runtime starts it, and gives `still_working`, asked before every tick."""
    if application.bot_data["streams"] is not None:
        await application.bot_data["streams"].start()
    allowed = application.bot_data.get("allowed_chats")
    sender = OutboxSender(application.bot_data["store"], application.bot,
                          on_migrated=allowed.follow if allowed is not None else None)
    application.bot_data["sender"] = sender
    sender.start()
    application.job_queue.run_repeating(
        tick,
        interval=application.bot_data["poll_interval"],
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


async def stop_work(application: Application) -> None:
    """Lets the tick and the messages in flight finish; what is left waits for the working process."""
    for job in [*application.job_queue.get_jobs_by_name("tick"), *application.job_queue.get_jobs_by_name("retention")]:
        job.schedule_removal()
    async with application.bot_data["ticking"]:
        pass
    application.bot_data["alerts"].forget_moves()
    sender = application.bot_data.pop("sender", None)
    if sender is not None:
        await sender.stop()
    if application.bot_data["streams"] is not None:
        await application.bot_data["streams"].close()
    await application.bot_data["exchange"].close()  # a standby holds no connection to Binance


def build_application(settings: Settings) -> Application:
    engine = make_engine(settings.database_url)
    store = AlertStore(make_sessions(engine))
    # REST and WebSocket share the IP's weight: after a 429/418 on either, neither sends.
    client = BinanceClient(settings.binance_ws_url, ClientOptions(
        request_timeout=settings.exchange_timeout, weight_warning_share=settings.weight_warning_share,
    ), shared_block=lambda: klines.rate_limited_until)
    # Wicks between checks: one market-stream reader feeding the extremes tracker the tick uses.
    extremes = ExtremesTracker()
    streams = KlineStreams(settings.binance_stream_url, extremes, StreamOptions(
        open_timeout=settings.exchange_timeout,
        silence_after=max(5 * settings.poll_interval, 3.0),  # a few ticks whose prices moved, and no kline
    )) if settings.binance_stream_url else None
    if streams is None:
        log.info("BINANCE_STREAM_URL is empty: wicks between checks are not watched; alerts fire from checked prices")
    alerts = AlertService(
        store, PriceFeed(client), poll_interval=settings.poll_interval, stale_after=settings.stale_after,
        max_alerts_per_chat=settings.max_alerts_per_chat, streams=streams, extremes=extremes if streams else None,
        allowed_chat_ids=settings.allowed_chat_ids, symbol_gone_after=settings.symbol_gone_after,
    )
    klines = KlineClient(  # charts wait when ticks must, and ticks when charts must (see client above)
        settings.binance_rest_url, timeout=settings.exchange_timeout,
        weight_warning_share=settings.weight_warning_share, shared_block=lambda: client.blocked_until,
    )
    charts = ChartService(klines, store)

    async def on_start(application: Application) -> None:
        for language in LANGUAGES:  # the menu in each language; English is also the default
            commands = [BotCommand(name, text) for name, text in Texts(language).commands()]
            await application.bot.set_my_commands(commands, language_code=None if language == DEFAULT else language)

    async def on_stop(application: Application) -> None:
        await stop_work(application)

    async def on_shutdown(application: Application) -> None:
        await client.close()
        await charts.close()
        await engine.dispose()

    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        # Telegram's flood limits: about 30 messages a second overall, 20 a minute per group.
        # One message every 1/28 s, with no burst, stays under 30 in any one-second window
        # (the default allows a burst of 30 on top of the rate). RetryAfter is retried.
        .rate_limiter(AIORateLimiter(overall_max_rate=1, overall_time_period=1 / 28, max_retries=3))
        .concurrent_updates(True)  # a command waiting on the exchange does not hold up others
        # Answers in groups reply to the command; many groups run a bot that deletes commands at
        # once, and Telegram refuses a reply to a deleted message unless this is set.
        .defaults(Defaults(allow_sending_without_reply=True))
        .post_init(on_start)
        .post_stop(on_stop)
        .post_shutdown(on_shutdown)
        .build()
    )
    application.bot_data["alerts"] = alerts
    application.bot_data.update(store=store, exchange=client, poll_interval=settings.poll_interval, ticking=asyncio.Lock(),
                                streams=streams)
    application.bot_data["charts"] = charts
    application.bot_data["admins"] = AdminCheck(application.bot)
    application.bot_data["admin_ids"] = settings.admin_ids
    application.bot_data["retention_days"] = settings.retention_days

    if settings.allowed_chat_ids:
        # Runs before every other handler (group -2) and stops the update for other chats, which
        # are refused once a minute at most; an allowed group's supergroup is let in (allowlist).
        allowed = application.bot_data["allowed_chats"] = AllowedChats(settings.allowed_chat_ids)
        application.add_handler(TypeHandler(Update, handlers.only_chats(allowed)), group=-2)
    # Then (group -1) the flood guard: a chat over COMMANDS_PER_MINUTE is answered once, then ignored.
    application.add_handler(TypeHandler(Update, flood_guard(
        CommandLimiter(settings.commands_per_minute), settings.admin_ids, handlers.texts_for)), group=-1)
    application.add_handler(MessageHandler(supergroups.MIGRATION, supergroups.chat_migrated))
    application.add_handler(CommandHandler("start", handlers.start))
    application.add_handler(CommandHandler("help", handlers.help_command))
    application.add_handlers(guide.handlers())  # /alert ARGS at once; /alert alone step by step; /cancel
    application.add_handler(CommandHandler("alerts", handlers.alerts))
    application.add_handler(CommandHandler("delete", handlers.delete))
    application.add_handler(CommandHandler("price", handlers.price))
    application.add_handler(CommandHandler("chart", chart_handlers.chart))
    application.add_handler(CallbackQueryHandler(chart_handlers.chart_button, pattern=CHART_BUTTONS))
    application.add_handler(CommandHandler("pause", handlers.pause))
    application.add_handler(CommandHandler("resume", handlers.resume))
    application.add_handler(CommandHandler("stats", handlers.stats))
    application.add_handler(CommandHandler("language", handlers.language))
    application.add_handler(CommandHandler("export", backup.export))
    application.add_handler(CommandHandler("import", backup.import_file))
    application.add_handler(MessageHandler(backup.IMPORT_CAPTION, backup.import_file))
    application.add_handler(CallbackQueryHandler(handlers.button, pattern=BUTTONS))
    application.add_handler(MessageHandler(filters.COMMAND, handlers.unknown_command))
    application.add_error_handler(handlers.on_error)

    return application


ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
