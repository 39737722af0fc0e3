"""The Telegram side: handlers that read a command, call the domain and reply."""
