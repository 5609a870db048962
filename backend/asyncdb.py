"""
Running ORM code from async consumers.

Channels' ``database_sync_to_async`` is thread-sensitive by default: every
query of the process runs on one thread, one at a time. Socket work is many
small independent transactions, so ``db`` runs them on the event loop's worker
threads instead, each with its own connection (from the pool on PostgreSQL).
Correctness never relied on that one thread: seq numbering is serialised by a
row lock in the database (chat.services).
"""

from channels.db import database_sync_to_async


def db(func):
    """``func`` as an awaitable that runs on a worker thread, old connections closed."""
    return database_sync_to_async(func, thread_sensitive=False)
