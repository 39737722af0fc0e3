"""Which price an alert watches. Below both the domain and storage: both need it."""

from __future__ import annotations

import enum


class PriceSource(str, enum.Enum):
    LAST = "last"  # the last trade (ticker.price): every alert before issue 24
    MARK = "mark"  # Binance's mark price: what liquidations and mark-price stops use
    INDEX = "index"  # the index price the mark price is built from
    FUNDING = "funding"  # the predicted funding rate, in % (level 0.05 means 0.05 %)
    # A reminder before each funding: the "price" is the seconds left until the next funding and
    # the level the lead (900: 15 minutes before), direction down; it fires when the time comes.
    FUNDING_BEFORE = "before"


PRICE_SOURCES = (PriceSource.LAST, PriceSource.MARK, PriceSource.INDEX)  # the ones whose level is a price
# From the mark price stream
FUTURES_SOURCES = (PriceSource.MARK, PriceSource.INDEX, PriceSource.FUNDING, PriceSource.FUNDING_BEFORE)
