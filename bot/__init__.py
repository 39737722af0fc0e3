"""pricealert: Telegram alerts when Binance USDⓈ-M futures prices cross your levels."""

import os

# python-telegram-bot 22 gives durations (RetryAfter.retry_after) as datetime.timedelta when this
# is set, and warns otherwise; its next major version always will. We opt in now.
os.environ.setdefault("PTB_TIMEDELTA", "1")
