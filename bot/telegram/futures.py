"""`/liq`: warnings as the mark price nears a position's liquidation price (docs/futures.md)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.alerts.commands import CommandError
from bot.alerts.liquidation import parse_liq
from bot.alerts.requests import NoMarkPrice, PastExpiry, TooManyAlerts, UnknownSymbol
from bot.exchange.client import ExchangeError
from bot.telegram.handlers import exchange_trouble, may_change, reply, service, texts_for
from bot.texts.futures import FuturesTexts


async def liq(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    t = await texts_for(update, context)
    if not await may_change(update, context, t):
        return
    futures = FuturesTexts(t.lang)
    try:
        request = parse_liq(list(context.args or []), t.zone)
        created, mark = await service(context).watch_liquidation(update.effective_chat.id, request)
    except CommandError as exc:  # the liquidation words, or a price, duration or date (bot.texts USAGE)
        await reply(update, futures.usage_error(exc.reason, exc.value))
    except PastExpiry:
        await reply(update, t.past_expiry())
    except UnknownSymbol as exc:
        await reply(update, t.unknown_symbol(exc.symbol, exc.suggestions))
    except TooManyAlerts as exc:
        await reply(update, t.too_many_alerts(exc.limit))
    except NoMarkPrice as exc:
        await reply(update, futures.no_mark_price(exc.symbol))
    except ExchangeError as exc:
        await reply(update, exchange_trouble(t, exc, "/liq"))
    else:
        await reply(update, futures.liq_created(created, request.long, request.liquidation, mark))
