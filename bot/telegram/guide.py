"""`/alert` with no arguments: a short conversation that builds the alert step by step.

symbol (typed, or a button) -> level (typed, or -5 % / -1 % / +1 % / +5 % buttons) -> confirm.
/cancel leaves at any step; a malformed answer is asked again with an example.
"""

from __future__ import annotations

import warnings

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.warnings import PTBUserWarning
from telegram.ext import (
    CallbackQueryHandler, CommandHandler, ContextTypes, ConversationHandler, MessageHandler, filters,
)

from bot.alerts.commands import AlertRequest, CommandError, parse_alert
from bot.alerts.service import alert_targets
from bot.alerts.symbols import normalize_symbol, suggest
from bot.exchange.client import ExchangeError
from bot.telegram import handlers
from bot.telegram.handlers import create_alert, may_change, reply, service, texts_for
from bot.texts import price

SYMBOL, LEVEL, CONFIRM = range(3)
POPULAR = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "DOGEUSDT"]
MOVES = ["-5", "-1", "+1", "+5"]
# Callback data of the guide's buttons (the rest of the bot's buttons are in bot.telegram.buttons).
PICK_SYMBOL, PICK_MOVE, CONFIRM_YES, CONFIRM_NO = "gs:", "gl:", "gc:yes", "gc:no"


def _keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows])


async def _answer(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()


async def begin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """`/alert ARGS` creates at once; `/alert` alone starts the guide."""
    if context.args:
        await handlers.alert(update, context)
        return ConversationHandler.END
    t = await texts_for(update, context)
    if not await may_change(update, context, t):
        return ConversationHandler.END
    try:
        listed = (await service(context).snapshot()).prices
    except ExchangeError:
        await reply(update, t.exchange_unavailable())
        return ConversationHandler.END
    choices = [s for s in POPULAR if s in listed]
    await reply(update, t.guide_symbol(), _keyboard([[(s, PICK_SYMBOL + s) for s in choices[i:i + 3]]
                                                     for i in range(0, len(choices), 3)]))
    return SYMBOL


async def symbol_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    return await _symbol(update, context, update.effective_message.text or "")


async def symbol_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await _answer(update)
    return await _symbol(update, context, (update.callback_query.data or "").removeprefix(PICK_SYMBOL))


async def _symbol(update: Update, context: ContextTypes.DEFAULT_TYPE, typed: str) -> int:
    t = await texts_for(update, context)
    try:
        listed = (await service(context).snapshot()).prices
    except ExchangeError:
        await reply(update, t.exchange_unavailable())
        return SYMBOL
    symbol = normalize_symbol(typed) or typed.strip()
    if symbol not in listed:
        close = suggest(symbol, listed)
        await reply(update, t.unknown_symbol(symbol, close) + "\n" + t.guide_symbol_again(),
                    _keyboard([[(s, PICK_SYMBOL + s)] for s in close]) if close else None)
        return SYMBOL
    context.user_data["guide_symbol"] = symbol
    current = listed[symbol]
    await reply(update, t.guide_level(symbol, price(current)),
                _keyboard([[(f"{move}%", PICK_MOVE + move) for move in MOVES]]))
    return LEVEL


async def level_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    return await _level(update, context, (update.effective_message.text or "").split())


async def level_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await _answer(update)
    return await _level(update, context, [(update.callback_query.data or "").removeprefix(PICK_MOVE) + "%"])


async def _level(update: Update, context: ContextTypes.DEFAULT_TYPE, words: list[str]) -> int:
    t = await texts_for(update, context)
    symbol = context.user_data.get("guide_symbol")
    if symbol is None:
        return ConversationHandler.END
    try:
        request = parse_alert([symbol, *words])
        current = (await service(context).snapshot()).prices[symbol]
    except CommandError as exc:
        await reply(update, t.usage_error(exc.reason, exc.value) + "\n" + t.guide_level_again())
        return LEVEL
    except (ExchangeError, KeyError):
        await reply(update, t.exchange_unavailable())
        return LEVEL
    context.user_data["guide_request"] = request
    summary = [(direction, level) for direction, level in alert_targets(request, current)]
    window = int(request.window.total_seconds()) if request.window else None
    await reply(update, t.guide_confirm(symbol, summary, current, request.note, window),
                _keyboard([[(t.guide_create_button(), CONFIRM_YES), (t.guide_cancel_button(), CONFIRM_NO)]]))
    return CONFIRM


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await _answer(update)
    request: AlertRequest | None = context.user_data.pop("guide_request", None)
    context.user_data.pop("guide_symbol", None)
    if request is not None and update.callback_query.data == CONFIRM_YES:
        await create_alert(update, context, await texts_for(update, context), request)
    else:
        await reply(update, (await texts_for(update, context)).guide_cancelled())
    return ConversationHandler.END


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    context.user_data.pop("guide_request", None)
    context.user_data.pop("guide_symbol", None)
    await reply(update, (await texts_for(update, context)).guide_cancelled())
    return ConversationHandler.END


def conversation() -> ConversationHandler:
    typed = filters.TEXT & ~filters.COMMAND
    with warnings.catch_warnings():
        # PTB warns that with per_message=False buttons are tracked per chat and user, not per
        # message: that is what we want (one guide per user and chat, typed or pressed).
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message=False")
        return _conversation(typed)


def _conversation(typed: filters.BaseFilter) -> ConversationHandler:
    return ConversationHandler(
        entry_points=[CommandHandler("alert", begin)],
        states={
            SYMBOL: [MessageHandler(typed, symbol_typed), CallbackQueryHandler(symbol_pressed, pattern=f"^{PICK_SYMBOL}")],
            LEVEL: [MessageHandler(typed, level_typed), CallbackQueryHandler(level_pressed, pattern=f"^{PICK_MOVE}")],
            CONFIRM: [CallbackQueryHandler(confirm, pattern="^gc:")],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        allow_reentry=True,  # /alert again, with or without arguments, while a guide is open
        conversation_timeout=600,  # an abandoned guide ends by itself
        name="alert_guide",
    )
