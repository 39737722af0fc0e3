"""Which forum topic an update came from (issue 25)."""

from __future__ import annotations

from telegram import Update


def thread_of(update: Update) -> int | None:
    """The forum topic the update came from; None in General (which has no thread id) and in
    chats without topics, where a reply chain's thread id must not be sent back."""
    message = update.effective_message
    if message is None or not message.is_topic_message:
        return None
    return message.message_thread_id
