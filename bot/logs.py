"""Logging to stderr with timestamps, and never the bot token."""

from __future__ import annotations

import logging
import re

# httpx logs each request URL at INFO, and Telegram URLs carry the token: /bot<token>/method.
_TOKEN_IN_URL = re.compile(r"bot\d+:[A-Za-z0-9_-]+")


class RedactTokenFilter(logging.Filter):
    """Replaces bot tokens in a record's final text, whichever library logged it."""

    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN_IN_URL.sub("bot<token>", message)
        if self._token:
            redacted = redacted.replace(self._token, "<token>")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(token: str | None = None, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokenFilter(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # One line per poll is noise; warnings from these libraries still show.
    for noisy in ("httpx", "apscheduler", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
