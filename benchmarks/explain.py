"""The plans of the queries that must use an index: the tick's firing query and a chat's listing.

    python -m benchmarks.explain --database URL   (run benchmarks.tick first to fill the table)
"""

from __future__ import annotations

import argparse
import asyncio
import time
from decimal import Decimal

from sqlalchemy import select, text

from bot.alerts.extremes import Extremes
from bot.alerts.rules import Direction
from bot.storage.db import make_engine
from bot.storage.models import Alert, AlertState
from bot.storage.statements import NEXT_SYMBOLS, reach_table, wick_table
from bot.storage.store import LIVE, fire_statement, price_table, utcnow


async def explain(database_url: str) -> None:
    engine = make_engine(database_url)
    dialect = engine.dialect
    prices = {f"S{i:04d}USDT": Decimal("100") for i in range(600)}
    now = time.time()
    wicks = {symbol: Extremes(Decimal("101"), now, None, None, ((Decimal("101"), now),)) for symbol in prices}
    queries = {
        "tick (rising alerts)": fire_statement(price_table(dialect.name, prices), Direction.UP, utcnow()),
        "/alerts listing": select(Alert).where(Alert.chat_id == 1, Alert.state.in_(LIVE))
        .order_by(Alert.id).limit(100),
        "expiry": select(Alert.id).where(Alert.state.in_(LIVE), Alert.expires_at <= utcnow()),
        "move alerts watched": select(Alert.symbol, Alert.window_seconds)
        .where(Alert.state == AlertState.ACTIVE, Alert.direction == Direction.EITHER).distinct(),
        "tick with wicks (rising alerts)": fire_statement(
            reach_table(dialect.name, prices, wicks), Direction.UP, utcnow(),
            wick_table(dialect.name, prices, wicks, Direction.UP)),
        "symbols the market stream reads": NEXT_SYMBOLS.bindparams(state=AlertState.ACTIVE.value),
    }
    prefix = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
    async with engine.connect() as connection:
        for name, query in queries.items():
            sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
            rows = (await connection.execute(text(prefix + sql))).all()
            print(f"-- {name} ({dialect.name})")
            for row in rows:
                print("   ", row[-1])
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True)
    asyncio.run(explain(parser.parse_args().database))


if __name__ == "__main__":
    main()
