"""
The outbox: the events a service emits, published once its transaction commits.

Every service that changes something others should see takes an ``outbox``
and calls ``outbox.emit(group, event)`` where the change is made. Inside a
transaction the event is kept only if that transaction commits
(``transaction.on_commit``), so no client ever hears of a change that was
rolled back; outside one (the change is committed already, as the
one-statement send's is) it is kept at once. Work that is not an event but
must also wait for the commit, such as queueing a message's pushes, goes in
with ``after_commit(job)``: the job runs when the outbox is flushed, off the
event loop and off the database thread. Every event leaves through
``publish``, the one place that talks to the channel layer, so a test that
patches ``publish`` sees every event from every path.

There is one way to carry out a service from each side:

    message, created = message_send(conversation_id=cid, sender=user, body="Hi")   # REST, admin, shell
    (message, created), box = await carry_out(message_send_from_loop, ...)          # a socket

A service decorated with ``with_outbox`` called without an ``outbox`` gets
one of its own, flushed in the calling thread once the outermost transaction
commits (at once outside a transaction). ``carry_out`` runs a service on a
database worker thread (or awaits it, if it is a coroutine that does its own
database work), then publishes from the event loop, which keeps Redis round
trips off the worker and its database connection; the returned outbox's
``failed`` holds what the channel layer did not take.
"""

import asyncio
import inspect
import logging
import threading
from functools import partial, wraps

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from core.outages import REDIS, REDIS_ERRORS

logger = logging.getLogger(__name__)


# The server's event loop (the main thread's), noted at each publish from it: threads of the server's own
# (the embedded default's queue worker) publish through it, as the in-memory layer's queues wake only their loop.
_home_loop: asyncio.AbstractEventLoop | None = None


async def publish(group: str, event: dict) -> None:
    """Send one event to one group through the channel layer."""
    global _home_loop
    if threading.current_thread() is threading.main_thread():
        _home_loop = asyncio.get_running_loop()
    await get_channel_layer().group_send(group, event)


def _home_loop_for_this_thread() -> asyncio.AbstractEventLoop | None:
    """The server's loop, when this is another thread of its process and the channel layer is in memory."""
    loop = _home_loop
    if loop is None or loop.is_closed() or not loop.is_running() or threading.current_thread() is threading.main_thread():
        return None
    return loop if isinstance(get_channel_layer(), InMemoryChannelLayer) else None


def _on_commit(action) -> None:
    """``action()`` once the current transaction commits, at once outside one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # a thread, where Django's transactions live
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(action)
            return
    # Outside a transaction (on the event loop none can be open) at once: Django's
    # on_commit would first ask for a connection, and open one to answer.
    action()


class Outbox:
    """The events and jobs of one unit of work, in the order they were emitted."""

    def __init__(self):
        self._committed: list[tuple[str, dict]] = []
        self.failed: list[tuple[str, dict]] = []  # events whose publish failed, for the caller to make up for
        self._jobs: list = []

    def emit(self, group: str, event: dict) -> None:
        """Publish ``event`` to ``group`` at flush, once the current transaction (if any) commits."""
        _on_commit(partial(self._committed.append, (group, event)))

    def after_commit(self, job) -> None:
        """Call ``job()`` (blocking work, such as a queue's send) at flush, once the current transaction (if any) commits."""
        _on_commit(partial(self._jobs.append, job))

    def _take_jobs(self) -> list:
        jobs, self._jobs = self._jobs, []
        return jobs

    def take(self) -> list[tuple[str, dict]]:
        """The committed events not yet flushed, emptying the outbox."""
        committed, self._committed = self._committed, []
        return committed

    async def flush(self) -> None:
        """
        Publish every committed event. A failed publish is not raised: the
        change is saved and clients reach it through catch-up or REST; it is
        kept in ``failed``. A Redis outage is logged once (core.outages).
        """
        for group, event in self.take():
            try:
                await publish(group, event)
            except REDIS_ERRORS as error:
                REDIS.failed(error)
                self.failed.append((group, event))
            except Exception:
                logger.exception("Could not publish %s to %s", event["type"], group)
                self.failed.append((group, event))
            else:
                REDIS.succeeded()
        if jobs := self._take_jobs():
            await sync_to_async(_run_jobs, thread_sensitive=False)(jobs)

    def flush_sync(self) -> None:
        """``flush`` from synchronous code (REST views, tests, the shell)."""
        if self._committed:
            loop = _home_loop_for_this_thread()
            if loop is not None:
                asyncio.run_coroutine_threadsafe(self.flush(), loop).result()
            else:
                async_to_sync(self.flush)()
        _run_jobs(self._take_jobs())


def _run_jobs(jobs: list) -> None:
    for job in jobs:
        try:
            job()
        except Exception:
            logger.exception("An after-commit job failed")


def _carry_out_sync(service, *args, **kwargs):
    """
    Call ``service(outbox=..., **kwargs)``, then publish what it committed,
    even if it raised. Inside an outer transaction the publishing waits for
    that transaction to commit.
    """
    outbox = Outbox()
    try:
        return service(*args, outbox=outbox, **kwargs)
    finally:
        _on_commit(outbox.flush_sync)


async def carry_out(service, **kwargs):
    """
    Carry out ``service`` from the event loop and publish what it committed,
    even if it raised. Returns ``(result, outbox)``; ``outbox.failed`` holds
    the events the channel layer did not take.
    """
    from core.runtime.asyncdb import db

    outbox = Outbox()
    try:
        if inspect.iscoroutinefunction(service):
            result = await service(outbox=outbox, **kwargs)
        else:
            result = await db(service)(outbox=outbox, **kwargs)
    finally:
        await outbox.flush()
    return result, outbox


def with_outbox(service):
    """
    Let callers leave out ``outbox``: the service then gets one of its own,
    flushed synchronously once the outermost transaction commits (at once
    outside a transaction). ``carry_out`` passes its own.
    """

    @wraps(service)
    def call(*args, outbox: Outbox | None = None, **kwargs):
        if outbox is not None:
            return service(*args, outbox=outbox, **kwargs)
        return _carry_out_sync(service, *args, **kwargs)

    return call
