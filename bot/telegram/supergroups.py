"""A group upgraded to a supergroup gets a new chat id; its alerts follow it.

Telegram says so twice: `migrate_to_chat_id` in the old group, `migrate_from_chat_id` in the new
supergroup (and a message sent to the old id is refused with ChatMigrated, which the outbox
sender handles the same way). Moving is idempotent, so whichever comes first does it.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes, filters

from bot.telegram.handlers import service

MIGRATION = filters.StatusUpdate.MIGRATE


async def chat_migrated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        old_id, new_id = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old_id, new_id = message.migrate_from_chat_id, message.chat.id
    else:
        return
    await service(context).migrate_chat(old_id, new_id)
    allowed = context.bot_data.get("allowed_chats")
    if allowed is not None:
        allowed.follow(old_id, new_id)
