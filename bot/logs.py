"""Logging to stderr with timestamps, and never a secret.

Logs get pasted into chats and issue trackers, so redaction happens on the final text of each
line, traceback included, whichever library wrote it: the bot token (in Telegram URLs, in
exception messages), the webhook secret and passwords in database URLs. Uncaught exceptions
and warnings go through the same handler.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from types import TracebackType

# A bot token anywhere: "123456:AAE..." in /bot<token>/getMe, in InvalidToken messages, in reprs.
_TOKEN = re.compile(r"\b(\d{3,}):[A-Za-z0-9_-]{20,}")
# scheme://user:password@host: the password, whatever the scheme (postgresql+asyncpg, redis...).
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@")
_SHORTEST_SECRET = 4  # shorter "secrets" would redact ordinary words


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every secret replaced: tokens keep their bot id (`123456:***`)."""
    text = _TOKEN.sub(r"\1:***", text)
    for secret in secrets:
        if len(secret) >= _SHORTEST_SECRET:
            bot_id, colon, _ = secret.partition(":")
            text = text.replace(secret, f"{bot_id}:***" if colon and bot_id.isdigit() else "***")
    return _URL_PASSWORD.sub(r"\1***@", text)


class RedactingFormatter(logging.Formatter):
    """Formats a record as usual, then redacts the whole text: message, exception and stack."""

    def __init__(self, fmt: str, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


class RedactTokenFilter(logging.Filter):
    """For a single logger (tests, libraries used alone): redacts the message of each record."""

    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self._secrets = [token] if token else []

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message, self._secrets)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(token: str | None = None, level: int = logging.INFO, *, secrets: Iterable[str] = ()) -> None:
    """Every line on stderr, redacted; `token` and `secrets` (webhook secret, passwords) never show."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                            [*([token] if token else []), *secrets]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # One line per poll is noise; warnings from these libraries still show.
    for noisy in ("httpx", "apscheduler", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught


def _log_uncaught(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    """An exception nobody caught is printed through the redacting handler, not raw on stderr."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, trace)
        return
    logging.getLogger("pricealert").critical("uncaught exception", exc_info=(kind, error, trace))
