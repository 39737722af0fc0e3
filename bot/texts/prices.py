"""Prices and charts: /price, unknown symbols, the exchange's refusals, /chart's captions."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from html import escape

from bot.texts.base import AlertLike, price, moment, TextsBase
from bot.alerts.editing import source_of
from bot.sources import PriceSource


class PriceTexts(TextsBase):
    # -- prices ---------------------------------------------------------------------------------
    def prices_list(self, symbols: Iterable[str], prices: Mapping[str, Decimal], received_at: float) -> str:
        lines = []
        for symbol in symbols:
            value = prices.get(symbol)
            lines.append(f"{escape(symbol)}: <b>{price(value)}</b>" if value is not None
                         else f"{escape(symbol)}: " + self._("not listed on Binance futures"))
        age = max(0, int(time.time() - received_at))
        lines.append("<i>" + self._("{age} s ago").format(age=age) + "</i>")
        return "\n".join(lines)

    def unknown_symbol(self, symbol: str, suggestions: Sequence[str]) -> str:
        text = self._("🤔 {symbol} is not a Binance USDⓈ-M futures symbol.").format(symbol=escape(symbol))
        if suggestions:
            text += " " + self._("Did you mean {symbols}?").format(
                symbols=", ".join(f"<code>{escape(s)}</code>" for s in suggestions))
        return text

    def exchange_restricted(self) -> str:
        return self._("⚠️ Binance refuses to serve the place where this bot runs, so it has no prices. "
                      "Only the bot's owner can fix that, by running it from a location Binance serves.")

    def exchange_unavailable(self) -> str:
        return self._("⚠️ Binance is not answering right now. Please try again in a minute.")

    # -- charts ---------------------------------------------------------------------------------
    def chart_button(self) -> str:
        return self._("📈 Chart")

    def chart_bad_interval(self, value: str, intervals: Iterable[str]) -> str:
        return self._("{value} is not a chart interval. Choose one of {intervals}, e.g. "
                      "<code>/chart BTCUSDT 15m</code>.").format(
            value=f"<code>{escape(value)}</code>", intervals=" ".join(f"<code>{i}</code>" for i in intervals))

    def chart_caption(self, symbol: str, interval: str, latest: str, alerts: Sequence[AlertLike],
                      crossed: tuple[int, Decimal, datetime] | None = None, limit: int = 1024) -> str:
        """Symbol, interval and latest price, then the alerts drawn (with their notes, which
        may be in any script: they live here, not in the picture), cut to Telegram's 1024."""
        head = self._("📈 <b>{symbol}</b> · {interval} · now <b>{price}</b>").format(
            symbol=escape(symbol), interval=interval, price=latest)
        lines = [head]
        if crossed is not None:  # (alert id, price, when) of the notification's crossing
            lines.append(self._("🔔 #{id} crossed {price} at {moment}").format(
                id=crossed[0], price=price(crossed[1]), moment=moment(crossed[2], self.zone)))
        sources = {source_of(a) for a in alerts}
        if sources & {PriceSource.MARK, PriceSource.INDEX}:  # the picture draws them dotted, labelled M / I
            lines.append(self._("┈ Dotted lines: levels on the mark price (M) or the index price (I)."))
        for alert in alerts:
            line = f"#{alert.id}{self._source(alert)} {self._target(alert.direction, alert.level, alert.window_seconds)}"
            line += f" — {escape(alert.note)}" if alert.note else ""
            if len("\n".join([*lines, line]).encode("utf-16-le")) // 2 > limit - 2:
                lines.append("…")
                break
            lines.append(line)
        return "\n".join(lines)

    def chart_rate_limited(self, seconds: float) -> str:
        return self._("⚠️ Binance asks the bot to slow down. Try the chart again in {seconds} s.").format(
            seconds=max(1, round(seconds)))

    def chart_restricted(self) -> str:
        return self._("⚠️ Binance does not serve charts where this bot runs; its owner can fix that. "
                      "Your alerts keep working.")

    def chart_failed(self) -> str:
        return self._("⚠️ The chart is unavailable right now. Please try again later; your alerts keep working.")
