"""Command and button handlers, after python-telegram-bot's examples: read, call one service, reply."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import texts
from bot.alerts.commands import CommandError, parse_alert, parse_alert_id, parse_price_symbols
from bot.alerts.service import AlertService, TooManyAlerts, UnknownSymbol
from bot.alerts.symbols import suggest
from bot.exchange.client import ExchangeError

log = logging.getLogger(__name__)

DELETE_PREFIX = "del:"


def service(context: ContextTypes.DEFAULT_TYPE) -> AlertService:
    return context.bot_data["alerts"]


async def _reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_html(text, reply_markup=markup, disable_web_page_preview=True)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    resumed = await service(context).resume(update.effective_chat.id)
    await _reply(update, texts.start() + (texts.alerts_resumed(resumed) if resumed else ""))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _reply(update, texts.help_text())


async def alert(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        request = parse_alert(context.args or [])
        created, snapshot = await service(context).create(update.effective_chat.id, request)
    except CommandError as exc:
        await _reply(update, texts.usage_error(exc.reason, exc.value))
    except UnknownSymbol as exc:
        await _reply(update, texts.unknown_symbol(exc.symbol, exc.suggestions))
    except TooManyAlerts as exc:
        await _reply(update, texts.too_many_alerts(exc.limit))
    except ExchangeError as exc:
        log.warning("/alert without prices: %s", exc)
        await _reply(update, texts.exchange_unavailable())
    else:
        current = snapshot.prices[created.symbol]
        await _reply(update, texts.alert_created(
            created.id, created.symbol, created.direction, created.level, current, created.note
        ))


async def _alert_list(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> tuple[str, InlineKeyboardMarkup | None]:
    alerts = await service(context).list(chat_id)
    try:
        prices = (await service(context).snapshot()).prices if alerts else {}
    except ExchangeError:
        prices = {}  # the list is still useful without distances
    rows = [(a.id, a.symbol, a.direction, a.level, a.note) for a in alerts]
    buttons = [
        [InlineKeyboardButton(texts.delete_button(a.id, a.symbol), callback_data=f"{DELETE_PREFIX}{a.id}")]
        for a in alerts
    ]
    return texts.alert_list(rows, prices), InlineKeyboardMarkup(buttons) if buttons else None


async def alerts(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text, markup = await _alert_list(context, update.effective_chat.id)
    await _reply(update, text, markup)


async def delete(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        alert_id = parse_alert_id(context.args or [])
    except CommandError as exc:
        await _reply(update, texts.usage_error(exc.reason, exc.value))
        return
    deleted = await service(context).delete(update.effective_chat.id, alert_id)
    if deleted is None:
        await _reply(update, texts.alert_not_found(alert_id))
    else:
        await _reply(update, texts.alert_deleted(deleted.id, deleted.symbol))


async def delete_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The 🗑 button under /alerts. Only the pressing chat's own alerts can go."""
    query = update.callback_query
    raw = (query.data or "").removeprefix(DELETE_PREFIX)
    chat = update.effective_chat
    deleted = None
    if raw.isdigit() and raw.isascii() and chat is not None:
        deleted = await service(context).delete(chat.id, int(raw))
    if deleted is None:
        await query.answer(texts.button_stale())
        return
    await query.answer(f"Deleted #{deleted.id}")
    text, markup = await _alert_list(context, chat.id)
    await query.edit_message_text(text, parse_mode="HTML", reply_markup=markup)


async def price(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        symbols = parse_price_symbols(context.args or [])
        snapshot = await service(context).snapshot()
    except CommandError as exc:
        await _reply(update, texts.usage_error(exc.reason, exc.value))
        return
    except ExchangeError as exc:
        log.warning("/price without prices: %s", exc)
        await _reply(update, texts.exchange_unavailable())
        return
    unknown = [s for s in symbols if s not in snapshot.prices]
    if len(unknown) == len(symbols):
        await _reply(update, texts.unknown_symbol(unknown[0], suggest(unknown[0], snapshot.prices)))
        return
    await _reply(update, texts.prices_list(symbols, snapshot.prices, snapshot.received_at))


async def pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _reply(update, texts.paused(await service(context).pause(update.effective_chat.id)))


async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _reply(update, texts.resumed(await service(context).resume(update.effective_chat.id)))


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """For the operators listed in ADMIN_IDS only; others learn nothing, not even that it exists."""
    user = update.effective_user
    if user is None or user.id not in context.bot_data["admin_ids"]:
        await _reply(update, texts.unknown_command())
        return
    await _reply(update, texts.stats(await service(context).stats()))


def only_chats(allowed: frozenset[int]) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]:
    """A guard for ALLOWED_CHAT_IDS: other chats get a polite refusal and nothing else."""

    async def guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is not None and chat.id in allowed:
            return
        if update.callback_query is not None:
            await update.callback_query.answer(texts.not_allowed_short())
        elif update.effective_message is not None:
            await _reply(update, texts.not_allowed())
        raise ApplicationHandlerStop

    return guard


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _reply(update, texts.unknown_command())


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("error while handling %s", type(update).__name__, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await _reply(update, texts.internal_error())
        except Exception:  # the reply itself may be what fails (blocked, network)
            log.debug("could not tell the chat about the error", exc_info=True)
