"""`pricealert run` and `pricealert migrate` (also `python -m bot`)."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.logs import configure_logging
from bot.settings import SettingsError, load_settings

log = logging.getLogger("pricealert")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pricealert", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="apply pending migrations, then run the bot until SIGINT/SIGTERM")
    commands.add_parser("migrate", help="apply pending database migrations and exit")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"pricealert: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.telegram_bot_token.get_secret_value())

    from bot.storage import migrate

    try:
        migrate.upgrade(settings.database_url)
    except Exception as exc:  # an unreachable or unwritable database
        log.error("cannot migrate the database at %s: %s", _safe_url(settings.database_url), exc)
        return 1
    if args.command == "migrate":
        log.info("database is up to date")
        return 0

    from bot.telegram.app import ALLOWED_UPDATES, build_application

    application = build_application(settings)
    log.info("pricealert starting: polling Binance every %g s", settings.poll_interval)
    application.run_polling(allowed_updates=ALLOWED_UPDATES)
    log.info("pricealert stopped")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
