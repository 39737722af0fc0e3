"""Editing an alert in place: `/edit ID LEVEL [note]`, and the ✏️ button under /alerts.

The ✏️ button asks for the new level with a ForceReply, as the guided /alert does (guide.py):
in groups bots run in privacy mode and see only replies to their own messages, so the question
is a selective forced reply to the member who pressed, and only a reply to it answers it. Where
each user is (which alert they are editing, or a far level awaiting "yes") is a guide step in the
database, so any replica may take the answer.
"""

from __future__ import annotations

import json

from telegram import Chat, ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.alerts.commands import CommandError
from bot.alerts.editing import EditRequest, parse_edit, parse_new_level
from bot.alerts.requests import FarLevel, NoFunding, NoMarkPrice, NotALevelAlert, UnknownSymbol
from bot.exchange.client import ExchangeError
from bot.storage.guides import GuideQueries
from bot.telegram.guide import EDIT_ASKED, EDIT_CONFIRM, _since, _who
from bot.telegram.handlers import exchange_trouble, may_change, reply, service, texts_for
from bot.texts.edit import EditTexts
from bot.texts.futures import FuturesTexts

ASKED, CONFIRM = EDIT_ASKED, EDIT_CONFIRM  # GuideStep.step: a ✏️ question open; a far level to confirm
# Callback data: "edit:<alert id>" (✏️ under /alerts), "ec:yes" / "ec:no" (the far level's question).
EDIT_BUTTON, CONFIRM_YES, CONFIRM_NO = "edit:", "ec:yes", "ec:no"
EDIT_BUTTONS = "^(edit:|ec:)"


async def _texts(update: Update, context: ContextTypes.DEFAULT_TYPE) -> EditTexts:
    t = await texts_for(update, context)
    return EditTexts(t.lang, t.zone)  # `until` shown on the chat's clock (/timezone)


def _guides(context: ContextTypes.DEFAULT_TYPE) -> GuideQueries:
    return context.bot_data["store"]


def _in_group(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type != Chat.PRIVATE


def edit_button(t: EditTexts, alert_id: int) -> InlineKeyboardButton:
    """✏️ #12 under /alerts (handlers._render_page puts one beside each live alert's 🗑)."""
    return InlineKeyboardButton(t.edit_button(alert_id), callback_data=f"{EDIT_BUTTON}{alert_id}")


async def edit_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    t = await _texts(update, context)
    if not await may_change(update, context, t):
        return
    words = list(context.args or [])
    try:
        request = parse_edit(words)
    except CommandError as exc:
        await reply(update, t.usage_error(exc.reason, exc.value))
        return
    await _guides(context).end_guide(*_who(update), _since())  # a question under way ends, as a new command does
    await apply_edit(update, context, t, request, words[1:])


async def apply_edit(update: Update, context: ContextTypes.DEFAULT_TYPE, t: EditTexts, request: EditRequest,
                     words: list[str], *, confirmed: bool = False) -> None:
    """Moves the alert and answers; a level 10x away is asked about first (its words kept)."""
    try:
        edited = await service(context).edit(update.effective_chat.id, request, confirmed=confirmed)
    except FarLevel as exc:
        await _guides(context).start_guide(*_who(update), CONFIRM, answer=json.dumps([request.alert_id, *words]),
                                           since=_since())
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(t.edit_confirm_button(), callback_data=CONFIRM_YES),
                                          InlineKeyboardButton(t.guide_cancel_button(), callback_data=CONFIRM_NO)]])
        await reply(update, t.edit_confirm(request.alert_id, exc.level, exc.current), keyboard)
        return
    except NotALevelAlert as exc:
        await reply(update, t.reminder_not_editable(exc.alert_id) if exc.reminder else t.not_a_level_alert(exc.alert_id))
        return
    except NoMarkPrice as exc:
        await reply(update, FuturesTexts(t.lang).no_mark_price(exc.symbol))
        return
    except NoFunding as exc:
        await reply(update, FuturesTexts(t.lang).no_funding(exc.symbol))
        return
    except UnknownSymbol as exc:
        await reply(update, t.unknown_symbol(exc.symbol, exc.suggestions))
        return
    except ExchangeError as exc:
        await reply(update, exchange_trouble(t, exc, "/edit"))
        return
    if edited is None:
        await reply(update, t.alert_not_found(request.alert_id))
        return
    await reply(update, t.alert_edited(edited.alert, edited.current, edited.passed))


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """✏️ asks for the new level; the far level's Move/Cancel answers the question it came with."""
    query = update.callback_query
    data = query.data or ""
    t = await _texts(update, context)
    if not await may_change(update, context, t):
        return
    if data in (CONFIRM_YES, CONFIRM_NO):
        taken = await _guides(context).take_guide(*_who(update), CONFIRM, _since())
        if taken is None or taken.answer is None:
            await query.answer(t.edit_gone())
            return
        await query.answer()
        if data == CONFIRM_NO:
            await reply(update, t.edit_cancelled())
            return
        alert_id, *words = json.loads(taken.answer)
        try:
            request = parse_new_level(int(alert_id), [str(w) for w in words])
        except CommandError as exc:
            await reply(update, t.usage_error(exc.reason, exc.value))
            return
        await apply_edit(update, context, t, request, words, confirmed=True)
        return
    raw = data.removeprefix(EDIT_BUTTON)
    alert = await service(context).alert(update.effective_chat.id, int(raw)) if raw.isdigit() and len(raw) < 11 else None
    if alert is None:
        await query.answer(t.button_stale())
        return
    await query.answer()
    await _guides(context).start_guide(*_who(update), ASKED, symbol=alert.symbol, answer=str(alert.id), since=_since())
    await _ask(update, context, t.edit_ask(alert))


async def _ask(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    """A forced reply: in a group, selective (only the member named in it gets the reply field)."""
    message = update.effective_message
    if message is None:
        return
    if _in_group(update) and update.effective_user is not None:
        text = f"{update.effective_user.mention_html()} {text}"
    asked = await message.reply_html(text, reply_markup=ForceReply(selective=_in_group(update)),
                                     disable_web_page_preview=True)
    await _guides(context).set_guide_prompt(*_who(update), asked.message_id)


async def typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text that is not a command: the new level, when this user has a ✏️ question open.
    In handler group 1, beside the guide's own reader (group 0), which ignores this step."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    step = await _guides(context).guide_step(*_who(update), _since())
    if step is None or step.step != ASKED or step.answer is None:
        return
    if _in_group(update):  # only a reply to the question answers it
        replied = message.reply_to_message
        ours = replied is not None and replied.from_user is not None and replied.from_user.id == context.bot.id
        if not ours or replied.message_id < (step.prompt_message_id or 0):
            return
    t = await _texts(update, context)
    words = message.text.split()
    try:
        request = parse_new_level(int(step.answer), words)
    except CommandError as exc:
        await _ask(update, context, t.usage_error(exc.reason, exc.value))
        return
    if await _guides(context).take_guide(*_who(update), ASKED, _since()) is None:
        return  # answered already (another replica)
    if not await may_change(update, context, t):
        return
    await apply_edit(update, context, t, request, words)


def handlers() -> list[tuple[BaseHandler, int]]:
    """(handler, group): the typed answer is read in group 1, after the guide's reader in group 0."""
    return [
        (CommandHandler("edit", edit_command), 0),
        (CallbackQueryHandler(pressed, pattern=EDIT_BUTTONS), 0),
        (MessageHandler(filters.TEXT & ~filters.COMMAND, typed), 1),
    ]
