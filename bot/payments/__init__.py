"""Payment providers' wire protocols (no aiogram, no storage): Crypto Pay's API client and its
webhook signature. Telegram Stars need no client of their own: they are Bot API methods (their
limits are in bot.payments.stars)."""
