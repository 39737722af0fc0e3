"""Mark prices, index prices and funding as Binance USDⓈ-M publishes them, shared by the fake
market streams (`!markPrice@arr@1s`) and the fake REST server (`premiumIndex`, `fundingInfo`).

Shapes checked against Binance's official USDⓈ-M SDK (binance/binance-connector-python,
clients/derivatives_trading_usds_futures): websocket_streams/models/
mark_price_stream_for_all_market_response_inner.py (`e`, `E`, `s`, `p`, `i`, `P`, `r`, `T`, all
prices strings, `E`/`T` integers) and rest_api/models/get_funding_rate_info_response_inner.py
(`symbol`, `adjustedFundingRateCap`, `adjustedFundingRateFloor`, `fundingIntervalHours` an
integer, `disclaimer`); premiumIndex's keys from shared/binance-mark-price.md. Mark prices carry 8
decimals, as Binance's do. Delivery contracts (`BTCUSDT_261225`) have `r` "" and `T` 0; TradFi
contracts (`XAUUSDT`, `HK0700USDT`) come in a message of their own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tests.fakes.exchange import initial_prices

EIGHT = Decimal("0.00000001")
SEPARATE = {"XAUUSDT", "HK0700USDT", "TSLAUSDT"}  # TradFi contracts: a message of their own
# fundingInfo lists only the symbols whose funding Binance adjusted.
ADJUSTED_FUNDING = {"BTCUSDC": 4, "1000PEPEUSDT": 4, "XAUUSDT": 1}


def delivery(symbol: str) -> bool:
    return "_" in symbol  # BTCUSDT_261225: a quarterly contract


def next_funding_ms(hours: int, now: float | None = None) -> int:
    step = hours * 3600
    now = time.time() if now is None else now
    return int((now // step + 1) * step * 1000)


@dataclass
class Mark:
    mark: Decimal
    index: Decimal
    rate: Decimal | None  # None: a delivery contract


@dataclass
class FakeMarks:
    marks: dict[str, Mark] = field(default_factory=dict)
    funding_hours: dict[str, int] = field(default_factory=lambda: dict(ADJUSTED_FUNDING))
    next_funding: dict[str, int] = field(default_factory=dict)  # symbol -> ms, instead of the next interval's start

    @classmethod
    def from_prices(cls, prices: dict[str, str] | None = None) -> FakeMarks:
        fake = cls()
        for symbol, price in (prices or initial_prices()).items():
            value = Decimal(price)
            fake.marks[symbol] = Mark(value, value, None if delivery(symbol) else Decimal("0.0001"))
        return fake

    def set(self, symbol: str, mark: str, index: str | None = None, rate: str | None = None) -> None:
        old = self.marks.get(symbol)
        self.marks[symbol] = Mark(
            Decimal(mark), Decimal(index) if index is not None else (old.index if old else Decimal(mark)),
            Decimal(rate) if rate is not None else (old.rate if old else None if delivery(symbol) else Decimal("0.0001")),
        )

    def _next(self, symbol: str, mark: Mark) -> int:
        if mark.rate is None:
            return 0
        return self.next_funding.get(symbol) or next_funding_ms(self.funding_hours.get(symbol, 8))

    def stream_entries(self) -> list[list[dict[str, Any]]]:
        """One push: the main message, then the TradFi symbols' own message."""
        now = int(time.time() * 1000)
        main, separate = [], []
        for symbol, mark in self.marks.items():
            entry = {
                "e": "markPriceUpdate", "E": now, "s": symbol, "p": f"{mark.mark.quantize(EIGHT):f}",
                "i": f"{mark.index.quantize(EIGHT):f}", "P": f"{mark.mark.quantize(EIGHT):f}",
                "r": "" if mark.rate is None else f"{mark.rate.quantize(EIGHT):f}", "T": self._next(symbol, mark),
            }
            (separate if symbol in SEPARATE else main).append(entry)
        return [main, separate] if separate else [main]

    def premium_index(self, symbol: str | None = None) -> list[dict[str, Any]] | dict[str, Any] | None:
        now = int(time.time() * 1000)
        rows = {
            s: {"symbol": s, "markPrice": f"{m.mark.quantize(EIGHT):f}", "indexPrice": f"{m.index.quantize(EIGHT):f}",
                "estimatedSettlePrice": f"{m.mark.quantize(EIGHT):f}",
                "lastFundingRate": "" if m.rate is None else f"{m.rate.quantize(EIGHT):f}",
                "interestRate": "" if m.rate is None else "0.00010000", "nextFundingTime": self._next(s, m), "time": now}
            for s, m in self.marks.items() if symbol is None or s == symbol
        }
        if symbol is not None:
            return rows.get(symbol)
        return list(rows.values())

    def funding_info(self) -> list[dict[str, Any]]:
        return [{"symbol": s, "adjustedFundingRateCap": "0.02000000", "adjustedFundingRateFloor": "-0.02000000",
                 "fundingIntervalHours": h, "disclaimer": False} for s, h in self.funding_hours.items()]
