"""State that several instances of the bot share through Redis (REDIS_URL).

Each module is the Redis twin of one piece of per-process state: the in-process version stays
the default, so a single instance without Redis runs exactly as before.
"""
