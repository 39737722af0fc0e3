"""pricealert: Telegram alerts when Binance USDⓈ-M futures prices cross your levels."""
