"""/export sends the chat's live alerts as a CSV file; /import (the caption of such a file, or a
reply to it) creates them again, each line checked like a typed /alert."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from telegram import Document, InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes, filters

from bot.alerts.backup import MAX_BYTES, BackupError, parse_csv, export_csv
from bot.alerts.requests import FarLevel, NoFunding, NoMarkPrice, PastExpiry, TooManyAlerts, UnknownSymbol
from bot.texts.futures import FuturesTexts
from bot.exchange.client import ExchangeError
from bot.telegram.handlers import exchange_trouble, may_change, reply, service, texts_for
from bot.telegram.topic_of import thread_of
from bot.texts import Texts

log = logging.getLogger(__name__)

# `/import` as the caption of a file (Telegram sends no command entity for captions we could use).
IMPORT_CAPTION = filters.Document.ALL & filters.CaptionRegex(r"^/import(@\w+)?(\s|$)")
MAX_MESSAGE = 4000  # Telegram takes 4096 UTF-16 code units; the answer is split below that


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    t = await texts_for(update, context)
    alerts = await service(context).live_alerts(update.effective_chat.id)
    if not alerts:
        await reply(update, t.export_empty())
        return
    name = f"pricealert-alerts-{datetime.now(timezone.utc):%Y-%m-%d}.csv"
    await update.effective_message.reply_document(
        InputFile(export_csv(alerts), filename=name), caption=t.export_caption(len(alerts)), parse_mode=ParseMode.HTML,
    )


def _document(update: Update) -> Document | None:
    message = update.effective_message
    if message is None:
        return None
    if message.document is not None:
        return message.document
    replied = message.reply_to_message
    return replied.document if replied is not None else None


async def import_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Validates the whole file first; then creates every line that passed, in one transaction."""
    t = await texts_for(update, context)
    document = _document(update)
    if document is None:
        await reply(update, t.import_usage())
        return
    if not await may_change(update, context, t):
        return
    if document.file_size is not None and document.file_size > MAX_BYTES:
        await reply(update, t.import_too_large(MAX_BYTES // 1024))
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    alerts = service(context)
    try:
        lines = parse_csv(data, alerts.max_alerts_per_chat)
    except BackupError as exc:
        await reply(update, _file_refused(t, exc, alerts.max_alerts_per_chat))
        return
    try:
        created, refused, _ = await alerts.import_alerts(
            update.effective_chat.id, [(line.number, line.request) for line in lines if line.request is not None],
            thread_of(update))  # imported in a forum topic: announced there
    except ExchangeError as exc:
        await reply(update, exchange_trouble(t, exc, "/import"))
        return
    answers: dict[int, list[str]] = {}
    for line in lines:
        if line.error is not None:
            answers[line.number] = [t.import_refused(line.number, t.usage_error(line.error.reason, line.error.value))]
    for number, exc in refused:
        answers[number] = [t.import_refused(number, _reason(t, exc))]
    for number, made in created:
        answers[number] = [t.import_created(number, alert) for alert in made]
    texts = [t.import_result(sum(len(made) for _, made in created), len(lines) - len(created))]
    texts += [text for number in sorted(answers) for text in answers[number]]
    for chunk in _chunks(texts):
        await reply(update, chunk)


def _file_refused(t: Texts, exc: BackupError, limit: int) -> str:
    if exc.reason == "too_large":
        return t.import_too_large(MAX_BYTES // 1024)
    if exc.reason == "too_many":
        return t.import_too_many(limit)
    if exc.reason == "empty":
        return t.import_empty()
    return t.import_malformed(exc.line)


def _reason(t: Texts, exc: Exception) -> str:
    if isinstance(exc, UnknownSymbol):
        return t.unknown_symbol(exc.symbol, exc.suggestions)
    if isinstance(exc, TooManyAlerts):
        return t.too_many_alerts(exc.limit)
    if isinstance(exc, PastExpiry):
        return t.past_expiry()
    if isinstance(exc, FarLevel):
        return t.import_far_level(exc.level, exc.current)
    if isinstance(exc, NoFunding):
        return FuturesTexts(t.lang).no_funding(exc.symbol)
    if isinstance(exc, NoMarkPrice):
        return FuturesTexts(t.lang).no_mark_price(exc.symbol)
    return str(exc)


def _chunks(lines: list[str]) -> list[str]:
    """Lines joined into messages under Telegram's length limit; no line is cut."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        joined = f"{current}\n{line}" if current else line
        if current and len(joined.encode("utf-16-le")) // 2 > MAX_MESSAGE:
            chunks.append(current)
            joined = line
        current = joined
    if current:
        chunks.append(current)
    return chunks
