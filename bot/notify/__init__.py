"""Delivering the outbox to Telegram."""
