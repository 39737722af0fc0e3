"""Command and button handlers, after python-telegram-bot's examples: read, call one service, reply.

Every reply speaks the chat's language (`texts_for`) and comes from the text catalogue.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Container

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.alerts.commands import AlertRequest, CommandError, parse_alert_id, parse_price_symbols
from bot.storage.chats import Resumed
from bot.storage.models import AlertState
from bot.alerts.requests import NoFunding, NoMarkPrice, PastExpiry, TooManyAlerts, UnknownSymbol
from bot.alerts.service import AlertService
from bot.sources import PriceSource
from bot.texts.futures import FuturesTexts
from bot.symbols import suggest
from bot.exchange.client import ExchangeError, RestrictedLocation
from bot.i18n import LANGUAGES, pick_language
from bot.limits import CommandLimiter, Verdict
from bot.telegram.buttons import (
    DELETE, LANGUAGE, NOTICE_DELETE, NOTICE_REARM, PAGE, REARM, parse_button, symbol_chart_keyboard,
)
from bot.storage.alerts import AlertPage
from bot.texts import Texts
from bot.texts.edit import EditTexts
from bot.alerts.editing import group_by_symbol, watched_price
from bot.webapp.links import with_app_button
from bot.telegram.topic_of import thread_of

log = logging.getLogger(__name__)

PAGE_SIZE = 10


def service(context: ContextTypes.DEFAULT_TYPE) -> AlertService:
    return context.bot_data["alerts"]


async def texts_for(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Texts:
    user = update.effective_user
    chat_id = update.effective_chat.id if update.effective_chat else 0
    alerts = service(context)
    return Texts(await alerts.language(chat_id, user.language_code if user else None), await alerts.zone(chat_id))


async def reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_html(text, reply_markup=markup, disable_web_page_preview=True)


async def edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Shows `text` in the message whose button was pressed. A double tap's second edit changes
    nothing and Telegram refuses it ("message is not modified"): the message already says it."""
    try:
        await query.edit_message_text(text, parse_mode="HTML", reply_markup=markup, disable_web_page_preview=True)
    except BadRequest as exc:
        if "message is not modified" not in exc.message.lower():
            raise


def exchange_trouble(t: Texts, exc: ExchangeError, command: str) -> str:
    """What a chat hears when a command found no prices: a blocked region is named (the log says
    it with the remedy, every 10 minutes at most); anything else is logged and passes."""
    if isinstance(exc, RestrictedLocation):
        return t.exchange_restricted()
    log.warning("%s without prices: %s", command, exc)
    return t.exchange_unavailable()


async def may_change(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Texts) -> bool:
    """In groups only administrators create, delete, pause or press alert buttons."""
    if await context.bot_data["admins"].may_change(update):
        return True
    if update.callback_query is not None:
        await update.callback_query.answer(t.admins_only_short())
    else:
        await reply(update, t.admins_only())
    return False


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The greeting; it also resumes what a block paused, which in a group only an admin may do
    (anyone else is greeted, without the admins-only answer: /start is not asking for a change)."""
    t = await texts_for(update, context)
    if not await context.bot_data["admins"].may_change(update):
        await reply(update, t.start())
        return
    resumed = await service(context).welcome(update.effective_chat.id)
    back = t.alerts_resumed(len(resumed.alerts)) if resumed.alerts else ""
    await reply(update, t.start() + back + await _waiting(context, t, resumed))


async def _waiting(context: ContextTypes.DEFAULT_TYPE, t: Texts, resumed: Resumed) -> str:
    """The resumed alerts whose level was passed meanwhile: they wait for a new crossing."""
    if not resumed.waiting:
        return ""
    alerts = service(context)
    last, sources = await alerts.prices_or_none() or {}, alerts.source_prices()
    now = {a.id: p for a in resumed.waiting if (p := watched_price(a, last, sources)) is not None}
    return t.resumed_waiting(resumed.waiting, now)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, (await texts_for(update, context)).help())


async def create_alert(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Texts, request: AlertRequest) -> bool:
    """Creates what the request asks and replies; False when it could not."""
    try:
        created, snapshot = await service(context).create(update.effective_chat.id, request, thread_of(update))
    except UnknownSymbol as exc:
        await reply(update, t.unknown_symbol(exc.symbol, exc.suggestions))
    except TooManyAlerts as exc:
        await reply(update, t.too_many_alerts(exc.limit))
    except PastExpiry:
        await reply(update, t.past_expiry())
    except NoMarkPrice as exc:
        await reply(update, FuturesTexts(t.lang).no_mark_price(exc.symbol))
    except NoFunding as exc:
        await reply(update, FuturesTexts(t.lang).no_funding(exc.symbol))
    except ExchangeError as exc:
        await reply(update, exchange_trouble(t, exc, "/alert"))
    else:
        last = snapshot.prices[created[0].symbol]
        if request.source is PriceSource.LAST:
            await reply(update, t.alerts_created(created, last))
        elif request.source is PriceSource.FUNDING_BEFORE:
            left = service(context).current_on(request.source, request.symbol, last)
            await reply(update, FuturesTexts(t.lang).reminder_created(created, left, request.repeat is not None))
        elif request.source is PriceSource.FUNDING:
            current = service(context).current_on(request.source, request.symbol, last)
            await reply(update, FuturesTexts(t.lang).funding_created(created, current))
        else:  # distances from the price it watches, and which price that is
            current = service(context).current_on(request.source, request.symbol, last)
            await reply(update, t.alerts_created(created, current) + "\n"
                        + FuturesTexts(t.lang).created_on(request.source, current))
        return True
    return False


async def _alert_list(
    context: ContextTypes.DEFAULT_TYPE, t: Texts, chat_id: int, after: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The page of the chat's alerts that starts after the list key `after` (storage.alerts):
    live ones first, then those that fired lately. Buttons carry keys, not page numbers, so
    every alert is reachable whatever their number, and each page fits one message."""
    limit = PAGE_SIZE
    while True:
        page = await service(context).list_page(chat_id, after, limit)
        if not page.live and not page.fired and page.previous is not None:
            after = page.previous  # the page's alerts are gone: show the one before
            continue
        text, markup = await _render_page(context, t, page, after)
        if _utf16_len(text) <= MAX_MESSAGE or limit == 1:  # the HTML is at least as long as what shows
            return text, with_app_button(markup, context.bot_data.get("app_links"), t.lang, chat_id)
        limit -= 1  # long notes: fewer per page; the next page starts after the last one shown


MAX_MESSAGE = 4096  # Telegram's limit on a message's text


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2  # how Telegram counts characters


async def _render_page(
    context: ContextTypes.DEFAULT_TYPE, t: Texts, page: AlertPage, after: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    try:
        prices = (await service(context).snapshot()).prices if page.live else {}
    except ExchangeError:
        prices = {}  # the list is still useful without distances
    # Grouped by symbol, the symbol whose alert is nearest the price it watches first, nearest first within it.
    sources = service(context).source_prices() if page.live else {}
    live = [alert for _, group in group_by_symbol(page.live, prices, sources) for alert in group]
    edits = EditTexts(t.lang)
    rows = [[InlineKeyboardButton(t.delete_button(a.id, a.symbol), callback_data=f"{DELETE}{a.id}:{after}"),
             InlineKeyboardButton(edits.edit_button(a.id), callback_data=f"edit:{a.id}")]
            for a in live]
    rows += [[InlineKeyboardButton(f"{t.rearm_button()} #{a.id} {a.symbol}", callback_data=f"{REARM}{a.id}:{after}")]
             for a in page.fired if a.state is AlertState.FIRED]  # an ended one cannot come back
    navigation = []
    if page.previous is not None:
        navigation.append(InlineKeyboardButton(t.page_button(False), callback_data=f"{PAGE}{page.previous}"))
    if page.next is not None:
        navigation.append(InlineKeyboardButton(t.page_button(True), callback_data=f"{PAGE}{page.next}"))
    if navigation:
        rows.append(navigation)
    pages = max(1, -(-page.total // PAGE_SIZE))
    number = min(-(-page.before // PAGE_SIZE), pages - 1)  # 0-based; a page after deletions rounds up
    listed = (*page.live, *page.fired)
    if any(a.message_thread_id is not None for a in listed):  # in a forum, each one's topic is marked
        t.topics = await service(context).topic_names(listed[0].chat_id)
    text = t.alert_list(live, page.fired, prices, number, pages, live_count=page.live_total, sources=sources)
    return text, InlineKeyboardMarkup(rows) if rows else None


async def alerts(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text, markup = await _alert_list(context, await texts_for(update, context), update.effective_chat.id, 0)
    await reply(update, text, markup)


async def delete(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    t = await texts_for(update, context)
    if not await may_change(update, context, t):
        return
    try:
        alert_id = parse_alert_id(context.args or [])
    except CommandError as exc:
        await reply(update, t.usage_error(exc.reason, exc.value))
        return
    deleted = await service(context).delete(update.effective_chat.id, alert_id)
    if deleted is None:
        await reply(update, t.alert_not_found(alert_id))
    elif deleted.liquidation is not None:  # a /liq step: its whole watch went (docs/futures.md)
        await reply(update, FuturesTexts(t.lang).liq_deleted(deleted.id, deleted.symbol, deleted.liquidation))
    else:
        await reply(update, t.alert_deleted(deleted.id, deleted.symbol))


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every inline button. Buttons act only on the pressing chat's own alerts; a stale or
    forged one gets a short answer."""
    query = update.callback_query
    chat = update.effective_chat
    t = await texts_for(update, context)
    action, alert_id, page = parse_button(query.data or "")
    if chat is None or action is None:
        await query.answer(t.button_stale())
        return
    if action == LANGUAGE:
        await _choose_language(update, context, list(LANGUAGES)[page] if page < len(LANGUAGES) else None)
        return
    if action != PAGE and not await may_change(update, context, t):
        return
    if action == PAGE:
        await query.answer()
        text, markup = await _alert_list(context, t, chat.id, page)
        await edit(query, text, markup)
        return
    alerts_service = service(context)
    if action in (DELETE, NOTICE_DELETE):
        changed = await alerts_service.delete(chat.id, alert_id)
        answer = t.deleted_short(alert_id)
        if changed is not None and changed.liquidation is not None:  # its whole /liq watch went
            answer = FuturesTexts(t.lang).liq_deleted(changed.id, changed.symbol, changed.liquidation)
    elif action in (REARM, NOTICE_REARM):
        changed = await alerts_service.rearm(chat.id, alert_id)
        later = changed is not None and changed.state is AlertState.ARMING and changed.rearm_level is not None
        answer = t.rearmed_later(alert_id, changed.direction, changed.rearm_level) if later else t.rearmed(alert_id)
    else:
        changed = await alerts_service.snooze(chat.id, alert_id)
        answer = t.snoozed(alert_id, changed.rearm_after) if changed and changed.rearm_after else ""
    if changed is None:
        await query.answer(t.button_stale())
        return
    await query.answer(answer)
    if action in (DELETE, REARM):  # pressed under /alerts: show the list as it is now
        text, markup = await _alert_list(context, t, chat.id, page)
        await edit(query, text, markup)


async def language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/language` shows the choices; `/language zh` or `/language en` picks one."""
    codes = list(LANGUAGES)
    if context.args and context.args[0].lower()[:2] in codes:
        await _choose_language(update, context, context.args[0].lower()[:2])
        return
    t = await texts_for(update, context)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(name, callback_data=f"{LANGUAGE}{codes.index(code)}")
                                      for code, name in LANGUAGES.items()]])
    await reply(update, t.language_menu(), keyboard)


async def _choose_language(update: Update, context: ContextTypes.DEFAULT_TYPE, code: str | None) -> None:
    t = await texts_for(update, context)
    if code is None or not await may_change(update, context, t):
        if code is None and update.callback_query is not None:
            await update.callback_query.answer(t.button_stale())
        return
    await service(context).choose_language(update.effective_chat.id, code)
    confirmation = Texts(code).language_set()
    if update.callback_query is not None:
        await update.callback_query.answer(confirmation)
        await edit(update.callback_query, confirmation)
    else:
        await reply(update, confirmation)


async def price(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    t = await texts_for(update, context)
    try:
        symbols = parse_price_symbols(context.args or [])
        snapshot = await service(context).snapshot()
    except CommandError as exc:
        await reply(update, t.usage_error(exc.reason, exc.value))
        return
    except ExchangeError as exc:
        await reply(update, exchange_trouble(t, exc, "/price"))
        return
    unknown = [s for s in symbols if s not in snapshot.prices]
    if len(unknown) == len(symbols):
        await reply(update, t.unknown_symbol(unknown[0], suggest(unknown[0], snapshot.prices)))
        return
    chart = symbol_chart_keyboard(t, symbols[0]) if len(symbols) == 1 else None  # 📈 for one symbol
    ticker = context.bot_data["parts"].ticker  # mark, index and funding, where this process reads them
    text = FuturesTexts(t.lang).prices_with_marks(symbols, snapshot.prices, snapshot.received_at,
                                                  ticker.fresh_marks(), ticker.funding_hours)
    await reply(update, text, chart)


async def pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    t = await texts_for(update, context)
    if await may_change(update, context, t):
        await reply(update, t.paused(await service(context).pause(update.effective_chat.id)))


async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    t = await texts_for(update, context)
    if await may_change(update, context, t):
        resumed = await service(context).resume(update.effective_chat.id)
        await reply(update, t.resumed(len(resumed.alerts)) + await _waiting(context, t, resumed))


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """For the operators listed in ADMIN_IDS only; others learn nothing, not even that it exists."""
    t = await texts_for(update, context)
    user = update.effective_user
    if user is None or user.id not in context.bot_data["admin_ids"]:
        await reply(update, t.unknown_command())
        return
    figures = await service(context).stats()
    await reply(update, t.stats(figures) + FuturesTexts(t.lang).mark_source(figures))


def only_chats(allowed: Container[int]) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]:
    """A guard for ALLOWED_CHAT_IDS: other chats get a polite refusal and nothing else.

    `allowed` may grow (telegram.allowlist: a group upgraded to a supergroup). It runs before the
    flood guard, so the refusal is sent at most once per chat per minute: a stranger's burst
    costs one message of the shared ~30/s, not one per command.
    """
    refused = CommandLimiter(1)

    async def guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is not None and chat.id in allowed:
            return
        message = update.effective_message
        if message is not None and message.migrate_from_chat_id in allowed:
            return  # an allowed group, upgraded: the migration handler lets the new id in
        if chat is not None and refused.check(chat.id) is not Verdict.PASS:
            raise ApplicationHandlerStop
        user = update.effective_user
        t = Texts(pick_language(user.language_code if user else None))  # nothing is stored for strangers
        if update.callback_query is not None:
            await update.callback_query.answer(t.not_allowed_short())
        elif update.effective_message is not None:
            await reply(update, t.not_allowed())
        raise ApplicationHandlerStop

    return guard


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, (await texts_for(update, context)).unknown_command())


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("error while handling %s", type(update).__name__, exc_info=context.error)
    if isinstance(update, Update) and update.callback_query is not None:
        try:  # else the button spins until Telegram gives up on it
            await update.callback_query.answer(Texts().internal_error_short())
        except Exception:  # already answered, too old, or the network is what failed
            log.debug("could not answer the button press", exc_info=True)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await reply(update, Texts().internal_error())
        except Exception:  # the reply itself may be what fails (blocked, network)
            log.debug("could not tell the chat about the error", exc_info=True)
