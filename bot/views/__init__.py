"""How the bot reads: texts and keyboards built from data, safe to send to Telegram."""
