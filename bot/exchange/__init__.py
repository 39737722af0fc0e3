"""The Binance USDⓈ-M futures WebSocket API: one connection, one all-symbol request per tick."""
