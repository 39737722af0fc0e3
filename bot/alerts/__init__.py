"""The domain: what an alert is, how commands are read, which alerts fire. No Telegram here."""
