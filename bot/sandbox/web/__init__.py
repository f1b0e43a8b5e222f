"""The sandbox's web page: a Telegram-like chat beside the panel operator's column, served by
one aiohttp app (``page``) from plain files in ``static/`` (no build step, nothing fetched)."""
