"""The words of futures prices (issue 24, docs/futures.md): mark and index alerts, /price's
futures lines, where mark prices come from."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from html import escape

from bot.alerts.rules import Direction
from bot.sources import PriceSource
from bot.alerts.liquidation import distance
from bot.exchange.markprice import MarkPrice
from bot.i18n import N_
from bot.texts import USAGE, Texts, duration, price

FUTURES_USAGE = {
    "source_with_move": N_("Mark and index alerts take a level or a move from the current price, "
                           "e.g. <code>/alert BTCUSDT mark 70000</code> or <code>/alert BTCUSDT mark -3%</code>, "
                           "not a move within a time window ({value})."),
    "funding_usage": N_("Tell me a direction and a rate, e.g. <code>/alert BTCUSDT funding above 0.05%</code> or "
                        "<code>/alert BTCUSDT funding below -0.01%</code>."),
    "bad_funding": N_("{value} is not a funding rate I can watch: write a percentage between -10% and 10%, "
                      "e.g. <code>0.05%</code>."),
    "liq_usage": N_("Tell me a symbol, long or short, and the liquidation price your exchange shows, e.g. "
                    "<code>/liq BTCUSDT long 61234</code>, or with your own steps and an end "
                    "<code>/liq BTCUSDT long 61234 at 3% 1% for 7d</code>."),
    "bad_liq_step": N_("{value} is not a step I can use: write percentages up to 50%, e.g. <code>at 3% 1%</code>."),
    "source_usage": N_("Tell me a level after {value}, e.g. <code>/alert BTCUSDT mark 70000</code> or "
                       "<code>/alert BTCUSDT index below 65000 every 1h</code>."),
}

USAGE.update(FUTURES_USAGE)  # Texts.usage_error finds them too (parse_alert raises them)


def _percent(value: Decimal) -> str:
    """0.0125 -> "0.0125", 0.01000000 -> "0.01": a rate in % without trailing zeros."""
    return f"{value.normalize():f}" if value else "0"


class FuturesTexts(Texts):
    def source_name(self, source: PriceSource) -> str:
        """How an alert's price is named in lists and notifications ("" for the last price)."""
        if source is PriceSource.MARK:
            return self._("mark price")
        if source is PriceSource.INDEX:
            return self._("index price")
        if source is PriceSource.FUNDING:
            return self._("funding rate")
        return ""

    def mark_fired(self, alert_id: int, symbol: str, source: PriceSource, direction: Direction, level: Decimal,
                   crossed_at: Decimal, last: Decimal | None, note: str, *, repeats: bool = False) -> str:
        """A mark or index alert fired: which price it was, and what the last trade was then."""
        if source is PriceSource.FUNDING:
            return self.funding_fired(alert_id, symbol, direction, level, crossed_at, note)
        if source is PriceSource.FUNDING_BEFORE:
            return self.funding_reminder(alert_id, symbol, crossed_at, last, note)
        if direction is Direction.UP:
            template = self._("🔔 <b>{symbol}</b> {source} rose to <b>{price}</b> (your level {level}, alert #{id})")
        else:
            template = self._("🔔 <b>{symbol}</b> {source} fell to <b>{price}</b> (your level {level}, alert #{id})")
        text = template.format(symbol=escape(symbol), source=self.source_name(source), price=price(crossed_at),
                               level=price(level), id=alert_id)
        if last is not None:
            text += "\n" + self._("Last price: {price}").format(price=price(last))
        again = "\n" + self._("🔁 It fires again after the price goes back and the cooldown ends.") if repeats else ""
        return text + (f"\n📝 {escape(note)}" if note else "") + again

    def funding_fired(self, alert_id: int, symbol: str, direction: Direction, level: Decimal, rate: Decimal,
                      note: str) -> str:
        if direction is Direction.UP:
            template = self._("🔔 <b>{symbol}</b> funding rate rose to <b>{rate}%</b> (your level {level}%, alert #{id})")
        else:
            template = self._("🔔 <b>{symbol}</b> funding rate fell to <b>{rate}%</b> (your level {level}%, alert #{id})")
        text = template.format(symbol=escape(symbol), rate=_percent(rate), level=_percent(level), id=alert_id)
        return text + (f"\n📝 {escape(note)}" if note else "")

    def funding_reminder(self, alert_id: int, symbol: str, seconds_left: Decimal, rate: Decimal | None,
                         note: str) -> str:
        """The predicted rate, when funding is, and what it costs or pays per 1,000 USDT long and short."""
        at = datetime.now(timezone.utc) + timedelta(seconds=float(seconds_left))
        local = at.astimezone(self.zone) if self.zone is not None else at  # the chat's /timezone clock
        text = self._("⏰ <b>{symbol}</b> funding in {left} (at {at}), alert #{id}").format(
            symbol=escape(symbol), left=duration(max(60.0, float(seconds_left))),
            at=local.strftime("%H:%M ") + (local.tzname() or "UTC"), id=alert_id)
        if rate is not None:
            per_thousand = Decimal(1000) * rate / 100  # exact: 0.0125 % of 1,000 is 0.125
            text += "\n" + self._("Predicted rate: {rate}%").format(rate=_percent(rate))
            amount = _percent(abs(per_thousand))
            if per_thousand >= 0:
                text += "\n" + self._("Per 1,000 USDT: a long pays {amount} USDT, a short receives {amount} USDT.").format(
                    amount=amount)
            else:
                text += "\n" + self._("Per 1,000 USDT: a long receives {amount} USDT, a short pays {amount} USDT.").format(
                    amount=amount)
        return text + (f"\n📝 {escape(note)}" if note else "")

    def reminder_created(self, alerts: Sequence[object], seconds_left: Decimal, repeats: bool) -> str:
        lead = duration(float(getattr(alerts[0], "level")))
        alert_id = getattr(alerts[0], "id")
        template = (self._("✅ Alert #{id}: {symbol} funding reminder {lead} before each funding.") if repeats else
                    self._("✅ Alert #{id}: {symbol} funding reminder {lead} before the next funding."))
        return template.format(id=alert_id, symbol=escape(getattr(alerts[0], "symbol")), lead=lead) + "\n" + \
            self._("Next funding in {left}.").format(left=duration(max(60.0, float(seconds_left))))

    def funding_created(self, alerts: Sequence[object], current: Decimal) -> str:
        """✅ for a funding alert: its line, and the rate now."""
        lines = [self._("✅ Alert {line}%").format(line=self._line(a)) for a in alerts]  # type: ignore[arg-type]
        lines.append(self._("The funding rate is now {rate}%.").format(rate=_percent(current)))
        return "\n".join(lines)

    def liq_warning(self, alert_id: int, symbol: str, mark: Decimal, liquidation: Decimal, level: Decimal) -> str:
        long = level > liquidation
        return self._("⚠️ <b>{symbol}</b> mark price <b>{mark}</b> is {distance}% from your liquidation price "
                      "{liquidation} ({side}, alert #{id})").format(
            symbol=escape(symbol), mark=price(mark), distance=f"{distance(long, liquidation, mark):f}",
            liquidation=price(liquidation), side=self._("long") if long else self._("short"), id=alert_id)

    def liq_created(self, alerts: Sequence[object], long: bool, liquidation: Decimal, mark: Decimal) -> str:
        steps = ", ".join(f"#{getattr(a, 'id')} ({distance(long, liquidation, getattr(a, 'level')).normalize():f}%)"
                          for a in alerts)
        return self._("✅ Watching {symbol} {side}, liquidation price {liquidation}: a warning when the mark price "
                      "comes within {steps}. Mark price now {mark} ({distance}% away). /delete with any of these numbers "
                      "ends the whole watch.").format(
            symbol=escape(getattr(alerts[0], "symbol")), side=self._("long") if long else self._("short"),
            liquidation=price(liquidation), steps=steps, mark=price(mark),
            distance=f"{distance(long, liquidation, mark):f}")

    def liq_deleted(self, alert_id: int, symbol: str, liquidation: Decimal) -> str:
        return self._("🗑 Alert #{id} deleted, and with it every warning of your {symbol} liquidation watch at "
                      "{liquidation}.").format(id=alert_id, symbol=escape(symbol), liquidation=price(liquidation))

    def no_funding(self, symbol: str) -> str:
        return self._("{symbol} has no funding (a delivery contract settles instead), so there is no funding "
                      "rate to watch.").format(symbol=escape(symbol))

    def created_on(self, source: PriceSource, current: Decimal) -> str:
        """Under "✅ Alert #…" for a mark or index alert: which price it watches, and where it is now."""
        return self._("Watches the {source}, now {price}.").format(source=self.source_name(source),
                                                                  price=price(current))

    def guide_which_price(self) -> str:
        return self._("Last price or mark price?")

    def guide_on_mark(self, mark: Decimal, targets: Sequence[tuple[Direction, Decimal]]) -> str:
        """Under a `+5%` in the guide: where the level lands if "Mark price" is chosen (computed
        from the mark price, as the alert created then is)."""
        levels = ", ".join(self._target(direction, level, None, bold=True) for direction, level in targets)
        return self._("On the mark price (now {mark}): {levels}").format(mark=price(mark), levels=levels)

    def guide_last_button(self) -> str:
        return self._("✅ Last price")

    def guide_mark_button(self) -> str:
        return self._("✅ Mark price")

    def no_mark_price(self, symbol: str) -> str:
        return self._("⚠️ I have no fresh mark price for {symbol} right now, so I cannot place a mark or index "
                      "alert. Please try again in a minute.").format(symbol=escape(symbol))

    def price_futures(self, mark: Decimal, index: Decimal, rate: Decimal | None, next_funding_ms: int | None,
                      hours: int) -> str:
        """/price's futures lines for one symbol: mark, index, funding and the time to the next funding."""
        lines = [self._("mark {mark} · index {index}").format(mark=price(mark), index=price(index))]
        if rate is None:
            lines.append(self._("no funding (a delivery contract)"))
        else:
            left = max(0.0, (next_funding_ms or 0) / 1000 - time.time())
            lines.append(self._("funding {rate}% every {hours}h, next in {left}").format(
                rate=f"{(rate * 100).normalize():f}", hours=hours, left=duration(left)))
        return "\n".join("  " + line for line in lines)

    def prices_with_marks(self, symbols: Sequence[str], prices: Mapping[str, Decimal], received_at: float,
                          marks: Mapping[str, MarkPrice], funding_hours: Callable[[str], int]) -> str:
        """/price: each symbol's last price, then its mark, index and funding when they are known."""
        lines = self.prices_list(symbols, prices, received_at).split("\n")  # one per symbol, then the age
        out = []
        for symbol, line in zip(symbols, lines):
            out.append(line)
            mark = marks.get(symbol)
            if mark is not None and symbol in prices:
                out.append(self.price_futures(mark.mark, mark.index, mark.funding_rate, mark.next_funding_ms,
                                              funding_hours(symbol)))
        return "\n".join(out + lines[len(symbols):])

    def mark_source(self, figures: Mapping[str, object]) -> str:
        """/stats: where mark prices come from."""
        state = figures.get("mark_prices")
        if state is None:
            return ""
        states = {
            "stream": self._("the all-market stream"),
            "fallback": self._("premiumIndex (the stream is silent)"),
            "down": self._("none fresh: mark and index alerts wait"),
            "off": self._("off (BINANCE_STREAM_URL is empty)"),
        }
        return "\n" + self._("Mark prices: {state}").format(state=states.get(str(state), str(state)))
