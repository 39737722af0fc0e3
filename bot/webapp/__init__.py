"""The Mini App: a page inside Telegram that shows a chat's alerts on a chart (issue 23)."""
