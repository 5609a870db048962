"""
Running ORM code from async consumers.

Channels' ``database_sync_to_async`` is thread-sensitive by default: every
query of the process runs on one thread, one at a time. Socket work is many
small independent transactions, so ``db`` runs them on a pool of
``DATABASE_THREADS`` worker threads instead, each with its own connection
(from the connection pool on PostgreSQL). Correctness never relied on that
one thread: seq numbering is serialised by a row lock in the database
(chat.services).

    await db(selectors.message_list)(conversation=c, after=0)
"""

from concurrent.futures import ThreadPoolExecutor
from functools import cache

from channels.db import database_sync_to_async
from django.conf import settings


@cache
def executor() -> ThreadPoolExecutor:
    """The pool of DATABASE_THREADS workers, made on first use (not at import)."""
    return ThreadPoolExecutor(max_workers=settings.DATABASE_THREADS, thread_name_prefix="db")


def db(func):
    """``func`` as an awaitable that runs on a worker thread, old connections closed."""
    return database_sync_to_async(func, thread_sensitive=False, executor=executor())
