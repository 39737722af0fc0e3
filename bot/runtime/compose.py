"""The composition root: every long-lived part of a process, built once from Settings, in order.

Read top to bottom it answers "where does this object come from?": the database and its store,
the exchange (WebSocket API, market streams, REST klines), the domain (the tick and the commands'
service), the charts, then the Telegram Application that is handed them, and the HTTP server's
routes. No layer below builds a sibling; each takes its collaborators as arguments.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from telegram.ext import Application

from bot.alerts.charts import ChartService
from bot.alerts.extremes import ExtremesTracker
from bot.alerts.service import AlertService
from bot.alerts.tick import Ticker
from bot.exchange.client import BinanceClient, ClientOptions
from bot.exchange.feed import PriceFeed
from bot.exchange.rest import KlineClient
from bot.exchange.markprice import MarkOptions, MarkPrices
from bot.exchange.streams import KlineStreams, StreamOptions
from bot.notify.notices import Notices
from bot.notify.pacing import Pacer
from bot.notify.transport import BotApiClient
from bot.runtime.parts import Parts, parts_of
from bot.runtime.web import HttpServer, health_handler, metrics_handler, webhook_handler
from bot.runtime.work import stop_work
from bot.settings import Settings
from bot.storage.db import make_engine, make_sessions
from bot.storage.store import AlertStore
from bot.telegram.app import make_application
from bot.limits import CommandLimiter
from bot.telegram.allowlist import AllowedChats
from bot.webapp.api import Route, webapp_routes
from bot.webapp.links import AppLinks
from bot.webapp.members import ChatRoles
from bot.webapp.quiet import TickQuiet

log = logging.getLogger(__name__)

QUIET_MAX_WAIT = 1.0  # seconds: the longest a Mini App request waits for a tick to end (bot.webapp.quiet)


def build_parts(settings: Settings) -> Parts:
    engine = make_engine(settings.database_url)
    store = AlertStore(make_sessions(engine))
    # REST and WebSocket share the IP's weight: after a 429/418 on either, neither sends.
    exchange = BinanceClient(settings.binance_ws_url, ClientOptions(
        request_timeout=settings.exchange_timeout, weight_warning_share=settings.weight_warning_share,
    ), shared_block=lambda: klines.rate_limited_until)
    klines = KlineClient(  # charts wait when ticks must, and ticks when charts must
        settings.binance_rest_url, timeout=settings.exchange_timeout,
        weight_warning_share=settings.weight_warning_share, shared_block=lambda: exchange.blocked_until,
    )
    # Wicks between checks: one market-stream reader feeding the extremes tracker the tick uses.
    extremes = ExtremesTracker()
    streams = KlineStreams(settings.binance_stream_url, extremes, StreamOptions(
        open_timeout=settings.exchange_timeout,
        silence_after=max(5 * settings.poll_interval, 3.0),  # a few ticks whose prices moved, and no kline
    )) if settings.binance_stream_url else None
    if streams is None:
        log.info("BINANCE_STREAM_URL is empty: wicks between checks are not watched; alerts fire from checked prices")
    # Mark and index prices and funding (docs/futures.md): the all-market stream on the same host,
    # with premiumIndex through the same REST client (one weight discipline) while it is silent.
    marks = MarkPrices(settings.binance_stream_url, klines, MarkOptions(
        open_timeout=settings.exchange_timeout, fallback_every=settings.mark_fallback_every,
    )) if settings.binance_stream_url else None
    feed = PriceFeed(exchange)
    ticker = Ticker(
        store, feed, Notices(), poll_interval=settings.poll_interval, stale_after=settings.stale_after,
        streams=streams, extremes=extremes if streams else None,
        allowed_chat_ids=settings.allowed_chat_ids, symbol_gone_after=settings.symbol_gone_after, marks=marks,
    )
    alerts = AlertService(store, feed, ticker, poll_interval=settings.poll_interval,
                          max_alerts_per_chat=settings.max_alerts_per_chat)
    charts = ChartService(klines, store)
    # One limiter for the chat's commands and the Mini App's changes (they count together), and one
    # live allowlist for both (it follows an allowed group upgraded to a supergroup).
    limiter = CommandLimiter(settings.commands_per_minute)
    allowed = AllowedChats(settings.allowed_chat_ids) if settings.allowed_chat_ids else None
    # Telegram's limits, one count for every request the bot makes; the outbox sends through its own
    # client (bot.notify.transport says why), with the same token and the same pacer.
    pacer = Pacer(max_retries=3)
    outbox_api = BotApiClient(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_url)
    # While a tick runs, the Mini App's API waits (at most QUIET_MAX_WAIT) before its database work.
    quiet = TickQuiet(max_wait=QUIET_MAX_WAIT)
    return Parts(settings, engine, store, exchange, klines, streams, ticker, alerts, charts, limiter, allowed,
                 quiet, pacer, outbox_api)


def build_application(settings: Settings) -> Application:
    """The parts, and the Telegram Application handed them (its handlers reach them through bot_data)."""
    parts = build_parts(settings)

    async def on_shutdown(application: Application) -> None:
        await parts.close()

    # The Mini App's "Open chart" buttons; the bot's username is known once it has asked getMe.
    links = AppLinks(settings.webapp_url, settings.webapp_short_name, settings.telegram_bot_token.get_secret_value(),
                     lambda: application.bot.username or "") if settings.webapp_url else None
    application = make_application(settings, alerts=parts.alerts, store=parts.store, charts=parts.charts,
                                   limiter=parts.limiter, allowed=parts.allowed, links=links,
                                   post_stop=stop_work, post_shutdown=on_shutdown, pacer=parts.pacer)
    # "ticking": never two ticks at once, and stop_work waits for the one in flight (bot.runtime.work).
    application.bot_data.update(parts=parts, ticking=asyncio.Lock())
    return application


def build_http(settings: Settings, application: Application,
               health: Callable[[], Awaitable[tuple[int, str]]]) -> HttpServer:
    """One aiohttp server per listen address: the webhook, /healthz and /metrics (one port may serve them all)."""
    http = HttpServer()
    if settings.webhook_url:
        path = urlsplit(settings.webhook_url).path or "/"
        http.add(settings.webhook_listen, "POST", path, webhook_handler(application, settings.webhook_token()))
    if settings.metrics_listen:
        http.add(settings.metrics_listen, "GET", "/healthz", health_handler(health))
        http.add(settings.metrics_listen, "GET", "/metrics", metrics_handler)
    if settings.webapp_url:  # the Mini App's page and API (bot.webapp, issue 23), on any replica
        for method, path, handler in webapp_of(settings, application):
            http.add(settings.webapp_listen, method, path, handler)
    return http


def webapp_of(settings: Settings, application: Application) -> list[Route]:
    """The Mini App's page and API, handed the parts the chat uses (the same limiter and allowlist)."""
    parts = parts_of(application)
    return webapp_routes(
        parts.alerts, parts.charts, bot_token=settings.telegram_bot_token.get_secret_value(),
        roles=ChatRoles(application.bot), limiter=parts.limiter, allowed=parts.allowed,
        poll_interval=settings.poll_interval, base_path=urlsplit(settings.webapp_url).path or "/",
        local_sdk=settings.webapp_local_sdk, quiet=parts.quiet,
    )
