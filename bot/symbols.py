"""Reading symbols the way users type them, and suggesting the ones they meant."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Symbols are whatever the exchange lists: digits first (1INCHUSDT), _YYMMDD suffixes,
# non-ASCII names (币安人生USDT). We only refuse what can never be a symbol.
MAX_SYMBOL_LENGTH = 40


def normalize_symbol(text: str) -> str | None:
    """Upper-cases what the user typed; None when it cannot be a symbol at all."""
    symbol = text.strip().lstrip("$#").upper().replace("/", "").replace("-", "")
    if not symbol or len(symbol) > MAX_SYMBOL_LENGTH:
        return None
    if not all(ch.isalnum() or ch == "_" for ch in symbol):
        return None
    return symbol


def _rank(symbol: str, query: str) -> tuple[int, int, str]:
    # USDT perpetuals first: that is what most people mean by "btc".
    usdt_first = 0 if symbol.endswith("USDT") else 1
    return (usdt_first, len(symbol), symbol)


def suggest(query: str, known: Iterable[str], limit: int = 5) -> list[str]:
    """Close matches for an unknown symbol: same start, then containing it, then look-alikes."""
    query = normalize_symbol(query) or query.upper()
    known = list(known)
    starts = sorted((s for s in known if s.startswith(query)), key=lambda s: _rank(s, query))
    contains = sorted(
        (s for s in known if query in s and not s.startswith(query)), key=lambda s: _rank(s, query)
    )
    picked = (starts + contains)[:limit]
    if len(picked) < limit:
        for candidate in difflib.get_close_matches(query, known, n=limit, cutoff=0.6):
            if candidate not in picked:
                picked.append(candidate)
    return picked[:limit]
