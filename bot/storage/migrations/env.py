"""Alembic's entry: migrations run on the connection (and in the transaction) the caller holds."""

from alembic import context

context.configure(connection=context.config.attributes["connection"], target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
