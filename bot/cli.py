"""pricealert: Telegram alerts for Binance USDⓈ-M futures prices."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import datetime, timezone

from bot.logs import configure_logging
from bot.memory import share_one_heap
from bot.settings import ExchangeSettings, Settings, SettingsError, load_settings

log = logging.getLogger("pricealert")


def main(argv: list[str] | None = None) -> int:
    share_one_heap()  # before any thread starts (bot/memory.py says why)
    parser = argparse.ArgumentParser(prog="pricealert", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="apply pending migrations, then run the bot until SIGINT/SIGTERM")
    commands.add_parser("migrate", help="apply pending database migrations and exit")
    prices = commands.add_parser("prices", help="fetch the latest prices once and print them")
    prices.add_argument("symbols", nargs="*", metavar="SYMBOL", help="symbols to show (default: all)")
    args = parser.parse_args(argv)

    try:
        if args.command == "prices":
            return show_prices(load_settings(ExchangeSettings), args.symbols)
        settings = load_settings(Settings)
    except SettingsError as exc:
        print(f"pricealert: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.telegram_bot_token.get_secret_value(), secrets=settings.secrets())

    from bot import runtime

    if args.command == "migrate":
        try:
            asyncio.run(runtime.migrate(settings.database_url))
        except Exception as exc:  # an unreachable or unwritable database
            log.error("cannot migrate the database at %s: %s", _safe_url(settings.database_url), exc)
            return 1
        log.info("database is up to date")
        return 0
    code = asyncio.run(runtime.run(settings))  # waits for Telegram, migrates, then works or stands by
    if code == 0:
        log.info("pricealert stopped")
    return code


def show_prices(settings: ExchangeSettings, typed: list[str]) -> int:
    """One all-symbol request, printed as `SYMBOL PRICE TIME`: a health check of the feed."""
    from bot.symbols import normalize_symbol
    from bot.exchange.client import BinanceClient, ClientOptions, ExchangeError, RestrictedLocation
    from bot.exchange.feed import PriceFeed

    logging.basicConfig(level=logging.ERROR, format="%(message)s")

    async def fetch() -> tuple:
        client = BinanceClient(settings.binance_ws_url, ClientOptions(request_timeout=settings.exchange_timeout))
        try:
            return await PriceFeed(client).refresh(), client.weight_used, client.weight_limit
        finally:
            await client.close()

    try:
        snapshot, weight, limit = asyncio.run(fetch())
    except RestrictedLocation as exc:  # the line names the cause and the remedy already
        print(f"pricealert: {exc}", file=sys.stderr)
        return 1
    except ExchangeError as exc:
        print(f"pricealert: cannot get prices from {settings.binance_ws_url}: {exc}", file=sys.stderr)
        return 1
    symbols = [normalize_symbol(s) or s for s in typed] or sorted(snapshot.prices)
    missing = 0
    for symbol in symbols:
        price = snapshot.prices.get(symbol)
        if price is None:
            print(f"{symbol}\tnot listed", file=sys.stderr)
            missing += 1
            continue
        millis = snapshot.trade_times.get(symbol)
        when = datetime.fromtimestamp(millis / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if millis else "-"
        print(f"{symbol}\t{price:f}\t{when}")
    print(f"{len(symbols) - missing} symbols; request weight used this minute: {weight} of {limit}", file=sys.stderr)
    return 1 if missing else 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
