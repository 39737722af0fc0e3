"""The long-lived parts of one process, as the composition root (bot.runtime.compose) hands them over."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application

from bot.alerts.charts import ChartService
from bot.alerts.service import AlertService
from bot.alerts.tick import Ticker
from bot.exchange.client import BinanceClient
from bot.exchange.rest import KlineClient
from bot.exchange.streams import KlineStreams
from bot.notify.pacing import Pacer
from bot.notify.transport import BotApiClient
from bot.settings import Settings
from bot.storage.store import AlertStore
from bot.limits import CommandLimiter
from bot.telegram.allowlist import AllowedChats
from bot.webapp.quiet import TickQuiet


@dataclass
class Parts:
    """What one process runs on; bot.runtime.work starts and stops the singleton work among it."""

    settings: Settings
    engine: AsyncEngine
    store: AlertStore
    exchange: BinanceClient
    klines: KlineClient
    streams: KlineStreams | None
    ticker: Ticker
    alerts: AlertService
    charts: ChartService
    limiter: CommandLimiter  # COMMANDS_PER_MINUTE, shared by the chat's flood guard and the Mini App's API
    allowed: AllowedChats | None  # ALLOWED_CHAT_IDS (None: every chat), shared by the chat and the Mini App
    quiet: TickQuiet  # the tick announces itself here; the Mini App's API holds back its database work meanwhile
    # Fan-out (docs/fanout.md): Telegram's limits, counted once for the Application and the outbox,
    # and the outbox's own client for sendMessage (same token: bot.notify.transport says why).
    pacer: Pacer
    outbox_api: BotApiClient

    async def close(self) -> None:
        await self.exchange.close()
        await self.charts.close()
        await self.engine.dispose()


def parts_of(application: Application) -> Parts:
    parts: Parts = application.bot_data["parts"]
    return parts
