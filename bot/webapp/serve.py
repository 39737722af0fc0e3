"""The Mini App's routes for the running process: its services taken from the Application.

A hook for bot.runtime (and the tests, which serve exactly these routes); after the composition
root moves to bot.runtime it can call `webapp_routes` with the services it built.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from telegram.ext import Application

from bot.settings import Settings
from bot.webapp.api import Route, webapp_routes
from bot.webapp.members import ChatRoles


def routes_for(application: Application, settings: Settings) -> list[Route]:
    data = application.bot_data
    return webapp_routes(
        data["alerts"], data["charts"], bot_token=settings.telegram_bot_token.get_secret_value(),
        roles=ChatRoles(application.bot), limiter=data["limiter"], poll_interval=settings.poll_interval,
        base_path=urlsplit(settings.webapp_url).path or "/", local_sdk=settings.webapp_local_sdk,
    )
