"""The Telegram side of the wiring: the Application, its rate limiter and its handlers, handed the
services they call (bot.runtime.compose builds those, and bot.runtime.work runs the tick)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import BotCommand, Update
from telegram.ext import (
    Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler, Defaults,
    MessageHandler, TypeHandler, filters,
)

from bot.alerts.charts import ChartService
from bot.alerts.service import AlertService
from bot.i18n import DEFAULT, LANGUAGES
from bot.notify.pacing import Pacer
from bot.settings import Settings
from bot.storage.store import AlertStore
from bot.telegram import backup, edit, futures, guide, handlers, supergroups, topics
from bot.telegram import charts as chart_handlers
from bot.telegram.admins import AdminCheck
from bot.telegram.allowlist import AllowedChats
from bot.telegram.buttons import BUTTONS, CHART_BUTTONS
from bot.telegram.flood import flood_guard
from bot.texts import Texts
from bot.texts.webapp import WebAppTexts
from bot.webapp.links import AppLinks, set_menu_button
from bot.limits import CommandLimiter

log = logging.getLogger(__name__)


def make_application(
    settings: Settings, *, alerts: AlertService, store: AlertStore, charts: ChartService,
    limiter: CommandLimiter, allowed: AllowedChats | None, links: AppLinks | None,
    post_stop: Callable[[Application], Awaitable[None]], post_shutdown: Callable[[Application], Awaitable[None]],
    pacer: Pacer | None = None,
) -> Application:
    """The Application and its handlers, handed the services they call (bot.runtime.compose builds them)."""

    async def on_start(application: Application) -> None:
        for language in LANGUAGES:  # the menu in each language; English is also the default
            commands = [BotCommand(name, text) for name, text in Texts(language).commands()]
            await application.bot.set_my_commands(commands, language_code=None if language == DEFAULT else language)
        if links is not None:  # the Mini App (issue 23): the menu button; "Open chart" buttons use `links`
            await set_menu_button(application.bot, settings.webapp_url, WebAppTexts().menu_button())

    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        # Telegram's flood limits, 30 messages in any second overall and 20 a minute per group,
        # counted once for commands and the outbox (bot.notify.pacing). RetryAfter is retried.
        .rate_limiter(pacer or Pacer(max_retries=3))
        .concurrent_updates(True)  # a command waiting on the exchange does not hold up others
        # Answers in groups reply to the command; many groups run a bot that deletes commands at
        # once, and Telegram refuses a reply to a deleted message unless this is set.
        .defaults(Defaults(allow_sending_without_reply=True))
        .post_init(on_start)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build()
    )
    # What handlers reach through context.bot_data: the services, and who may change a group's alerts.
    application.bot_data.update(alerts=alerts, store=store, charts=charts, admins=AdminCheck(application.bot),
                                admin_ids=settings.admin_ids, app_links=links)

    if allowed is not None:
        # Runs before every other handler (group -2) and stops the update for other chats, which
        # are refused once a minute at most; an allowed group's supergroup is let in (allowlist).
        # The same object guards the Mini App's API (bot.webapp).
        application.bot_data["allowed_chats"] = allowed
        application.add_handler(TypeHandler(Update, handlers.only_chats(allowed)), group=-2)
    # Then (group -1) the flood guard: a chat over COMMANDS_PER_MINUTE is answered once, then ignored.
    # The limiter is shared with the Mini App's API (bot.webapp): its changes count with the chat's commands.
    application.add_handler(TypeHandler(Update, flood_guard(limiter, settings.admin_ids, handlers.texts_for)), group=-1)
    application.add_handler(MessageHandler(supergroups.MIGRATION, supergroups.chat_migrated))
    application.add_handler(CommandHandler("start", handlers.start))
    application.add_handler(CommandHandler("help", handlers.help_command))
    application.add_handlers(guide.handlers())  # /alert ARGS at once; /alert alone step by step; /cancel
    application.add_handler(CommandHandler("alerts", handlers.alerts))
    application.add_handler(CommandHandler("delete", handlers.delete))
    for handler, group in edit.handlers():  # /edit ID LEVEL, ✏️ under /alerts and its forced reply (issue 23)
        application.add_handler(handler, group=group)
    application.add_handler(CommandHandler("price", handlers.price))
    application.add_handler(CommandHandler("liq", futures.liq))  # before liquidation (docs/futures.md)
    application.add_handler(CommandHandler("chart", chart_handlers.chart))
    application.add_handler(CallbackQueryHandler(chart_handlers.chart_button, pattern=CHART_BUTTONS))
    application.add_handler(CommandHandler("pause", handlers.pause))
    application.add_handler(CommandHandler("resume", handlers.resume))
    application.add_handler(CommandHandler("stats", handlers.stats))
    application.add_handler(CommandHandler("language", handlers.language))
    application.add_handler(CommandHandler("export", backup.export))
    application.add_handler(CommandHandler("import", backup.import_file))
    application.add_handler(MessageHandler(backup.IMPORT_CAPTION, backup.import_file))
    # Issue 25: time zones and quiet hours; topic names are kept after each update, in a group of
    # their own (2): in one group only the first handler that matches runs (edit.typed is in group 1).
    application.add_handler(CommandHandler("timezone", topics.timezone))
    application.add_handler(CommandHandler("quiet", topics.quiet))
    application.add_handler(CallbackQueryHandler(topics.timezone_button, pattern=f"^{topics.TIMEZONE}"))
    application.add_handler(TypeHandler(Update, topics.remember_topic), group=2)
    application.add_handler(CallbackQueryHandler(handlers.button, pattern=BUTTONS))
    application.add_handler(MessageHandler(filters.COMMAND, handlers.unknown_command))
    application.add_error_handler(handlers.on_error)

    return application


ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
