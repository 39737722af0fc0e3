"""Every Prometheus metric the bot exports, in one place; each is counted where its event happens.

Served at `GET /metrics` by bot.runtime when METRICS_LISTEN is set. Counters are per process:
a standby's tick and message counters stay at 0 while it waits, so sum them over replicas.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, Summary

TICKS = Counter("pricealert_ticks", "Price checks that asked the exchange")
TICK_SECONDS = Histogram(
    "pricealert_tick_seconds", "Duration of one tick: expiry, re-arming, prices, firing",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ALERTS_FIRED = Counter("pricealert_alerts_fired", "Alerts fired, price levels and moves")
MESSAGES_SENT = Counter("pricealert_messages_sent", "Outbox messages Telegram accepted")
# PAID_BROADCAST (docs/fanout.md): what the operator may be charged, 0.1 Star each at most (Telegram
# charges only those over the free 30 a second, as it counts them; we send the flag only then).
MESSAGES_PAID = Counter("pricealert_messages_paid", "Telegram messages sent with allow_paid_broadcast")
MESSAGES_FAILED = Counter(
    "pricealert_messages_failed", "Outbox messages that failed: dropped (blocked, refused) or kept pending (network)",
    ["reason"],
)
OUTBOX_PENDING = Gauge("pricealert_outbox_pending", "Messages waiting to be sent, as last read")
PRICES_TIMESTAMP = Gauge("pricealert_prices_timestamp_seconds", "When the last prices arrived (Unix time)")
EXCHANGE_WEIGHT_USED = Gauge("pricealert_exchange_weight_used", "Binance request weight used this minute, as last answered")
EXCHANGE_RECONNECTS = Counter("pricealert_exchange_reconnects", "Connections to the Binance WebSocket API after the first")
EXCHANGE_RATE_LIMITED = Counter("pricealert_exchange_rate_limited", "429 and 418 answers from Binance")
TELEGRAM_RETRY_AFTER = Counter("pricealert_telegram_retry_after", "Flood-limit answers (429) that paused delivery")
WORKING = Gauge("pricealert_working", "1 on the working process, 0 on a standby")
ACTIVE_ALERTS = Gauge("pricealert_active_alerts", "Active alerts in the database, refreshed at most once a minute")
MOVE_HISTORY = Gauge("pricealert_move_history_entries",
                     "Recent prices kept in memory for % move alerts, all symbols (at most 10,000 per symbol)")
STREAM_LIVE = Gauge("pricealert_stream_live", "1 while the market stream that catches wicks between checks is live, else 0")
STREAM_SYMBOLS = Gauge("pricealert_stream_symbols", "Symbols whose kline stream is read for wicks between checks")
ALERTS_FIRED_BY_WICKS = Counter(
    "pricealert_alerts_fired_by_wicks", "Alerts fired by a wick between two checks (also in alerts_fired)",
)
MEMORY_RETURNED = Summary(
    "pricealert_memory_returned_bytes", "Freed memory handed back to the system by each malloc_trim (RSS drop)",
)
