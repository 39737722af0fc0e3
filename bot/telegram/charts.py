"""/chart and the 📈 buttons: read the request, ask the chart service, send the picture.

Anyone in a chat may ask for a chart (like /price): it reads the chat's alerts, changes nothing.
A chart that cannot be had gets a short answer; alerts and ticks never notice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.sources import PRICE_SOURCES
from bot.alerts.charts import Chart, ChartService
from bot.symbols import normalize_symbol, suggest
from bot.charts.intervals import DEFAULT_INTERVAL, INTERVALS, ChartUsage, parse_chart_args
from bot.exchange.client import ExchangeError, RateLimited, RequestRefused
from bot.exchange.rest import INVALID_SYMBOL, RestrictedLocation
from bot.notify.notices import NOTICE_CHART
from bot.telegram.buttons import SYMBOL_CHART
from bot.telegram.handlers import reply, service, texts_for
from bot.texts import Texts
from bot.webapp.links import with_app_button
from bot.telegram.topic_of import thread_of

log = logging.getLogger(__name__)


def chart_service(context: ContextTypes.DEFAULT_TYPE) -> ChartService:
    return context.bot_data["charts"]


async def chart(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/chart SYMBOL [INTERVAL]`."""
    t = await texts_for(update, context)
    try:
        symbol, interval = parse_chart_args(context.args or [])
    except ChartUsage as exc:
        if exc.reason == "interval":
            await reply(update, t.chart_bad_interval(exc.value, INTERVALS))
        elif exc.reason == "symbol":
            await reply(update, t.usage_error("bad_symbol", exc.value))
        else:
            await reply(update, t.usage_error("chart_usage"))
        return
    if not await _listed(update, context, t, symbol):
        return
    chat_id = update.effective_chat.id
    problem = await _send(context, t, chat_id, symbol, lambda: chart_service(context).chart(chat_id, symbol, interval),
                          thread_of(update))
    if problem:
        await reply(update, problem)


async def chart_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """📈 under a notification (that alert's chart) or under a /price answer (that symbol's)."""
    query = update.callback_query
    chat = update.effective_chat
    t = await texts_for(update, context)
    data = query.data or ""
    make: Callable[[], Awaitable[Chart]] | None = None
    symbol = ""
    if chat is not None and data.startswith(NOTICE_CHART) and data[len(NOTICE_CHART):].isdigit():
        alert = await chart_service(context).alert(chat.id, int(data[len(NOTICE_CHART):][:18]))
        if alert is not None:
            make = lambda: chart_service(context).alert_chart(chat.id, alert)  # noqa: E731
    elif chat is not None and data.startswith(SYMBOL_CHART):
        symbol = normalize_symbol(data[len(SYMBOL_CHART):]) or ""
        if symbol:
            make = lambda: chart_service(context).chart(chat.id, symbol, DEFAULT_INTERVAL)  # noqa: E731
    if make is None:
        await query.answer(t.button_stale())
        return
    # Answered before drawing: Telegram refuses an answer that comes too late ("query is too
    # old"), and the spinner on the button stops at once. A problem comes as a message instead.
    await query.answer()
    problem = await _send(context, t, chat.id, symbol, make, thread_of(update))
    if problem:
        await reply(update, problem)


async def _listed(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Texts, symbol: str) -> bool:
    """An unknown symbol gets the same suggestions as /alert. Without prices, the klines decide."""
    try:
        snapshot = await service(context).snapshot()
    except ExchangeError:
        return True
    if symbol in snapshot.prices:
        return True
    await reply(update, t.unknown_symbol(symbol, suggest(symbol, snapshot.prices)))
    return False


async def _send(context: ContextTypes.DEFAULT_TYPE, t: Texts, chat_id: int, symbol: str,
                make: Callable[[], Awaitable[Chart]], thread_id: int | None = None) -> str:
    """Sends the chart with sendPhoto (to the forum topic asked from); returns what to tell the user instead, or ""."""
    try:
        made = await make()
    except RateLimited as exc:
        return t.chart_rate_limited(exc.until - time.time())
    except RestrictedLocation:
        return t.chart_restricted()
    except RequestRefused as exc:
        if exc.code == INVALID_SYMBOL:
            return t.unknown_symbol(symbol, [])
        log.warning("chart refused: %s", exc)
        return t.exchange_unavailable()
    except ExchangeError as exc:
        log.warning("chart without klines: %s", exc)
        return t.exchange_unavailable()
    except Exception:  # a dead drawing process, a matplotlib error: this chart fails, nothing else
        log.exception("chart of %s failed", symbol or "an alert")
        return t.chart_failed()
    focus = made.focus
    crossed = ((focus.id, _at_precision(focus.fired_price, made.precision), focus.fired_at)
               if focus is not None and focus.fired_price is not None and focus.fired_at is not None
               and focus.price_source in PRICE_SOURCES else None)  # a funding alert crossed a rate, not a price
    caption = t.chart_caption(made.symbol, made.interval, made.latest, made.alerts, crossed)
    await context.bot.send_photo(chat_id, photo=made.png, caption=caption, parse_mode=ParseMode.HTML,
                                 filename=f"chart-{made.interval}.png", message_thread_id=thread_id,
                                 reply_markup=with_app_button(None, context.bot_data.get("app_links"), t.lang, chat_id,
                                                              made.symbol))
    return ""


def _at_precision(value: Decimal, precision: int) -> Decimal:
    """65000.1 stored -> 65000.10, as the exchange writes it; never fewer decimals than stored."""
    return value if -value.as_tuple().exponent >= precision else value.quantize(Decimal(1).scaleb(-precision))  # type: ignore[operator]
