"""`/alert` with no arguments: a short guide that builds the alert step by step.

symbol (typed, or a button) -> level (typed, or -5 % / -1 % / +1 % / +5 % buttons) -> confirm.
/cancel leaves at any step; a malformed answer is asked again with an example; an abandoned
guide expires after 10 minutes. `/alert ARGS` whose level is more than 10x away from the price
gets the same confirmation instead of being created silently.

Where each user is lives in the database (storage.guides), keyed by chat and user, so any
replica may answer any step and the guide in a group belongs to the member who started it.
In groups bots run in privacy mode: they see commands, replies to their own messages and
mentions, nothing else. So there each question forces a reply (selective: to that member), the
typed answer comes back as a reply to it, and the buttons come in a message of their own.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

from telegram import Chat, ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.alerts.commands import AlertRequest, CommandError, parse_alert
from bot.alerts.rules import LEVEL_DIRECTIONS, needs_confirmation
from bot.alerts.requests import alert_targets
from bot.symbols import normalize_symbol, suggest
from bot.exchange.client import ExchangeError
from bot.storage.base import utcnow
from bot.storage.guides import GuideQueries
from bot.telegram.handlers import create_alert, exchange_trouble, may_change, reply, service, texts_for
from bot.sources import PriceSource
from bot.texts import Texts, price
from bot.texts.edit import EditTexts
from bot.texts.futures import FuturesTexts

SYMBOL, LEVEL, CONFIRM = "symbol", "level", "confirm"  # GuideStep.step
EDIT_ASKED, EDIT_CONFIRM = "edit", "edit_confirm"  # bot.telegram.edit's steps: /cancel says the alert is unchanged
EXPIRES_AFTER = timedelta(minutes=10)  # an abandoned guide ends by itself
POPULAR = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "DOGEUSDT"]
MOVES = ["-5", "-1", "+1", "+5"]
# Callback data of the guide's buttons (the rest of the bot's buttons are in bot.telegram.buttons).
PICK_SYMBOL, PICK_MOVE, CONFIRM_YES, CONFIRM_NO = "gs:", "gl:", "gc:yes", "gc:no"
CONFIRM_MARK = "gc:mark"  # create it on the mark price (docs/futures.md)
_STEP_OF_BUTTON = {PICK_SYMBOL: SYMBOL, PICK_MOVE: LEVEL, "gc:": CONFIRM}


def _keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows])


def _guides(context: ContextTypes.DEFAULT_TYPE) -> GuideQueries:
    return context.bot_data["store"]


def _since() -> datetime:
    return utcnow() - EXPIRES_AFTER


def _who(update: Update) -> tuple[int, int]:
    """(chat, user): whose guide this update is about."""
    user = update.effective_user
    chat_id = update.effective_chat.id if update.effective_chat else 0
    return chat_id, user.id if user else chat_id


def _in_group(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type != Chat.PRIVATE


async def _ask(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Texts, text: str,
               buttons: InlineKeyboardMarkup | None) -> None:
    """Asks a question and remembers it: in a group, the answer must be a reply to it."""
    message = update.effective_message
    if message is None:
        return
    if _in_group(update) and update.effective_user is not None:
        # Selective: only the member named in it (and the author of the message it replies to)
        # gets the reply field; the others can go on chatting.
        asked = await message.reply_html(f"{update.effective_user.mention_html()} {text}",
                                         reply_markup=ForceReply(selective=True), disable_web_page_preview=True)
        await _guides(context).set_guide_prompt(*_who(update), asked.message_id)
        if buttons is not None:
            await message.reply_html(t.guide_or_pick(), reply_markup=buttons)
    else:
        asked = await message.reply_html(text, reply_markup=buttons, disable_web_page_preview=True)
        await _guides(context).set_guide_prompt(*_who(update), asked.message_id)


async def begin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/alert ARGS` creates at once (or asks first when the level is far); `/alert` alone starts the guide."""
    t = await texts_for(update, context)
    if not await may_change(update, context, t):
        return
    if context.args:
        await _one_line(update, context, t, list(context.args))
        return
    try:
        listed = (await service(context).snapshot()).prices
    except ExchangeError as exc:
        await reply(update, exchange_trouble(t, exc, "/alert"))
        return
    await _guides(context).start_guide(*_who(update), SYMBOL, since=_since())
    choices = [s for s in POPULAR if s in listed]
    await _ask(update, context, t, t.guide_symbol(),
               _keyboard([[(s, PICK_SYMBOL + s) for s in choices[i:i + 3]] for i in range(0, len(choices), 3)]))


async def _one_line(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Texts, words: list[str]) -> None:
    await _guides(context).end_guide(*_who(update), _since())  # a guide under way ends, as a new command does
    try:
        request = parse_alert(words, t.zone)
    except CommandError as exc:
        await reply(update, t.usage_error(exc.reason, exc.value))
        return
    current = await _far_from(context, request)
    if current is None:
        await create_alert(update, context, t, request)
        return
    await _guides(context).start_guide(*_who(update), CONFIRM, symbol=request.symbol, answer=json.dumps(words),
                                       since=_since())
    await _confirm(update, t, request, current)


async def _far_from(context: ContextTypes.DEFAULT_TYPE, request: AlertRequest) -> Decimal | None:
    """The current price when the request makes a level more than 10x away from it, else None
    (and None when the price is unknown: creating says why)."""
    try:
        current = (await service(context).snapshot()).prices.get(request.symbol)
    except ExchangeError:
        return None
    if current is None or request.window is not None or request.source not in (
            PriceSource.LAST, PriceSource.MARK, PriceSource.INDEX):  # a rate or a time: no "10x away"
        return None
    far = any(direction in LEVEL_DIRECTIONS and needs_confirmation(level, current)
              for direction, level in alert_targets(request, current))
    return current if far else None


async def _confirm(update: Update, t: Texts, request: AlertRequest, current: Decimal, *,
                   ask_source: bool = False, mark: Decimal | None = None) -> None:
    """`ask_source`: a level from the guide, and mark prices are read: "last price or mark price?".
    A level relative to the price (`+5%`) is shown for both: `mark` is the fresh mark price the
    "Mark price" button computes it from."""
    targets = alert_targets(request, current)
    far = any(d in LEVEL_DIRECTIONS and needs_confirmation(level, current) for d, level in targets)
    window = int(request.window.total_seconds()) if request.window else None
    text = (t.far_level() + "\n" if far else "") + t.guide_confirm(request.symbol, targets, current, request.note, window)
    buttons = [[(t.guide_create_button(), CONFIRM_YES), (t.guide_cancel_button(), CONFIRM_NO)]]
    if ask_source and window is None and request.source is PriceSource.LAST:
        futures = FuturesTexts(t.lang)
        on_mark = alert_targets(request, mark) if mark is not None else targets
        if on_mark != targets:
            text += "\n" + futures.guide_on_mark(mark, on_mark)  # type: ignore[arg-type]
        text += "\n" + futures.guide_which_price()
        buttons = [[(futures.guide_last_button(), CONFIRM_YES), (futures.guide_mark_button(), CONFIRM_MARK)],
                   [(t.guide_cancel_button(), CONFIRM_NO)]]
    await reply(update, text, _keyboard(buttons))


async def typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text that is not a command: the answer to the user's current question, if any."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    step = await _guides(context).guide_step(*_who(update), _since())
    if step is None:
        return
    if _in_group(update):  # only a reply to the question answers it
        replied = message.reply_to_message
        # The question asked for this step, or a newer one of ours: an answer may arrive before
        # the new question's id is stored (a fast user, another replica).
        ours = replied is not None and replied.from_user is not None and replied.from_user.id == context.bot.id
        if not ours or replied.message_id < (step.prompt_message_id or 0):
            return
    t = await texts_for(update, context)
    if step.step == SYMBOL:
        await _symbol(update, context, t, message.text)
    elif step.step == LEVEL and step.symbol is not None:
        await _level(update, context, t, step.symbol, message.text.split())


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The guide's buttons. Each press is answered once; a press that no longer fits the user's
    guide (a double tap, another member's guide, an expired one) says so and changes nothing."""
    query = update.callback_query
    data = query.data or ""
    t = await texts_for(update, context)
    expected = next((step for prefix, step in _STEP_OF_BUTTON.items() if data.startswith(prefix)), None)
    if expected == CONFIRM:
        taken = await _guides(context).take_guide(*_who(update), CONFIRM, _since())
        if taken is None or taken.answer is None:
            await query.answer(t.guide_gone())
            return
        await query.answer()
        if data not in (CONFIRM_YES, CONFIRM_MARK):
            await reply(update, t.guide_cancelled())
            return
        words = json.loads(taken.answer)
        if data == CONFIRM_MARK and len(words) > 1:
            words = [words[0], "mark", *words[1:]]
        try:
            request = parse_alert(words, t.zone)
        except CommandError as exc:  # stored by an older version, say
            await reply(update, t.usage_error(exc.reason, exc.value))
            return
        await create_alert(update, context, t, request)
        return
    step = await _guides(context).guide_step(*_who(update), _since())
    if step is None or step.step != expected:
        await query.answer(t.guide_gone())
        return
    await query.answer()
    if expected == SYMBOL:
        await _symbol(update, context, t, data.removeprefix(PICK_SYMBOL))
    elif step.symbol is not None:
        await _level(update, context, t, step.symbol, [data.removeprefix(PICK_MOVE) + "%"])


async def _symbol(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Texts, typed_text: str) -> None:
    try:
        listed = (await service(context).snapshot()).prices
    except ExchangeError as exc:
        await reply(update, exchange_trouble(t, exc, "/alert"))
        return
    symbol = normalize_symbol(typed_text) or typed_text.strip()
    if symbol not in listed:
        close = suggest(symbol, listed)
        await _ask(update, context, t, t.unknown_symbol(symbol, close) + "\n" + t.guide_symbol_again(),
                   _keyboard([[(s, PICK_SYMBOL + s)] for s in close]) if close else None)
        return
    if not await _guides(context).advance_guide(*_who(update), SYMBOL, _since(), step=LEVEL, symbol=symbol):
        return  # answered already (a double tap, another replica)
    await _ask(update, context, t, t.guide_level(symbol, price(listed[symbol])),
               _keyboard([[(f"{move}%", PICK_MOVE + move) for move in MOVES]]))


async def _level(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Texts, symbol: str, words: list[str]) -> None:
    try:
        request = parse_alert([symbol, *words], t.zone)
        current = (await service(context).snapshot()).prices[symbol]
    except CommandError as exc:
        await _ask(update, context, t, t.usage_error(exc.reason, exc.value) + "\n" + t.guide_level_again(), None)
        return
    except (ExchangeError, KeyError):
        await reply(update, t.exchange_unavailable())
        return
    if not await _guides(context).advance_guide(*_who(update), LEVEL, _since(), step=CONFIRM,
                                                answer=json.dumps([symbol, *words])):
        return
    ticker = context.bot_data["parts"].ticker
    fresh = ticker.fresh_marks().get(symbol)
    await _confirm(update, t, request, current, ask_source=ticker.marks is not None,
                   mark=fresh.mark if fresh is not None else None)


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    t = await texts_for(update, context)
    step = await _guides(context).guide_step(*_who(update), _since())
    if await _guides(context).end_guide(*_who(update), _since()):
        editing = step is not None and step.step in (EDIT_ASKED, EDIT_CONFIRM)
        await reply(update, EditTexts(t.lang, t.zone).edit_cancelled() if editing else t.guide_cancelled())
    else:
        await reply(update, t.unknown_command())


def handlers() -> list[BaseHandler]:
    """Plain handlers: the state is read from the database at each step, never kept in memory."""
    return [
        CommandHandler("alert", begin),
        CommandHandler("cancel", cancel),
        CallbackQueryHandler(pressed, pattern="^(gs:|gl:|gc:)"),
        MessageHandler(filters.TEXT & ~filters.COMMAND, typed),
    ]
