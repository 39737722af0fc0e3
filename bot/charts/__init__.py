"""Charts: klines and levels in, PNG bytes out. Pure: no network, no database, no Telegram."""
