"""Forum topics, time zones and quiet hours at the Telegram edge (issue 25).

Answers reach the topic a command came from by themselves: python-telegram-bot's
Message.reply_* pass the message's `message_thread_id` when it `is_topic_message` (a forum
topic of a supergroup, or of a private chat with topics, Bot API 9.3). Sends that are not
replies (sendPhoto of a chart, the outbox) take `thread_of(update)` or the alert's stored topic.
"""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import ContextTypes

from bot.alerts.commands import CommandError
from bot.alerts.hours import COMMON_ZONES, UTC_NAME, parse_quiet, parse_zone, suggest_zones
from bot.telegram.handlers import edit, may_change, reply, service, texts_for
from bot.telegram.topic_of import thread_of

TIMEZONE = "tz:"  # callback data "tz:<index in COMMON_ZONES>"
MAX_REMEMBERED = 10_000


def _topic_name(message: Message) -> tuple[str | None, bool]:
    """(a topic's name, whether it is the latest) when the message tells it: its creation or
    renaming tell the latest; a message in the topic replies to its creation (unless it replies
    to another message), which tells the name it was created with, only for a topic not yet known."""
    if message.forum_topic_created is not None:
        return message.forum_topic_created.name, True
    if message.forum_topic_edited is not None and message.forum_topic_edited.name:
        return message.forum_topic_edited.name, True
    replied = message.reply_to_message
    if replied is not None and replied.forum_topic_created is not None:
        return replied.forum_topic_created.name, False
    return None, False


async def remember_topic(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs after the handlers, in a group of its own (2): keeps each topic's name, written only when it is news."""
    message = update.effective_message
    thread_id = thread_of(update)
    if message is None or thread_id is None or update.effective_chat is None:
        return
    name, latest = _topic_name(message)
    if not name:
        return
    known: dict[tuple[int, int], str] = context.bot_data.setdefault("topic_names", {})
    key = (update.effective_chat.id, thread_id)
    if known.get(key) == name or (not latest and key in known):
        return
    if len(known) >= MAX_REMEMBERED:
        known.clear()
    await context.bot_data["alerts"].remember_topic(key[0], thread_id, name, latest=latest)
    known[key] = name


def timezone_keyboard() -> InlineKeyboardMarkup:
    """The common zones, three to a row."""
    buttons = [InlineKeyboardButton(name, callback_data=f"{TIMEZONE}{i}") for i, name in enumerate(COMMON_ZONES)]
    return InlineKeyboardMarkup([buttons[i:i + 3] for i in range(0, len(buttons), 3)])


async def timezone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/timezone` shows the zone and buttons; `/timezone Europe/Berlin` sets it."""
    t = await texts_for(update, context)
    chat_id = update.effective_chat.id
    if not context.args:
        name = await service(context).zone_name(chat_id) or UTC_NAME
        await reply(update, t.timezone_menu(name, _now()), timezone_keyboard())
        return
    if not await may_change(update, context, t):
        return
    typed = " ".join(context.args)[:64]  # IANA names are shorter; a longer text is no name
    try:
        name = parse_zone(typed.replace(" ", "_"))
    except CommandError:
        await reply(update, t.unknown_zone(typed, suggest_zones(typed)))
        return
    await service(context).set_timezone(chat_id, name)
    await reply(update, t.timezone_set(name, _now()))


async def timezone_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    t = await texts_for(update, context)
    index = (query.data or "")[len(TIMEZONE):]
    if not index.isdigit() or int(index) >= len(COMMON_ZONES) or update.effective_chat is None:
        await query.answer(t.button_stale())
        return
    if not await may_change(update, context, t):
        return
    name = COMMON_ZONES[int(index)]
    await service(context).set_timezone(update.effective_chat.id, name)
    text = t.timezone_set(name, _now())
    await query.answer()
    await edit(query, text)


async def quiet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/quiet 23:00-07:00 [digest]`, `/quiet off`; `/quiet` alone says what is set."""
    t = await texts_for(update, context)
    chat_id = update.effective_chat.id
    name = await service(context).zone_name(chat_id) or UTC_NAME
    if not context.args:
        await reply(update, t.quiet_status(await service(context).quiet_hours(chat_id), name))
        return
    if not await may_change(update, context, t):
        return
    try:
        hours = parse_quiet(list(context.args))
    except CommandError as exc:
        await reply(update, t.quiet_usage(exc.reason, exc.value))
        return
    await service(context).set_quiet(chat_id, hours)
    sender = context.bot_data.get("sender")
    if sender is not None:
        sender.wake()  # held messages were released: the digest goes out now
    await reply(update, t.quiet_set(hours, name) if hours else t.quiet_off())


def _now() -> datetime:
    """Now, naive UTC: the texts show it on the chat's clock."""
    return datetime.now(UTC).replace(tzinfo=None)
