"""Wiring, in one place: the Application, its handlers, its tick job and the services they use."""

from __future__ import annotations

import logging

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter, Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler,
    ContextTypes, MessageHandler, TypeHandler, filters,
)

from bot.i18n import DEFAULT, LANGUAGES
from bot.texts import Texts
from bot.alerts.service import AlertService
from bot.exchange.client import BinanceClient, ClientOptions, ExchangeError
from bot.exchange.feed import PriceFeed
from bot.notify.sender import OutboxSender
from bot.settings import Settings
from bot.storage.db import make_engine, make_sessions
from bot.storage.store import AlertStore
from bot.telegram import guide, handlers
from bot.telegram.buttons import BUTTONS
from bot.telegram.admins import AdminCheck

log = logging.getLogger(__name__)


async def tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The JobQueue job: one all-symbol request, fire what crossed, wake the sender."""
    alerts: AlertService = context.bot_data["alerts"]
    try:
        recorded = await alerts.tick()
    except ExchangeError as exc:
        log.warning("tick without prices: %s", exc)
        alerts.warn_if_stale()
        recorded = 1  # expiry notices may have been recorded before the exchange failed
    if recorded:
        context.bot_data["sender"].wake()


def build_application(settings: Settings) -> Application:
    engine = make_engine(settings.database_url)
    store = AlertStore(make_sessions(engine))
    client = BinanceClient(settings.binance_ws_url, ClientOptions(
        request_timeout=settings.exchange_timeout, weight_warning_share=settings.weight_warning_share,
    ))
    alerts = AlertService(
        store, PriceFeed(client), poll_interval=settings.poll_interval, stale_after=settings.stale_after,
        max_alerts_per_chat=settings.max_alerts_per_chat,
    )

    async def on_start(application: Application) -> None:
        for language in LANGUAGES:  # the menu in each language; English is also the default
            commands = [BotCommand(name, text) for name, text in Texts(language).commands()]
            await application.bot.set_my_commands(commands, language_code=None if language == DEFAULT else language)
        sender = OutboxSender(store, application.bot)
        application.bot_data["sender"] = sender
        sender.start()

    async def on_stop(application: Application) -> None:
        await application.bot_data["sender"].stop()

    async def on_shutdown(application: Application) -> None:
        await client.close()
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
        .post_init(on_start)
        .post_stop(on_stop)
        .post_shutdown(on_shutdown)
        .build()
    )
    application.bot_data["alerts"] = alerts
    application.bot_data["admins"] = AdminCheck(application.bot)
    application.bot_data["admin_ids"] = settings.admin_ids

    if settings.allowed_chat_ids:
        # Runs before every other handler (group -1) and stops the update for other chats.
        application.add_handler(TypeHandler(Update, handlers.only_chats(settings.allowed_chat_ids)), group=-1)
    application.add_handler(CommandHandler("start", handlers.start))
    application.add_handler(CommandHandler("help", handlers.help_command))
    application.add_handler(guide.conversation())  # /alert ARGS at once; /alert alone step by step
    application.add_handler(CommandHandler("alerts", handlers.alerts))
    application.add_handler(CommandHandler("delete", handlers.delete))
    application.add_handler(CommandHandler("price", handlers.price))
    application.add_handler(CommandHandler("pause", handlers.pause))
    application.add_handler(CommandHandler("resume", handlers.resume))
    application.add_handler(CommandHandler("stats", handlers.stats))
    application.add_handler(CommandHandler("language", handlers.language))
    application.add_handler(CallbackQueryHandler(handlers.button, pattern=BUTTONS))
    application.add_handler(MessageHandler(filters.COMMAND, handlers.unknown_command))
    application.add_error_handler(handlers.on_error)

    application.job_queue.run_repeating(
        tick,
        interval=settings.poll_interval,
        first=0,
        name="tick",
        # Never two ticks at once; a late tick is run once, not replayed.
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
    )
    return application


ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
