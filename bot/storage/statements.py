"""The tick's SQL: the prices (and wicks, and moves) as a table in one parameter, joined through
the alerts' index by one UPDATE per direction (bot.storage.firing runs them).

Both databases get the same statements; where their SQL differs (JSON tables, epoch seconds) the
difference is compiled here and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import (
    CTE, Float, Integer, String, Update, bindparam, case, column, func, or_, select, text, update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.functions import FunctionElement

from bot.crossing import Direction, Extremes
from bot.sources import PriceSource
from bot.storage.models import Alert, AlertState
from bot.storage.types import DECIMAL_PLACES, MAX_VALUE, ExactDecimal, scaled


def price_table(dialect: str, prices: Mapping[str, Decimal]) -> CTE:
    """All prices as a table in one JSON parameter.

    One parameter, not 600 VALUES rows: the statement stays the same from tick to tick, so
    SQLAlchemy compiles it once (compiling the VALUES form took most of a tick's time).
    """
    if dialect == "sqlite":
        payload = json.dumps({symbol: scaled(price) for symbol, price in prices.items()})
        sql = "SELECT key AS symbol, value AS price FROM json_each(:prices)"
    else:
        payload = json.dumps({symbol: str(price) for symbol, price in prices.items()})
        sql = "SELECT key AS symbol, CAST(value AS NUMERIC(28, 10)) AS price FROM jsonb_each_text(CAST(:prices AS JSONB))"
    return (
        text(sql)
        .bindparams(bindparam("prices", payload, type_=String))
        .columns(column("symbol", String), column("price", ExactDecimal()))
        .cte("prices")
    )


_SCALED_LIMIT = int(MAX_VALUE.scaleb(DECIMAL_PLACES))


def _scaled(value: Decimal) -> int | None:
    """`scaled(value)` when the value `fits`, else None."""
    shifted = value.scaleb(DECIMAL_PLACES)
    whole = int(shifted)
    return whole if whole == shifted and abs(whole) < _SCALED_LIMIT else None


class epoch_seconds(FunctionElement[float]):
    """A naive-UTC DateTime column as epoch seconds, to compare with the stream's times (floats)."""

    type = Float()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


def reach_table(dialect: str, prices: Mapping[str, Decimal], extremes: Mapping[str, Extremes]) -> CTE:
    """price_table plus how far each symbol went since the last tick: `high` is the highest wick
    the market stream saw when it is beyond the last price, else the price; `low` likewise. The
    firing scan runs from the level to there, in the same pass as the last price."""
    sqlite = dialect == "sqlite"
    rows: dict[str, list[object]] = {}
    for symbol, price in prices.items():
        stored = scaled(price) if sqlite else str(price)
        high = low = stored
        seen = extremes.get(symbol)
        if seen is not None:
            if seen.high is not None and seen.high > price and (farthest := _scaled(seen.high)) is not None:
                high = farthest if sqlite else str(seen.high)
            if seen.low is not None and seen.low < price and (farthest := _scaled(seen.low)) is not None:
                low = farthest if sqlite else str(seen.low)
        rows[symbol] = [stored, high, low]
    if sqlite:
        sql = ("SELECT key AS symbol, json_extract(value, '$[0]') AS price, json_extract(value, '$[1]') AS high, "
               "json_extract(value, '$[2]') AS low FROM json_each(:prices)")
    else:
        sql = ("SELECT key AS symbol, CAST(value->>0 AS NUMERIC(28, 10)) AS price, "
               "CAST(value->>1 AS NUMERIC(28, 10)) AS high, CAST(value->>2 AS NUMERIC(28, 10)) AS low "
               "FROM jsonb_each(CAST(:prices AS JSONB))")
    return (
        text(sql)
        .bindparams(bindparam("prices", json.dumps(rows), type_=String))
        .columns(column("symbol", String), column("price", ExactDecimal()), column("high", ExactDecimal()),
                 column("low", ExactDecimal()))
        .cte("prices")
    )


def wick_table(dialect: str, prices: Mapping[str, Decimal], extremes: Mapping[str, Extremes],
               direction: Direction) -> CTE | None:
    """The wicks since the last tick on one side as (symbol, price, seen_at epoch seconds) rows:
    the suffix extremes (alerts.extremes), so that "the highest price seen since this alert was
    armed" is a MAX over the rows seen at or after armed_at. Only wicks beyond the last price:
    the others fire nothing the price does not. None when there is none."""
    sqlite, up = dialect == "sqlite", direction is Direction.UP
    rows = []
    for symbol, seen in extremes.items():
        price = prices.get(symbol)
        if price is None:
            continue
        for wick, at in seen.highs if up else seen.lows:
            if (wick > price) if up else (wick < price):
                stored = _scaled(wick)  # 4 times cheaper than fits() + scaled(): 1,200 rows at 600 symbols
                if stored is not None:
                    rows.append([symbol, stored if sqlite else str(wick), at])
    if not rows:
        return None
    if sqlite:
        sql = ("SELECT json_extract(value, '$[0]') AS symbol, json_extract(value, '$[1]') AS price, "
               "json_extract(value, '$[2]') AS seen_at FROM json_each(:wicks)")
    else:
        sql = ("SELECT value->>0 AS symbol, CAST(value->>1 AS NUMERIC(28, 10)) AS price, "
               "CAST(value->>2 AS DOUBLE PRECISION) AS seen_at FROM jsonb_array_elements(CAST(:wicks AS JSONB))")
    return (
        text(sql)
        .bindparams(bindparam("wicks", json.dumps(rows), type_=String))
        .columns(column("symbol", String), column("price", ExactDecimal()), column("seen_at", Float()))
        .cte("wicks")
    )


def fire_statement(table: CTE, direction: Direction, now: datetime, wicks: CTE | None = None,
                   source: PriceSource = PriceSource.LAST) -> Update:
    """Fires the active alerts of one direction whose level the table's price reached.

    Per (symbol, direction) this is a range scan on ix_alerts_firing (state, symbol, direction,
    level): it reads the alerts that fire and no others. Once-alerts end FIRED; repeating ones
    go WAITING for the price to come back.

    With a reach_table and the side's wick_table, the same scan goes on to the farthest wick
    since the last tick: an alert there fires when the last price reached it, or a wick seen
    since the alert was armed did (a wick older than the alert never fires it). Its
    fired_price is what reached it: the last price, else the farthest wick since it was armed.
    """
    up = direction is Direction.UP
    by_price = Alert.level <= table.c.price if up else Alert.level >= table.c.price
    reached, fired_price = by_price, table.c.price
    if wicks is not None:
        armed = epoch_seconds(func.coalesce(Alert.armed_at, Alert.created_at))  # NULL armed_at: rows before 0006
        touched = (
            select(func.max(wicks.c.price) if up else func.min(wicks.c.price))
            .where(wicks.c.symbol == Alert.symbol, wicks.c.seen_at >= armed)
            .scalar_subquery()
        )
        in_reach = Alert.level <= table.c.high if up else Alert.level >= table.c.low
        reached = in_reach & or_(by_price, Alert.level <= touched if up else Alert.level >= touched)
        fired_price = case((by_price, table.c.price), else_=touched)
    return (
        update(Alert)
        .where(Alert.state == AlertState.ACTIVE, Alert.symbol == table.c.symbol, Alert.direction == direction,
               Alert.price_source == source, reached)
        .values(
            state=case((Alert.repeat_seconds.is_(None), AlertState.FIRED.value), else_=AlertState.WAITING.value),
            fired_at=now, fired_price=fired_price, fire_count=Alert.fire_count + 1,
            closed_at=case((Alert.repeat_seconds.is_(None), now), else_=None),
        )
        .returning(
            Alert.id, Alert.chat_id, Alert.symbol, Alert.direction, Alert.level, Alert.note,
            Alert.repeat_seconds, Alert.fired_price, Alert.liquidation,
        )
    )


def arm_statement(table: CTE, direction: Direction, now: datetime, source: PriceSource = PriceSource.LAST) -> Update:
    """ARMING alerts whose price is strictly back on the waiting side of rearm_level are armed.

    Strictly: a price that sits at the level arms nothing, so it cannot arm and fire in one tick.
    The same range scan as went_back_statement, on ix_alerts_rearm.
    """
    back = Alert.rearm_level > table.c.price if direction is Direction.UP else Alert.rearm_level < table.c.price
    return (
        update(Alert)
        .where(Alert.state == AlertState.ARMING, Alert.symbol == table.c.symbol, Alert.direction == direction,
               Alert.price_source == source, back)
        .values(state=AlertState.ACTIVE, armed_at=now)
    )


def went_back_statement(table: CTE, direction: Direction, source: PriceSource = PriceSource.LAST) -> Update:
    """WAITING repeat alerts whose price went back past rearm_level start their cooldown.

    The same shape as firing, on ix_alerts_rearm (state, symbol, direction, rearm_level).
    """
    back = Alert.rearm_level >= table.c.price if direction is Direction.UP else Alert.rearm_level <= table.c.price
    return (
        update(Alert)
        .where(Alert.state == AlertState.WAITING, Alert.symbol == table.c.symbol, Alert.direction == direction,
               Alert.price_source == source, back)
        .values(state=AlertState.COOLING)
    )


STORED_STEP = Decimal("1e-10")


def move_table(dialect: str, moves: Mapping[tuple[str, int], tuple[Decimal, Decimal]]) -> CTE:
    """(symbol, window, percent moved) rows in one JSON parameter, like price_table.

    The percent is rounded down to the stored step, so a move never counts for more than it was.
    """
    percent = {key: move[0].quantize(STORED_STEP, rounding=ROUND_DOWN) for key, move in moves.items()}
    if dialect == "sqlite":
        payload = json.dumps([{"s": s, "w": w, "p": scaled(p)} for (s, w), p in percent.items()])
        sql = ("SELECT json_extract(value, '$.s') AS symbol, json_extract(value, '$.w') AS win, "
               "json_extract(value, '$.p') AS percent FROM json_each(:moves)")
    else:
        payload = json.dumps([{"s": s, "w": w, "p": str(p)} for (s, w), p in percent.items()])
        sql = ("SELECT s AS symbol, w AS win, CAST(p AS NUMERIC(28, 10)) AS percent "
               "FROM jsonb_to_recordset(CAST(:moves AS JSONB)) AS m(s TEXT, w INTEGER, p TEXT)")
    return (
        text(sql)
        .bindparams(bindparam("moves", payload, type_=String))
        .columns(column("symbol", String), column("win", Integer), column("percent", ExactDecimal()))
        .cte("moves")
    )


def _distinct_symbols(where: str) -> TextClause:
    """The distinct symbols of the alerts matching `where` (with a :state parameter), by a loose
    index scan on ix_alerts_firing (state, symbol, ...): one index seek per symbol found (the
    next symbol after the previous one), not a read of every alert."""
    return text(
        "WITH RECURSIVE symbols(symbol) AS ("
        f" SELECT (SELECT MIN(symbol) FROM alerts WHERE {where})"
        " UNION ALL"
        f" SELECT (SELECT MIN(symbol) FROM alerts WHERE {where} AND symbol > symbols.symbol)"
        " FROM symbols WHERE symbols.symbol IS NOT NULL"
        ") SELECT symbol FROM symbols"
    )


# last-price level alerts (the kline streams catch trades' wicks, nothing of the mark price)
NEXT_SYMBOLS = _distinct_symbols("state = :state AND direction IN ('up', 'down') AND price_source = 'last'")
LIVE_SYMBOLS = _distinct_symbols("state = :state")  # alerts of every kind
