"""Exact decimals on every database.

PostgreSQL has an exact NUMERIC. SQLite has none: its NUMERIC affinity turns 0.1 into a float.
There we store the value scaled by 10**DECIMAL_PLACES as a 64-bit integer, which is exact and
keeps the order, so `level <= price` still runs on an index.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

DECIMAL_PLACES = 10  # Binance prices use at most 8
MAX_VALUE = Decimal(10) ** 8  # exclusive; 1e8 * 1e10 fits in a signed 64-bit integer


def fits(value: Decimal) -> bool:
    """True when the value can be stored without rounding."""
    if not value.is_finite() or abs(value) >= MAX_VALUE:
        return False
    exponent = value.as_tuple().exponent
    return isinstance(exponent, int) and -exponent <= DECIMAL_PLACES


def plain(value: Decimal) -> Decimal:
    """The shortest form of a value: 70000.5000 -> 70000.5, 7E+4 -> 70000."""
    value = value.normalize()
    if value.as_tuple().exponent > 0:  # type: ignore[operator]
        value = value.quantize(Decimal(1))
    return value


def scaled(value: Decimal) -> int:
    """SQLite's stored form of a value that `fits`."""
    return int(value.scaleb(DECIMAL_PLACES))


class ExactDecimal(TypeDecorator[Decimal]):
    impl = Numeric(18 + DECIMAL_PLACES, DECIMAL_PLACES)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18 + DECIMAL_PLACES, DECIMAL_PLACES))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not fits(value):
            raise ValueError(f"not an exact decimal with at most {DECIMAL_PLACES} places: {value!r}")
        if dialect.name == "sqlite":
            return scaled(value)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return plain(Decimal(int(value)).scaleb(-DECIMAL_PLACES))
        return plain(Decimal(value))
